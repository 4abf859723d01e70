package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/resp"
)

func appendLen(b []byte, n int) []byte {
	switch {
	case n < 64:
		return append(b, byte(n))
	case n < 16384:
		return append(b, byte(n>>8)|0x40, byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
}

func appendStr(b []byte, s string) []byte { return append(appendLen(b, len(s)), s...) }

// oneKey builds an RDB (checksum disabled) with one key: the opcodes in pre,
// then type, key and raw value bytes.
func oneKey(ver int, pre []byte, typ byte, key string, raw []byte) []byte {
	b := []byte("REDIS00" + strconv.Itoa(ver/10) + strconv.Itoa(ver%10))
	b = append(b, pre...)
	b = append(b, typ)
	b = appendStr(b, key)
	b = append(b, raw...)
	return append(b, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0)
}

func listRaw(n int) []byte {
	b := appendLen(nil, n)
	for i := 0; i < n; i++ {
		b = appendStr(b, "e"+strconv.Itoa(i))
	}
	return b
}

func expireMS(ms int64) []byte { return binary.LittleEndian.AppendUint64([]byte{0xFC}, uint64(ms)) }

// run converts the first key of in and returns the emitted commands, one
// line each, arguments joined by spaces (payloads shown as <payload:vN>).
func run(t *testing.T, in []byte, opts Options) (string, Stats, error) {
	t.Helper()
	d := rdb.NewDecoder(bytes.NewReader(in), rdb.Options{})
	ver, _ := d.Version()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cerr error
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cerr = c.Convert(rec, ver, func(cmd []byte, n int) error {
			if n > 1 && len(cmd) > c.opts.MaxBytes {
				t.Fatalf("%d bytes handed at once", len(cmd))
			}
			for n > 0 {
				args, used, err := resp.ParseCommand(cmd, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if used > c.opts.MaxBytes && len(args) > 3 {
					t.Fatalf("command of %d bytes", used)
				}
				var sb strings.Builder
				for i, a := range args {
					if i > 0 {
						sb.WriteByte(' ')
					}
					if string(args[0]) == "RESTORE" && i == 3 {
						_, _, v, err := rdb.ParseDumpPayload(a)
						if err != nil {
							t.Fatal(err)
						}
						sb.WriteString("<payload:v" + strconv.Itoa(v) + ">")
					} else if len(a) > 40 {
						sb.WriteString("<" + strconv.Itoa(len(a)) + " bytes>")
					} else {
						sb.Write(a)
					}
				}
				lines = append(lines, sb.String())
				cmd = cmd[used:]
				n--
			}
			return nil
		})
		if cerr != nil {
			break
		}
	}
	return strings.Join(lines, "\n"), c.Stats, cerr
}

func TestConvert(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	clock := func() time.Time { return now }
	exp := int64(1_700_000_060_000)
	str := appendStr(nil, "hello")
	setLP := []byte{13, 0, 0, 0, 2, 0, 0x81, 'a', 2, 0x81, 'b', 2, 0xFF}
	bigStr := appendLen(nil, 3<<20)
	bigStr = append(bigStr, bytes.Repeat([]byte{'x'}, 3<<20)...)
	cases := []struct {
		name string
		in   []byte
		opts Options
		want string
		err  error
	}{
		{name: "restore", in: oneKey(10, nil, rdb.TypeString, "k", str), opts: Options{Target: redisver.Version{Major: 7, Minor: 0}},
			want: "RESTORE k 0 <payload:v10> REPLACE"},
		{name: "restore abs ttl idle", in: oneKey(10, append(expireMS(exp), 0xF8, 5), rdb.TypeString, "k", str),
			opts: Options{Target: redisver.Version{Major: 7, Minor: 0}, Now: clock},
			want: "RESTORE k 1700000060000 <payload:v10> REPLACE ABSTTL IDLETIME 5"},
		{name: "restore freq no replace", in: oneKey(9, []byte{0xF9, 7}, rdb.TypeString, "k", str),
			opts: Options{Target: redisver.Version{Major: 6, Minor: 2}, Replace: ReplaceNever},
			want: "RESTORE k 0 <payload:v9> FREQ 7"},
		{name: "restore relative ttl before 5.0", in: oneKey(9, append(expireMS(exp), 0xF8, 5), rdb.TypeString, "k", str),
			opts: Options{Target: redisver.Version{Major: 4, Minor: 0}, Now: clock},
			want: "RESTORE k 60000 <payload:v8> REPLACE"},
		{name: "DEL before RESTORE on 2.8", in: oneKey(6, nil, rdb.TypeString, "k", str), opts: Options{Target: redisver.Version{Major: 2, Minor: 8}},
			want: "DEL k\nRESTORE k 0 <payload:v6>"},
		{name: "payload labelled with the destination version", in: oneKey(11, nil, rdb.TypeString, "k", str),
			opts: Options{Target: redisver.Version{Major: 6, Minor: 2}}, want: "RESTORE k 0 <payload:v9> REPLACE"},
		{name: "newer type goes the command path", in: oneKey(11, nil, rdb.TypeSetListpack, "s", appendStr(nil, string(setLP))),
			opts: Options{Target: redisver.Version{Major: 7, Minor: 0}}, want: "DEL s\nSADD s a b"},
		{name: "ModeRestore refuses what cannot be restored", in: oneKey(11, nil, rdb.TypeSetListpack, "s", appendStr(nil, string(setLP))),
			opts: Options{Target: redisver.Version{Major: 7, Minor: 0}, Mode: ModeRestore}, err: ErrRestore},
		{name: "commands in chunks", in: oneKey(9, expireMS(exp), rdb.TypeList, "l", listRaw(25)),
			opts: Options{Mode: ModeCommands, MaxElements: 10, Now: clock},
			want: "DEL l\nRPUSH l e0 e1 e2 e3 e4 e5 e6 e7 e8 e9\nRPUSH l e10 e11 e12 e13 e14 e15 e16 e17 e18 e19\n" +
				"RPUSH l e20 e21 e22 e23 e24\nPEXPIREAT l 1700000060000"},
		{name: "expired key left out", in: oneKey(9, expireMS(1000), rdb.TypeString, "k", str), opts: Options{Now: clock}},
		{name: "big string in pieces", in: oneKey(9, nil, rdb.TypeString, "big", bigStr),
			opts: Options{MaxBytes: 1 << 20, Replace: ReplaceNever},
			want: "SET big <1048445 bytes>\nAPPEND big <131 bytes>\nAPPEND big <1048445 bytes>\nAPPEND big <131 bytes>\n" +
				"APPEND big <1048445 bytes>\nAPPEND big <131 bytes>"},
		{name: "empty string", in: oneKey(9, nil, rdb.TypeString, "e", appendStr(nil, "")),
			opts: Options{Mode: ModeCommands, Replace: ReplaceNever}, want: "SET e "},
		{name: "module refused", in: oneKey(9, nil, rdb.TypeModule2, "m", []byte{0x81, 0, 0, 0, 0, 0, 0, 4, 1, 0}),
			opts: Options{Modules: ModuleRefuse}, err: ErrModule},
		{name: "module passed through", in: oneKey(9, nil, rdb.TypeModule2, "m", []byte{0x81, 0, 0, 0, 0, 0, 0, 4, 1, 0}),
			want: "RESTORE m 0 <payload:v9> REPLACE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := run(t, tc.in, tc.opts)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if tc.err == nil && got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestWriteRESP(t *testing.T) {
	in := oneKey(9, nil, rdb.TypeList, "l", listRaw(3))
	var out bytes.Buffer
	if err := Dump(&out, bytes.NewReader(in), "resp", false); err != nil {
		t.Fatal(err)
	}
	args, _, err := resp.ParseCommand(out.Bytes(), nil, nil)
	if err != nil || string(args[0]) != "RESTORE" {
		t.Fatalf("%q %v", out.Bytes(), err)
	}
	if err := Dump(&out, bytes.NewReader(in), "xml", false); !errors.Is(err, rdb.ErrFormat) {
		t.Fatalf("unknown format: %v", err)
	}
}
