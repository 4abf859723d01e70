package gateway

import (
	"bytes"
	"errors"
	"testing"

	"github.com/xsync/xsync/resp"
)

// FuzzClientFraming feeds arbitrary bytes in small reads to the gateway client's
// framing, as onTraffic does it: parse with the limits of the moment (the
// pre-AUTH caps until an AUTH is seen), wait for the bytes a header declared
// before parsing again, then classify each command (slot, privileges) as
// command() does. The commands found must be those a parse of the whole input
// finds, and nothing may panic.
func FuzzClientFraming(f *testing.F) {
	cmd := func(args ...string) []byte { return resp.AppendCommandString(nil, args...) }
	f.Add(append(append(cmd("AUTH", "pw"), cmd("SET", "k", "v")...), cmd("CONFIG", "GET", "requirepass")...), uint8(3))
	f.Add([]byte("*2\r\n$4\r\nECHO\r\n$500000000\r\n"), uint8(1))
	f.Add(append(cmd("AUTH", "pw"), []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$70000\r\n")...), uint8(9))
	f.Add([]byte("PING\r\nMULTI\r\nKEYS *\r\nEXEC\r\n\"unterminated\r\n"), uint8(2))
	f.Add(append(cmd("AUTH", "pw"), cmd("CLIENT", "KILL", "TYPE", "replica")...), uint8(15))
	priv := newPrivileges(&Config{AllowHint: "--gateway-allow-admin"})
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		step := int(chunk%32) + 1
		var buf []byte
		need, authed := 0, false
		var got [][]byte
		var args [][]byte
	feed:
		for off := 0; off < len(in); off += step {
			buf = append(buf, in[off:min(off+step, len(in))]...)
			if need > 0 && len(buf) < need {
				continue
			}
			need = 0
			lim := preAuthLimits
			if authed {
				lim = &resp.Limits{}
			}
			pos := 0
			for pos < len(buf) {
				a, n, nd, err := resp.ParseCommandNeed(buf[pos:], args[:0], lim)
				if errors.Is(err, resp.ErrIncomplete) {
					if nd <= len(buf)-pos {
						t.Fatalf("need %d with %d bytes buffered", nd, len(buf)-pos)
					}
					need = nd
					break
				}
				if err != nil {
					break feed // the gateway answers the protocol error and closes
				}
				args = a
				pos += n
				if len(a) == 0 {
					continue
				}
				got = append(got, bytes.Join(a, []byte{0}))
				var nb [24]byte
				name := string(upperBytes(nb[:0], a[0]))
				if name == "AUTH" {
					authed = true
					lim = &resp.Limits{}
				}
				_ = priv.check(name, a)
				if !gatewayHandles([]byte(name)) {
					_, _, _ = classify(a)
				}
			}
			buf = append(buf[:0], buf[pos:]...)
			if len(buf) > 0 && need == 0 {
				need = len(buf) + 1
			}
		}
		// The same input whole, with the same limits switch, finds the same commands.
		var want [][]byte
		authed = false
		rest := in
		for len(rest) > 0 {
			lim := preAuthLimits
			if authed {
				lim = &resp.Limits{}
			}
			a, n, _, err := resp.ParseCommandNeed(rest, nil, lim)
			if err != nil {
				break
			}
			rest = rest[n:]
			if len(a) == 0 {
				continue
			}
			want = append(want, bytes.Join(a, []byte{0}))
			var nb [24]byte
			if string(upperBytes(nb[:0], a[0])) == "AUTH" {
				authed = true
			}
		}
		if len(got) != len(want) {
			t.Fatalf("in small reads %d commands, whole %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("command %d: %q in small reads, %q whole", i, got[i], want[i])
			}
		}
	})
}
