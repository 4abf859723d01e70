package resp

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// failWriter accepts ok bytes, then fails.
type failWriter struct {
	ok     int
	writes int
	buf    bytes.Buffer
}

var errBroken = errors.New("broken pipe")

func (f *failWriter) Write(p []byte) (int, error) {
	f.writes++
	if f.buf.Len()+len(p) > f.ok {
		n := f.ok - f.buf.Len()
		f.buf.Write(p[:n])
		return n, errBroken
	}
	return f.buf.Write(p)
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.WriteCommand([]byte("SET"), []byte("k"), []byte("v"))
	w.WriteCommandString("PING")
	w.WriteRaw([]byte("+OK\r\n"))
	w.SetBuffer(AppendInt(w.Buffer(), 7))
	if out.Len() != 0 {
		t.Fatal("wrote before Flush")
	}
	if w.Buffered() != 50 {
		t.Fatalf("Buffered = %d, want 50", w.Buffered())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n+OK\r\n:7\r\n"
	if out.String() != want {
		t.Fatalf("wrote %q, want %q", out.String(), want)
	}
	if w.Buffered() != 0 || w.Err() != nil {
		t.Fatalf("after Flush: Buffered %d, Err %v", w.Buffered(), w.Err())
	}
}

func TestWriterStickyError(t *testing.T) {
	f := &failWriter{ok: 10}
	w := NewWriter(f)
	w.WriteCommandString("SET", "key", "value")
	if err := w.Flush(); err != errBroken {
		t.Fatalf("Flush = %v, want %v", err, errBroken)
	}
	w.WriteCommandString("PING")
	if err := w.Flush(); err != errBroken || w.Err() != errBroken {
		t.Fatalf("second Flush = %v, Err = %v, want the first error", err, w.Err())
	}
	if f.writes != 1 {
		t.Fatalf("%d writes after the error, want none", f.writes-1)
	}
	w.Reset(io.Discard)
	w.WriteCommandString("PING")
	if err := w.Flush(); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestWriterShortWrite(t *testing.T) {
	w := NewWriter(shortWriter{})
	w.WriteRaw([]byte("+OK\r\n"))
	if err := w.Flush(); err != io.ErrShortWrite {
		t.Fatalf("Flush = %v, want io.ErrShortWrite", err)
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) - 1, nil }

// TestWriterLargeWrites checks the early write of a big buffer and that a buffer
// grown past the cap is dropped.
func TestWriterLargeWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	big := bytes.Repeat([]byte("x"), 2<<20)
	w.WriteCommand([]byte("SET"), []byte("k"), big)
	if out.Len() == 0 {
		t.Fatal("a buffer over 64 KiB was not written before Flush")
	}
	if cap(w.Buffer()) > writerMaxKeep {
		t.Fatalf("kept a %d-byte buffer", cap(w.Buffer()))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	args, _, err := ParseCommand(out.Bytes(), nil, nil)
	if err != nil || !bytes.Equal(args[2], big) {
		t.Fatalf("written command does not parse back: %v", err)
	}
}
