package resp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns 1..max bytes per Read, and now and then (0, nil).
type chunkReader struct {
	data []byte
	rng  *rand.Rand
	max  int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.rng.IntN(50) == 0 {
		return 0, nil
	}
	n := min(1+c.rng.IntN(c.max), len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// streamItem is one item of a generated stream and what reading it must give.
type streamItem struct {
	kind string   // "command", "value", "line" or "raw"
	wire []byte   // the item's own bytes
	n    int      // expected n, with the empty commands before a command
	args []string // command
	line string   // line
}

// randStream returns a stream of count random items and the stream's bytes.
func randStream(rng *rand.Rand, count int) ([]streamItem, []byte) {
	var items []streamItem
	var stream []byte
	for range count {
		var it streamItem
		switch k := rng.IntN(10); {
		case k < 4:
			empties := 0
			for rng.IntN(4) == 0 {
				e := randEmpty(rng)
				stream = append(stream, e...)
				empties += len(e)
			}
			if rng.IntN(3) == 0 {
				it.wire, it.args = randInline(rng)
			} else {
				it.wire, it.args = randCommand(rng)
			}
			it.kind, it.n = "command", empties+len(it.wire)
		case k < 8:
			it.kind = "value"
			it.wire = AppendValue(nil, randValue(rng, 0))
			it.n = len(it.wire)
		case k < 9:
			it.kind = "line"
			it.line = string(randWord(rng))
			it.wire = []byte(it.line + []string{"\r\n", "\n"}[rng.IntN(2)])
			it.n = len(it.wire)
		default:
			it.kind = "raw"
			it.wire = randBytes(rng, 1+rng.IntN(3000))
			it.n = len(it.wire)
		}
		stream = append(stream, it.wire...)
		items = append(items, it)
	}
	return items, stream
}

// TestReaderRandomChunks feeds a long random mix of commands, replies, lines and raw
// bytes through a Reader in random-sized chunks and checks every item and every n.
func TestReaderRandomChunks(t *testing.T) {
	for seed := range uint64(12) {
		maxChunk := []int{1, 3, 7, 64, 1000, 70000}[seed%6]
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			items, stream := randStream(rng, 2000)
			r := NewReader(&chunkReader{data: stream, rng: rng, max: maxChunk}, Limits{})
			var off int64
			for i, it := range items {
				var n int
				var err error
				switch it.kind {
				case "command":
					var args [][]byte
					args, n, err = r.ReadCommand()
					if err == nil && !equalStrs(strs(args), it.args) {
						t.Fatalf("item %d: args = %q, want %q", i, strs(args), it.args)
					}
				case "value":
					var v Value
					v, n, err = r.ReadValue()
					if err == nil {
						if got := AppendValue(nil, v); !bytes.Equal(got, it.wire) {
							t.Fatalf("item %d: value %s encodes as %q, want %q", i, v, got, it.wire)
						}
					}
				case "line":
					var line []byte
					line, n, err = r.ReadLine()
					if err == nil && string(line) != it.line {
						t.Fatalf("item %d: line = %q, want %q", i, line, it.line)
					}
				case "raw":
					p := make([]byte, len(it.wire))
					n, err = io.ReadFull(r, p)
					if err == nil && !bytes.Equal(p, it.wire) {
						t.Fatalf("item %d: raw bytes differ", i)
					}
				}
				if err != nil {
					t.Fatalf("item %d (%s %q): %v", i, it.kind, it.wire[:min(len(it.wire), 40)], err)
				}
				if n != it.n {
					t.Fatalf("item %d (%s): n = %d, want %d", i, it.kind, n, it.n)
				}
				off += int64(n)
				if r.Offset() != off {
					t.Fatalf("item %d: Offset = %d, want %d", i, r.Offset(), off)
				}
			}
			if _, _, err := r.ReadCommand(); err != io.EOF {
				t.Fatalf("at the end: err = %v, want io.EOF", err)
			}
			if r.Offset() != int64(len(stream)) {
				t.Fatalf("Offset = %d, want %d", r.Offset(), len(stream))
			}
		})
	}
}

func TestReaderKeepalivesBeforeCommand(t *testing.T) {
	r := NewReader(strings.NewReader("\n\n\r\n*0\r\n*1\r\n$4\r\nPING\r\n\n"), Limits{})
	args, n, err := r.ReadCommand()
	if err != nil || len(args) != 1 || string(args[0]) != "PING" || n != 22 {
		t.Fatalf("ReadCommand = %q, %d, %v; want [PING], 22", args, n, err)
	}
	args, n, err = r.ReadCommand()
	if err != io.EOF || n != 1 || args != nil {
		t.Fatalf("ReadCommand at the end = %q, %d, %v; want nil, 1, EOF", args, n, err)
	}
	if r.Offset() != 23 {
		t.Fatalf("Offset = %d, want 23", r.Offset())
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		read func(r *Reader) error
		err  errWant
		eof  error
	}{
		{name: "protocol error position", in: "*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n", read: readCommands, err: protoAt(19)},
		{name: "value error position", in: "+OK\r\n:1\r\n:z\r\n", read: readValues, err: protoAt(10)},
		{name: "truncated command", in: "*1\r\n$4\r\nPI", read: readCommands, eof: io.ErrUnexpectedEOF},
		{name: "truncated value", in: "$10\r\nabc", read: readValues, eof: io.ErrUnexpectedEOF},
		{name: "truncated line", in: "+FULL", read: readLines, eof: io.ErrUnexpectedEOF},
		{name: "clean end", in: "+OK\r\n", read: readValues, eof: io.EOF},
		{name: "line too long", in: strings.Repeat("x", DefaultMaxInlineLen+1) + "\r\n", read: readLines, err: largeAt(0)},
		{name: "too large bulk", in: "+OK\r\n$536870913\r\n", read: readValues, err: largeAt(6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(&chunkReader{data: []byte(tt.in), rng: rand.New(rand.NewPCG(1, 2)), max: 3}, Limits{})
			err := tt.read(r)
			if tt.eof != nil {
				if err != tt.eof {
					t.Fatalf("err = %v, want %v", err, tt.eof)
				}
				return
			}
			checkErr(t, err, tt.err)
			if again := tt.read(r); again != err {
				t.Fatalf("protocol error not sticky: then %v, now %v", err, again)
			}
		})
	}
}

func readCommands(r *Reader) error {
	for {
		if _, _, err := r.ReadCommand(); err != nil {
			return err
		}
	}
}

func readValues(r *Reader) error {
	for {
		if _, _, err := r.ReadValue(); err != nil {
			return err
		}
	}
}

func readLines(r *Reader) error {
	for {
		if _, _, err := r.ReadLine(); err != nil {
			return err
		}
	}
}

// errAfter returns its data, then err (not io.EOF), then its data again.
type errAfter struct {
	data  []string
	err   error
	calls int
}

func (e *errAfter) Read(p []byte) (int, error) {
	e.calls++
	if e.calls == 2 {
		return 0, e.err
	}
	if len(e.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.data[0])
	e.data = e.data[1:]
	return n, nil
}

// TestReaderTransientError checks that an I/O error (a read deadline) is not sticky
// and loses nothing.
func TestReaderTransientError(t *testing.T) {
	timeout := errors.New("i/o timeout")
	r := NewReader(&errAfter{data: []string{"*1\r\n$4\r\nPI", "NG\r\n"}, err: timeout}, Limits{})
	if _, _, err := r.ReadCommand(); err != timeout {
		t.Fatalf("err = %v, want the timeout", err)
	}
	args, n, err := r.ReadCommand()
	if err != nil || string(args[0]) != "PING" || n != 14 {
		t.Fatalf("after the timeout: %q, %d, %v", args, n, err)
	}
}

// TestReaderBufferBounded checks that the buffer grows to what an item needs and
// goes back down after a large item.
func TestReaderBufferBounded(t *testing.T) {
	big := bytes.Repeat([]byte("v"), 3<<20)
	stream := AppendCommand(nil, []byte("SET"), []byte("k"), big)
	ping := AppendCommandString(nil, "PING")
	stream = append(stream, bytes.Repeat(ping, readerShrinkAfter)...)
	r := NewReader(iotest.OneByteReader(bytes.NewReader(stream)), Limits{})
	args, _, err := r.ReadCommand()
	if err != nil || len(args[2]) != len(big) {
		t.Fatalf("big command: %v", err)
	}
	if c := len(r.buf); c > 2*len(stream) {
		t.Fatalf("buffer grew to %d for a %d-byte item", c, len(stream))
	}
	for i := range readerShrinkAfter {
		if _, _, err := r.ReadCommand(); err != nil {
			t.Fatal(err)
		}
		if c := len(r.buf); (c > readerShrinkSize) != (i < readerShrinkAfter-1) {
			t.Fatalf("after %d small commands the buffer is %d bytes", i+1, c)
		}
	}
}

// TestReaderRead checks Read: buffered bytes first, then straight from the stream.
func TestReaderRead(t *testing.T) {
	r := NewReader(strings.NewReader("+FULLRESYNC x 0\r\n$5\r\nREDIS*1\r\n$4\r\nPING\r\n"), Limits{})
	line, n, err := r.ReadLine()
	if err != nil || string(line) != "+FULLRESYNC x 0" || n != 17 {
		t.Fatalf("ReadLine = %q, %d, %v", line, n, err)
	}
	line, _, _ = r.ReadLine()
	if string(line) != "$5" {
		t.Fatalf("ReadLine = %q", line)
	}
	rdb := make([]byte, 5)
	if _, err := io.ReadFull(r, rdb); err != nil || string(rdb) != "REDIS" {
		t.Fatalf("Read = %q, %v", rdb, err)
	}
	if r.Offset() != 26 {
		t.Fatalf("Offset = %d, want 26", r.Offset())
	}
	args, n, err := r.ReadCommand()
	if err != nil || string(args[0]) != "PING" || n != 14 || r.Offset() != 40 {
		t.Fatalf("ReadCommand = %q, %d, %v, offset %d", args, n, err, r.Offset())
	}
	if r.Buffered() != 0 {
		t.Fatalf("Buffered = %d", r.Buffered())
	}
}

// TestReaderLargeItems reads items of a million elements in small reads: the
// skipper must follow them to their end (the parser runs about once per item).
func TestReaderLargeItems(t *testing.T) {
	args := [][]byte{[]byte("SADD"), []byte("k")}
	for i := range 300000 {
		args = append(args, []byte(strconv.Itoa(i)))
	}
	cmd := AppendCommand(nil, args...)
	reply := AppendArray(nil, 2)
	reply = appendHeader(reply, TypeAttribute, 1)
	reply = AppendSimple(reply, "a")
	reply = AppendInt(reply, 1)
	reply = appendHeader(reply, TypeMap, 100000)
	for i := range 100000 {
		reply = AppendBulkInt(reply, int64(i))
		reply = AppendValue(reply, Value{Type: TypeArray, Elems: []Value{{Type: TypeNull, Null: true}, {Type: TypeBoolean, Int: 1}}})
	}
	reply = AppendNullBulk(reply)
	data := append(append(bytes.Clone(cmd), reply...), cmd...)
	r := NewReader(&chunkReader{data: data, rng: rand.New(rand.NewPCG(5, 5)), max: 4096}, Limits{})
	for i, want := range [][]byte{cmd, reply, cmd} {
		var got []byte
		var n int
		var err error
		if i == 1 {
			var v Value
			v, n, err = r.ReadValue()
			got = AppendValue(nil, v)
		} else {
			var a [][]byte
			a, n, err = r.ReadCommand()
			got = AppendCommand(nil, a...)
		}
		if err != nil || n != len(want) || !bytes.Equal(got, want) {
			t.Fatalf("item %d: n %d (want %d), err %v, equal %v", i, n, len(want), err, bytes.Equal(got, want))
		}
	}
}

// TestDeclaredLengthsCostNothing checks that lengths a peer declares, within the
// limits, cost memory only as their bytes arrive: a bulk of 500 MB, an array and a
// command of 16M elements, each followed by a few bytes.
func TestDeclaredLengthsCostNothing(t *testing.T) {
	for _, tt := range []struct {
		in      string
		command bool
	}{
		{"$500000000\r\nabc", false},
		{"*16777216\r\n:1\r\n:2\r\n", false},
		{"%16777216\r\n:1\r\n", false},
		{"*16777216\r\n$1\r\na\r\n", true},
		{"*1\r\n$500000000\r\nabc", true},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := NewReader(strings.NewReader(tt.in), Limits{})
		var err error
		if tt.command {
			_, _, err = r.ReadCommand()
			if _, _, perr := ParseCommand([]byte(tt.in), nil, nil); perr != ErrIncomplete {
				t.Fatalf("%q: ParseCommand: %v", tt.in, perr)
			}
		} else {
			_, _, err = r.ReadValue()
			if _, _, perr := ParseValue([]byte(tt.in), nil); perr != ErrIncomplete {
				t.Fatalf("%q: ParseValue: %v", tt.in, perr)
			}
		}
		runtime.ReadMemStats(&after)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("%q: err = %v, want io.ErrUnexpectedEOF", tt.in, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("%q: allocated %d bytes", tt.in, grew)
		}
	}
}

// TestReaderReset checks that Reset starts over, also in the middle of an item.
func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$3\r\nGET\r\n"), Limits{})
	if _, _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	r.Reset(strings.NewReader("*1\r\n$4\r\nPING\r\n"))
	args, n, err := r.ReadCommand()
	if err != nil || string(args[0]) != "PING" || n != 14 || r.Offset() != 14 {
		t.Fatalf("after Reset: %q, %d, %v, offset %d", args, n, err, r.Offset())
	}
}

// badReader returns a count it cannot have read, or nothing at all.
type badReader struct{ n int }

func (b badReader) Read(p []byte) (int, error) { return b.n, nil }

func TestReaderBadUnderlying(t *testing.T) {
	r := NewReader(badReader{n: -1}, Limits{})
	if _, _, err := r.ReadCommand(); err != ErrNegativeRead {
		t.Fatalf("ReadCommand = %v, want ErrNegativeRead", err)
	}
	if _, err := r.Read(make([]byte, 4)); err != ErrNegativeRead {
		t.Fatalf("Read = %v, want ErrNegativeRead", err)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	r = NewReader(badReader{n: 0}, Limits{})
	if _, _, err := r.ReadValue(); err != io.ErrNoProgress {
		t.Fatalf("ReadValue = %v, want io.ErrNoProgress", err)
	}
}

// TestReaderReadHeldError checks that Read returns an error that came with the last
// bytes of a fill once those bytes are consumed.
func TestReaderReadHeldError(t *testing.T) {
	boom := errors.New("reset by peer")
	r := NewReader(&dataThenErr{data: []byte("+OK\r\nxy"), err: boom}, Limits{})
	if _, _, err := r.ReadValue(); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if n, err := r.Read(p); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v; want the 2 buffered bytes", n, err)
	}
	if _, err := r.Read(p); err != boom {
		t.Fatalf("Read = %v, want %v", err, boom)
	}
}

// dataThenErr returns all its data together with err, then err alone.
type dataThenErr struct {
	data []byte
	err  error
}

func (d *dataThenErr) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	return n, d.err
}

// TestReaderBeforeRead checks that the hook runs exactly when the buffer does
// not hold the next item (before each read of the wrapped reader), and that its
// error ends the call without being sticky.
func TestReaderBeforeRead(t *testing.T) {
	pr, pw := io.Pipe()
	r := NewReader(pr, Limits{})
	calls := 0
	var fail error
	r.SetBeforeRead(func() error { calls++; return fail })
	go func() {
		// Two commands in one write, then one split over two writes.
		pw.Write([]byte("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n")) //nolint:errcheck
		pw.Write([]byte("*2\r\n$3\r\nGET\r\n"))                      //nolint:errcheck
		pw.Write([]byte("$1\r\nk\r\n"))                              //nolint:errcheck
		pw.Close()
	}()
	for i, want := range []int{1, 1, 3} { // the first read; none; two reads for the split command
		if _, _, err := r.ReadCommand(); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if calls != want {
			t.Errorf("after command %d: hook called %d times, want %d", i, calls, want)
		}
	}
	fail = errors.New("flush failed")
	if _, _, err := r.ReadCommand(); err != fail {
		t.Errorf("ReadCommand with a failing hook: %v, want the hook's error", err)
	}
	fail = nil
	r.SetBeforeRead(nil)
	if _, _, err := r.ReadCommand(); err != io.EOF {
		t.Errorf("after the hook's error: %v, want EOF (not sticky)", err)
	}
}
