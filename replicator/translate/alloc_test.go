package translate

import (
	"testing"
	"time"

	"github.com/xsync/xsync/slots"
)

func allSlots() []slots.Range { return []slots.Range{{Start: 0, End: slots.NumSlots - 1}} }

func argv(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, x := range s {
		out[i] = []byte(x)
	}
	return out
}

// TestAllocs proves that the steady state of the common paths allocates
// nothing: single-key commands, with a db prefix, with filters, with a
// relative expire rewritten, and a one-slot transaction.
func TestAllocs(t *testing.T) {
	recv := time.UnixMilli(1_000_000)
	cases := []struct {
		name string
		cfg  Config
		db   int
		cmds [][][]byte
	}{
		{"set", Config{SourceSlots: allSlots()}, 0, [][][]byte{argv("SET", "key:1", "value")}},
		{"hset", Config{SourceSlots: allSlots()}, 0, [][][]byte{argv("HSET", "h", "f", "v", "g", "w")}},
		{"prefix", Config{SourceKind: SourceStandalone, DBs: map[int]Target{0: {}, 3: {Prefix: "db3:"}}}, 3,
			[][][]byte{argv("SET", "key:1", "value")}},
		{"filters", Config{SourceSlots: allSlots(), Include: []string{"key:*"}, Exclude: []string{"key:[0-9]x*"},
			Deny: []string{"flushall"}}, 0, [][][]byte{argv("SET", "key:1", "value"), argv("SET", "other", "v")}},
		{"expire", Config{SourceSlots: allSlots()}, 0, [][][]byte{argv("EXPIRE", "k", "100"), argv("SETEX", "k", "10", "v"),
			argv("SET", "k", "v", "PX", "100")}},
		{"mset-split", Config{SourceKind: SourceStandalone}, 0, [][][]byte{argv("MSET", "a", "1", "b", "2")}},
		{"multi", Config{SourceSlots: allSlots()}, 0, [][][]byte{argv("MULTI"), argv("SET", "{t}a", "1"),
			argv("INCR", "{t}b"), argv("EXEC")}},
		{"standalone-dest-select", Config{SourceKind: SourceStandalone, DestKind: DestStandalone}, 2,
			[][][]byte{argv("SET", "k", "v")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var off int64
			run := func() {
				for _, cmd := range c.cmds {
					off++
					if _, err := tr.Translate(c.db, cmd, off, recv); err != nil {
						t.Fatal(err)
					}
				}
			}
			run() // warm the buffers
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Errorf("%v allocations per run", n)
			}
		})
	}
}

func BenchmarkTranslateSet(b *testing.B) {
	tr, err := New(Config{SourceSlots: allSlots()})
	if err != nil {
		b.Fatal(err)
	}
	cmd := argv("SET", "user:1000:name", "some value of moderate length")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := tr.Translate(0, cmd, int64(i), time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
