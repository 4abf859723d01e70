package resp_test

import (
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/resp"
)

// recorder keeps every byte read from the connection, so that each reply's own
// bytes can be compared with its re-encoding.
type recorder struct {
	c   net.Conn
	all []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.all = append(r.all, p[:n]...)
	return n, err
}

// client is a bare RESP client over resp.Reader and resp.Writer.
type client struct {
	t   *testing.T
	rec *recorder
	r   *resp.Reader
	w   *resp.Writer
}

func dial(t *testing.T, s *redistest.Server) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	rec := &recorder{c: c}
	return &client{t: t, rec: rec, r: resp.NewReader(rec, resp.Limits{}), w: resp.NewWriter(c)}
}

// do sends one command and returns its reply, checking that n is the reply's size
// on the wire and that AppendValue gives back those very bytes.
func (c *client) do(args ...string) resp.Value {
	c.t.Helper()
	c.w.WriteCommandString(args...)
	if err := c.w.Flush(); err != nil {
		c.t.Fatal(err)
	}
	return c.read(args)
}

func (c *client) read(args []string) resp.Value {
	c.t.Helper()
	start := c.r.Offset()
	v, n, err := c.r.ReadValue()
	if err != nil {
		c.t.Fatalf("%q: %v", args, err)
	}
	if c.r.Offset()-start != int64(n) {
		c.t.Fatalf("%q: n = %d, offset moved %d", args, n, c.r.Offset()-start)
	}
	wire := c.rec.all[start : start+int64(n)]
	if got := resp.AppendValue(nil, v); !bytes.Equal(got, wire) {
		c.t.Fatalf("%q: reply %q re-encodes as %q", args, wire, got)
	}
	return v
}

// TestRealServerReplies reads every reply type a real redis-server sends, in RESP2
// and RESP3 (DEBUG PROTOCOL, 7.0+), a push message, and a long pipeline with a reply
// of 200 000 elements, through Reader.
func TestRealServerReplies(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	if !s.Version().AtLeast(7, 0) {
		t.Skip("DEBUG PROTOCOL needs enable-debug-command (7.0+)")
	}
	for _, proto := range []string{"2", "3"} {
		t.Run("RESP"+proto, func(t *testing.T) {
			c := dial(t, s)
			if v := c.do("HELLO", proto); v.IsError() {
				t.Fatalf("HELLO %s: %s", proto, v)
			}
			want3 := map[string]byte{
				"string": '$', "integer": ':', "double": ',', "bignum": '(', "null": '_',
				"array": '*', "set": '~', "map": '%', "attrib": '$', "push": '>',
				"verbatim": '=', "true": '#', "false": '#',
			}
			for what, typ := range want3 {
				v := c.do("DEBUG", "PROTOCOL", what)
				if what == "push" && proto == "3" {
					v = c.read([]string{"push reply"}) // the push comes first, then the reply
				}
				if proto == "3" && v.Type != typ && !(what == "push" && v.Type == '$') {
					t.Errorf("DEBUG PROTOCOL %s: type %q, want %q (%s)", what, v.Type, typ, v)
				}
				if what == "attrib" && proto == "3" && len(v.Attrs) != 2 {
					t.Errorf("DEBUG PROTOCOL attrib: attributes %v", v.Attrs)
				}
			}
			if v := c.do("NOSUCHCOMMAND"); !v.IsError() {
				t.Fatalf("unknown command: %s", v)
			}

			// A pipeline of 10 000 commands, then one reply of 200 000 elements.
			key := "resp-test-list-" + proto
			for i := range 10000 {
				c.w.WriteCommandString("RPUSH", key, strconv.Itoa(i))
			}
			if err := c.w.Flush(); err != nil {
				t.Fatal(err)
			}
			for i := range 10000 {
				if v := c.read([]string{"RPUSH"}); v.Int != int64(i+1) {
					t.Fatalf("RPUSH %d: %s", i, v)
				}
			}
			var args []string
			args = append(args, "RPUSH", key)
			for i := range 190000 {
				args = append(args, strconv.Itoa(10000+i))
			}
			if v := c.do(args...); v.Int != 200000 {
				t.Fatalf("big RPUSH: %s", v)
			}
			v := c.do("LRANGE", key, "0", "-1")
			if len(v.Elems) != 200000 || string(v.Elems[199999].Str) != "199999" {
				t.Fatalf("LRANGE: %d elements", len(v.Elems))
			}
		})
	}
}

// TestRealServerInline checks that ParseCommand splits inline commands as Redis does:
// each line is sent to a real server as an inline SET, and the value Redis stored is
// compared with the third argument ParseCommand finds.
func TestRealServerInline(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	c := dial(t, s)
	for i, value := range []string{
		`plain`, `"a b"`, `'a b'`, `"\x41\x4a\x4A\xzz\n\r\t\b\a\"\\\q"`, `'it\'s \n'`,
		`x"y z"`, `x'y z'`, "\"tab\there\"", "a\x0bb", "\"\"", "''", `"\x"`, `"\x4"`,
		"\x0bv\x0c", "\"a\rb\"",
	} {
		line := "SET k " + value + "\r\n"
		args, n, err := resp.ParseCommand([]byte(line), nil, nil)
		if err != nil || n != len(line) || len(args) != 3 {
			t.Fatalf("%q: ParseCommand = %q, %d, %v", line, args, n, err)
		}
		c.w.WriteRaw([]byte(line))
		if err := c.w.Flush(); err != nil {
			t.Fatal(err)
		}
		if v := c.read([]string{line}); v.IsError() {
			t.Fatalf("%q: %s", line, v)
		}
		got := c.do("GET", "k")
		if !bytes.Equal(got.Str, args[2]) {
			t.Errorf("case %d %q: Redis stored %q, ParseCommand gives %q", i, line, got.Str, args[2])
		}
	}
}
