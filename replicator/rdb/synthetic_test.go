package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// moduleID builds a module type id from a 9-character name and an encoding version.
func moduleID(name string, encver uint64) uint64 {
	var id uint64
	for i := 0; i < 9; i++ {
		id = id<<6 | uint64(strings.IndexByte(moduleCharset, name[i]))
	}
	return id<<10 | encver
}

// summarize decodes an RDB into a compact text form.
func summarize(t *testing.T, in []byte, opts Options) (string, error) {
	t.Helper()
	var sb strings.Builder
	d := NewDecoder(bytes.NewReader(in), opts)
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return sb.String(), nil
		}
		if err != nil {
			return sb.String(), err
		}
		switch rec.Kind {
		case KindKey:
			fmt.Fprintf(&sb, "key db=%d %q %s/%d exp=%d idle=%d freq=%d raw=%v", rec.DB, rec.Key, rec.Type, rec.RDBType, rec.ExpireAt, rec.Idle, rec.Freq, rec.Raw != nil)
			if rec.Type == ValueModule {
				fmt.Fprintf(&sb, " module=%s", rec.ModuleName)
			}
			strLen := 0
			chunks := 0
			err := rec.Elements(func(c *Chunk) error {
				chunks++
				strLen += len(c.Str)
				for i, it := range c.Items {
					sb.WriteString(" " + string(it))
					if c.Values != nil {
						sb.WriteString("=" + string(c.Values[i]))
					}
					if c.Scores != nil {
						fmt.Fprintf(&sb, ":%v", c.Scores[i])
					}
					if c.FieldExpires != nil {
						fmt.Fprintf(&sb, "@%d", c.FieldExpires[i])
					}
				}
				return nil
			})
			if rec.Type == ValueString {
				fmt.Fprintf(&sb, " len=%d", strLen)
			}
			if len(in) > 100000 {
				fmt.Fprintf(&sb, " chunks=%d", chunks)
			}
			if err != nil {
				return sb.String(), err
			}
		case KindAux, KindScript:
			fmt.Fprintf(&sb, "aux %q=%q", rec.AuxKey, rec.AuxValue)
		case KindFunction:
			fmt.Fprintf(&sb, "function %q %q", rec.FuncName, rec.FuncCode)
		case KindModuleAux:
			fmt.Fprintf(&sb, "moduleaux %s when=%d raw=%d", rec.ModuleName, rec.ModuleWhen, len(rec.Raw))
		case KindSlotInfo:
			fmt.Fprintf(&sb, "slot %d %d %d", rec.Slot, rec.SlotSize, rec.SlotExpires)
		case KindResizeDB:
			fmt.Fprintf(&sb, "resize %d %d", rec.DBSize, rec.ExpiresSize)
		}
		sb.WriteString("\n")
	}
}

func TestSynthetic(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	pattern := bytes.Repeat([]byte("aaaaaaaaaabcdefgh"), 12000)
	cases := []struct {
		name  string
		ver   int
		opts  Options
		build func(w *rdbWriter)
		want  string
		err   string
	}{
		{name: "quicklist2 plain and packed", ver: 10, build: func(w *rdbWriter) {
			w.byte1(TypeListQuicklist2)
			w.strS("l")
			w.len(2)
			w.len(qlPacked)
			w.str(buildListpack([]byte("a"), []byte("b")))
			w.len(qlPlain)
			w.strS("plain-element")
		}, want: `key db=0 "l" list/18 exp=0 idle=-1 freq=-1 raw=true a b plain-element` + "\n"},
		{name: "hash metadata GA", ver: 12, build: func(w *rdbWriter) {
			w.byte1(TypeHashMetadata)
			w.strS("h")
			w.u64le(1000)
			w.len(2)
			w.len(0)
			w.strS("f1")
			w.strS("v1")
			w.len(5)
			w.strS("f2")
			w.strS("v2")
		}, want: `key db=0 "h" hash/24 exp=0 idle=-1 freq=-1 raw=true f1=v1@0 f2=v2@1004` + "\n"},
		{name: "hash metadata pre-GA", ver: 12, build: func(w *rdbWriter) {
			w.byte1(TypeHashMetadataPreGA)
			w.strS("h")
			w.len(1)
			w.len(2000)
			w.strS("f1")
			w.strS("v1")
		}, want: `key db=0 "h" hash/22 exp=0 idle=-1 freq=-1 raw=true f1=v1@2000` + "\n"},
		{name: "hash listpack ex", ver: 12, build: func(w *rdbWriter) {
			w.byte1(TypeHashListpackEx)
			w.strS("h")
			w.u64le(3000)
			w.str(buildListpack([]byte("f"), []byte("v"), []byte("0"), []byte("g"), []byte("w"), []byte("3000")))
			w.byte1(TypeHashListpackExPreGA)
			w.strS("h2")
			w.str(buildListpack([]byte("f"), []byte("v"), []byte("9")))
		}, want: `key db=0 "h" hash/25 exp=0 idle=-1 freq=-1 raw=true f=v@0 g=w@3000` + "\n" +
			`key db=0 "h2" hash/23 exp=0 idle=-1 freq=-1 raw=true f=v@9` + "\n"},
		{name: "module value and aux", ver: 9, build: func(w *rdbWriter) {
			id := moduleID("mytype-01", 3)
			w.byte1(opModuleAux)
			w.len(id)
			w.len(modUInt)
			w.len(2)
			w.len(modString)
			w.strS("auxdata")
			w.len(modEOF)
			w.byte1(TypeModule2)
			w.strS("m")
			w.len(id)
			w.len(modUInt)
			w.len(7)
			w.len(modSInt)
			w.len(1)
			w.len(modFloat)
			w.raw([]byte{0, 0, 0x80, 0x3f})
			w.len(modDouble)
			w.u64le(math.Float64bits(2.5))
			w.len(modString)
			w.strS("abc")
			w.len(modEOF)
		}, want: "moduleaux mytype-01 when=2 raw=21\n" + `key db=0 "m" module/7 exp=0 idle=-1 freq=-1 raw=true module=mytype-01` + "\n"},
		{name: "opcodes", ver: 11, build: func(w *rdbWriter) {
			w.byte1(opAux)
			w.strS("redis-ver")
			w.strS("7.2.0")
			w.byte1(opSelectDB)
			w.len(5)
			w.byte1(opResizeDB)
			w.len(10)
			w.len(2)
			w.byte1(opSlotInfo)
			w.len(1234)
			w.len(10)
			w.len(2)
			w.byte1(opFunctionPreGA)
			w.strS("lib")
			w.strS("LUA")
			w.len(1)
			w.strS("desc")
			w.strS("return 1")
			w.byte1(opFunction2)
			w.strS("#!lua name=mylib\nredis.register_function('f', function() return 1 end)")
			w.byte1(opExpireTime)
			w.raw(binary.LittleEndian.AppendUint32(nil, 2000000000))
			w.byte1(opIdle)
			w.len(77)
			w.byte1(TypeString)
			w.strS("k")
			w.strS("v")
			w.byte1(opFreq)
			w.byte1(9)
			w.byte1(TypeString)
			w.strS("k2")
			w.raw([]byte{0xC1, 0x39, 0x30}) // int16 12345
		}, want: `aux "redis-ver"="7.2.0"` + "\nresize 10 2\nslot 1234 10 2\n" +
			`function "lib" "return 1"` + "\n" +
			`function "mylib" "#!lua name=mylib\nredis.register_function('f', function() return 1 end)"` + "\n" +
			`key db=5 "k" string/0 exp=2000000000000 idle=77 freq=-1 raw=true len=1` + "\n" +
			`key db=5 "k2" string/0 exp=0 idle=-1 freq=9 raw=true len=5` + "\n"},
		{name: "big string streamed", ver: 9, opts: Options{RawLimit: 1 << 20}, build: func(w *rdbWriter) {
			w.byte1(TypeString)
			w.strS("big")
			w.str(big)
		}, want: `key db=0 "big" string/0 exp=0 idle=-1 freq=-1 raw=false len=3145728 chunks=3` + "\n"},
		{name: "lzf string held and streamed", ver: 9, opts: Options{RawLimit: 1000}, build: func(w *rdbWriter) {
			w.byte1(TypeString)
			w.strS("z")
			w.raw(appendLZFStr(nil, pattern))
			w.byte1(TypeString)
			w.strS("small")
			w.raw(appendLZFStr(nil, pattern[:300]))
		}, want: `key db=0 "z" string/0 exp=0 idle=-1 freq=-1 raw=false len=204000 chunks=1` + "\n" +
			`key db=0 "small" string/0 exp=0 idle=-1 freq=-1 raw=true len=300 chunks=1` + "\n"},
		{name: "zset string doubles", ver: 6, build: func(w *rdbWriter) {
			w.byte1(TypeZSet)
			w.strS("z")
			w.len(3)
			w.strS("a")
			w.byte1(254)
			w.strS("b")
			w.byte1(255)
			w.strS("c")
			w.byte1(3)
			w.raw([]byte("1.5"))
		}, want: `key db=0 "z" zset/3 exp=0 idle=-1 freq=-1 raw=true a:+Inf b:-Inf c:1.5` + "\n"},
		{name: "zset nan refused", ver: 6, build: func(w *rdbWriter) {
			w.byte1(TypeZSet)
			w.strS("z")
			w.len(1)
			w.strS("a")
			w.byte1(253)
		}, want: `key db=0 "z" zset/3 exp=0 idle=-1 freq=-1 raw=true`, err: "NaN"},
		{name: "empty keys skipped", ver: 10, build: func(w *rdbWriter) {
			w.byte1(TypeSet)
			w.strS("s")
			w.len(0)
			w.byte1(TypeListQuicklist2)
			w.strS("l")
			w.len(1)
			w.len(qlPacked)
			w.str(buildListpack())
			w.byte1(TypeString)
			w.strS("k")
			w.strS("")
		}, want: `key db=0 "k" string/0 exp=0 idle=-1 freq=-1 raw=true len=0` + "\n"},
		{name: "unknown type", ver: 9, build: func(w *rdbWriter) {
			w.byte1(40)
		}, err: "unknown type or opcode 40"},
		{name: "module pre-GA", ver: 8, build: func(w *rdbWriter) {
			w.byte1(TypeModulePreGA)
		}, err: "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := newRDBWriter(&buf, tc.ver)
			tc.build(w)
			if err := w.end(); err != nil {
				t.Fatal(err)
			}
			got, err := summarize(t, buf.Bytes(), tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %T is not a *DecodeError", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && got != tc.want && !(tc.err != "" && strings.HasPrefix(got, tc.want)) {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	build := func(sum func(uint64) uint64) []byte {
		var buf bytes.Buffer
		w := newRDBWriter(&buf, 9)
		w.byte1(TypeString)
		w.strS("k")
		w.strS("v")
		w.byte1(opEOF)
		w.u64le(sum(w.crc))
		return buf.Bytes()
	}
	cases := []struct {
		name string
		sum  func(uint64) uint64
		err  error
	}{
		{"good", func(c uint64) uint64 { return c }, nil},
		{"disabled", func(uint64) uint64 { return 0 }, nil},
		{"bad", func(c uint64) uint64 { return c ^ 1 }, ErrChecksum},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := summarize(t, build(tc.sum), Options{})
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
		})
	}
}

// bigListRDB writes one list of n elements.
func bigListRDB(n int) []byte {
	var buf bytes.Buffer
	w := newRDBWriter(&buf, 9)
	w.byte1(TypeList)
	w.strS("big")
	w.len(uint64(n))
	for i := 0; i < n; i++ {
		w.strS(fmt.Sprintf("e%d", i))
	}
	w.byte1(TypeString)
	w.strS("after")
	w.strS("x")
	w.end()
	return buf.Bytes()
}

func TestBigValueSkippedOrAbandoned(t *testing.T) {
	in := bigListRDB(5000)
	opts := Options{RawLimit: 1000, ChunkElements: 100}
	t.Run("skipped by Next", func(t *testing.T) {
		d := NewDecoder(bytes.NewReader(in), opts)
		rec, err := d.Next()
		if err != nil || rec.Raw != nil {
			t.Fatalf("first: %v raw=%v", err, rec.Raw != nil)
		}
		rec, err = d.Next()
		if err != nil || string(rec.Key) != "after" {
			t.Fatalf("second: %v", err)
		}
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	})
	t.Run("chunks in order", func(t *testing.T) {
		d := NewDecoder(bytes.NewReader(in), opts)
		rec, _ := d.Next()
		i, chunks := 0, 0
		err := rec.Elements(func(c *Chunk) error {
			chunks++
			if len(c.Items) > 100 {
				t.Fatalf("chunk of %d", len(c.Items))
			}
			for _, it := range c.Items {
				if string(it) != fmt.Sprintf("e%d", i) {
					t.Fatalf("item %d = %q", i, it)
				}
				i++
			}
			return nil
		})
		if err != nil || i != 5000 || chunks != 50 {
			t.Fatalf("err %v, %d items in %d chunks", err, i, chunks)
		}
		if err := rec.Elements(nil); !errors.Is(err, ErrConsumed) {
			t.Fatalf("second walk: %v", err)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		d := NewDecoder(bytes.NewReader(in), opts)
		rec, _ := d.Next()
		stop := errors.New("stop")
		if err := rec.Elements(func(*Chunk) error { return stop }); err != stop {
			t.Fatalf("Elements: %v", err)
		}
		if _, err := d.Next(); !errors.Is(err, ErrAbandoned) {
			t.Fatalf("Next: %v", err)
		}
	})
}
