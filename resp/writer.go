package resp

import "io"

const (
	// writerFlushSize is the buffered size at which a write goes out before Flush.
	writerFlushSize = 64 << 10
	// writerMaxKeep is the largest buffer a Writer keeps after Flush; a bigger one
	// (grown by one large command or a long pipeline) is dropped.
	writerMaxKeep = 1 << 20
)

// Writer buffers encoded output for an io.Writer. Writes append to the buffer, which
// goes out at Flush, or earlier when it holds 64 KiB or more. The first write error
// is sticky: later writes are dropped, and Flush and Err return it. After Flush a
// buffer that grew past 1 MiB is dropped, so that one big command does not pin its
// memory. A Writer is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
	err error
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Reset makes the Writer write to to, dropping what is buffered and the sticky
// error.
func (w *Writer) Reset(to io.Writer) {
	w.w, w.buf, w.err = to, w.buf[:0], nil
}

// Buffer returns the buffered output, to append to with the Append functions; give
// the result back with SetBuffer.
func (w *Writer) Buffer() []byte { return w.buf }

// SetBuffer replaces the buffered output with b, usually Buffer() with more appended.
func (w *Writer) SetBuffer(b []byte) {
	w.buf = b
	w.maybeFlush()
}

// Buffered returns the number of bytes buffered and not yet written.
func (w *Writer) Buffered() int { return len(w.buf) }

// WriteCommand buffers a command as a multibulk request.
func (w *Writer) WriteCommand(args ...[]byte) {
	if w.err != nil {
		return
	}
	w.buf = AppendCommand(w.buf, args...)
	w.maybeFlush()
}

// WriteCommandString buffers a command of string arguments as a multibulk request.
func (w *Writer) WriteCommandString(args ...string) {
	if w.err != nil {
		return
	}
	w.buf = AppendCommandString(w.buf, args...)
	w.maybeFlush()
}

// WriteRaw buffers bytes that are already RESP.
func (w *Writer) WriteRaw(b []byte) {
	if w.err != nil {
		return
	}
	w.buf = append(w.buf, b...)
	w.maybeFlush()
}

// Flush writes the buffered output and returns the sticky error, if any.
func (w *Writer) Flush() error {
	w.write()
	return w.err
}

// Err returns the sticky error: the first error of the underlying io.Writer.
func (w *Writer) Err() error { return w.err }

func (w *Writer) maybeFlush() {
	if len(w.buf) >= writerFlushSize {
		w.write()
	}
}

// write sends the buffer, records the first error and drops an outsized buffer.
func (w *Writer) write() {
	if w.err == nil && len(w.buf) > 0 {
		n, err := w.w.Write(w.buf)
		if err == nil && n < len(w.buf) {
			err = io.ErrShortWrite
		}
		w.err = err
	}
	if cap(w.buf) > writerMaxKeep {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
}
