package resp

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkReaderCommands reads a pipeline of SET key:<c> <64-byte value> through a
// Reader fed in 16 KiB reads: the hot loop of the replication stream.
func BenchmarkReaderCommands(b *testing.B) {
	data := pipeline(1000)
	per := int64(len(data) / 1000)
	r := NewReader(&loopReader{data: data, chunk: 16 << 10}, Limits{})
	b.SetBytes(per)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCommand parses one SET command from a buffer with a reused dst.
func BenchmarkParseCommand(b *testing.B) {
	data := pipeline(1)
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		args, _, err := ParseCommand(data, dst, nil)
		if err != nil {
			b.Fatal(err)
		}
		dst = args
	}
}

// BenchmarkParseCommandInline parses an inline command.
func BenchmarkParseCommandInline(b *testing.B) {
	data := []byte("SET key:1 value-of-some-length\r\n")
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		args, _, err := ParseCommand(data, dst, nil)
		if err != nil {
			b.Fatal(err)
		}
		dst = args
	}
}

// BenchmarkParseValue parses replies: a simple +OK (the applier's common case) and
// an array of 10 bulk strings (an LRANGE or HGETALL reply).
func BenchmarkParseValue(b *testing.B) {
	arr := AppendArray(nil, 10)
	for range 10 {
		arr = AppendBulk(arr, bytes.Repeat([]byte("e"), 16))
	}
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"simple", []byte("+OK\r\n")},
		{"bulk64", AppendBulk(nil, bytes.Repeat([]byte("v"), 64))},
		{"array10", arr},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseValue(bc.data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReaderValues reads a random mix of RESP3 replies through a Reader.
func BenchmarkReaderValues(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	var data []byte
	count := 0
	for len(data) < 1<<20 {
		data = AppendValue(data, randValue(rng, 0))
		count++
	}
	r := NewReader(&loopReader{data: data, chunk: 16 << 10}, Limits{})
	b.SetBytes(int64(len(data) / count))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadValue(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendCommand encodes SET key <64-byte value> into a reused buffer.
func BenchmarkAppendCommand(b *testing.B) {
	args := [][]byte{[]byte("SET"), []byte("key:000001"), bytes.Repeat([]byte("v"), 64)}
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(AppendCommand(nil, args...))))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendCommand(dst[:0], args...)
	}
}

// BenchmarkWriterCommands buffers SET commands through a Writer to io.Discard.
func BenchmarkWriterCommands(b *testing.B) {
	args := [][]byte{[]byte("SET"), []byte("key:000001"), bytes.Repeat([]byte("v"), 64)}
	w := NewWriter(io.Discard)
	b.SetBytes(int64(len(AppendCommand(nil, args...))))
	b.ReportAllocs()
	for b.Loop() {
		w.WriteCommand(args...)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReaderLargeReply reads a reply of 100 000 bulk strings arriving in 16 KiB
// reads: the skipper follows it, so the cost stays linear in its size.
func BenchmarkReaderLargeReply(b *testing.B) {
	data := AppendArray(nil, 100000)
	for i := range 100000 {
		data = AppendBulkInt(data, int64(i))
	}
	r := NewReader(&loopReader{data: data, chunk: 16 << 10}, Limits{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if v, _, err := r.ReadValue(); err != nil || len(v.Elems) != 100000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderLargeCommand reads an RPUSH of 100 000 arguments arriving in 16 KiB
// reads.
func BenchmarkReaderLargeCommand(b *testing.B) {
	args := [][]byte{[]byte("RPUSH"), []byte("list")}
	for i := range 100000 {
		args = append(args, []byte(strconv.Itoa(i)))
	}
	data := AppendCommand(nil, args...)
	r := NewReader(&loopReader{data: data, chunk: 16 << 10}, Limits{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if a, _, err := r.ReadCommand(); err != nil || len(a) != len(args) {
			b.Fatal(err)
		}
	}
}
