package resp

import (
	"bytes"
	"testing"
)

// loopReader returns its data over and over, in reads of at most chunk bytes.
type loopReader struct {
	data  []byte
	pos   int
	chunk int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := min(len(p), l.chunk, len(l.data)-l.pos)
	copy(p, l.data[l.pos:l.pos+n])
	l.pos = (l.pos + n) % len(l.data)
	return n, nil
}

// pipeline returns count commands SET key:<i> <64-byte value>.
func pipeline(count int) []byte {
	var b []byte
	val := bytes.Repeat([]byte("v"), 64)
	for i := range count {
		b = AppendCommand(b, []byte("SET"), []byte("key:"+string(rune('a'+i%26))), val)
	}
	return b
}

// TestReaderCommandsZeroAlloc proves that reading a pipeline of commands through a
// Reader allocates nothing in steady state, whatever the read sizes.
func TestReaderCommandsZeroAlloc(t *testing.T) {
	for _, chunk := range []int{7, 1000, 1 << 20} {
		r := NewReader(&loopReader{data: pipeline(100), chunk: chunk}, Limits{})
		for range 1000 { // warm up: buffer and args reach their size
			if _, _, err := r.ReadCommand(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(10000, func() {
			if args, _, err := r.ReadCommand(); err != nil || len(args) != 3 {
				t.Fatalf("ReadCommand: %q, %v", args, err)
			}
		})
		if allocs != 0 {
			t.Fatalf("chunk %d: %v allocations per command, want 0", chunk, allocs)
		}
	}
}

// TestReaderSimpleRepliesZeroAlloc proves the same for the replies the applier reads
// most: +OK, :<n>, bulk strings.
func TestReaderSimpleRepliesZeroAlloc(t *testing.T) {
	data := []byte("+OK\r\n:12345\r\n$5\r\nhello\r\n$-1\r\n_\r\n,1.5\r\n")
	r := NewReader(&loopReader{data: data, chunk: 5}, Limits{})
	for range 100 {
		if _, _, err := r.ReadValue(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(10000, func() {
		if _, _, err := r.ReadValue(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per reply, want 0", allocs)
	}
}

// TestParseCommandZeroAlloc proves that ParseCommand with a reused dst allocates
// nothing, for multibulk and inline commands.
func TestParseCommandZeroAlloc(t *testing.T) {
	for _, in := range []string{
		string(pipeline(1)),
		"set key \"quoted value\" 'x'\r\n",
		"PING\r\n",
	} {
		dst := make([][]byte, 0, 8)
		buf := []byte(in)
		allocs := testing.AllocsPerRun(1000, func() {
			copy(buf, in) // the quoted line is unescaped in place
			args, _, err := ParseCommand(buf, dst, nil)
			if err != nil || len(args) == 0 {
				t.Fatal(err)
			}
			dst = args
		})
		if allocs != 0 {
			t.Fatalf("%q: %v allocations per command, want 0", in, allocs)
		}
	}
}
