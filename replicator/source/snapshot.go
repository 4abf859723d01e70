package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Snapshot framing on the wire, after +FULLRESYNC and optional keep-alive "\n" bytes:
const (
	rdbLenPrefix = "$"     // $<len>\r\n<len bytes>          (disk-based transfer)
	rdbEOFPrefix = "$EOF:" // $EOF:<40-byte mark>\r\n<bytes><mark> (diskless transfer)
	rdbMarkLen   = 40
)

// parseRDBHeader reads the "$..." line: size >= 0 with mark nil, or size -1 and the
// EOF mark.
func parseRDBHeader(line string) (size int64, mark []byte, err error) {
	switch {
	case strings.HasPrefix(line, rdbEOFPrefix):
		m := line[len(rdbEOFPrefix):]
		if len(m) != rdbMarkLen {
			return 0, nil, fmt.Errorf("snapshot header %q: the EOF mark has %d bytes, want %d", clip(line), len(m), rdbMarkLen)
		}
		return -1, []byte(m), nil
	case strings.HasPrefix(line, rdbLenPrefix):
		n, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || n < 0 {
			return 0, nil, fmt.Errorf("snapshot header %q: bad length", clip(line))
		}
		return n, nil, nil
	case strings.HasPrefix(line, "-"):
		return 0, nil, fmt.Errorf("master error instead of the snapshot: %s", clip(line[1:]))
	}
	return 0, nil, fmt.Errorf("snapshot header %q: want $<len> or $EOF:<mark>", clip(line))
}

// lenReader yields exactly n bytes of src.
type lenReader struct {
	src  io.Reader
	left int64
	size int64
}

func (r *lenReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.src.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, fmt.Errorf("connection closed after %d of %d snapshot bytes: %w", r.size-r.left, r.size, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

// eofReader yields the bytes of src up to the 40-byte mark. It holds back the last
// bytes read (fewer than 40) until it knows they are not the start of the mark, so it
// never holds more than one read plus the holdback. Bytes read after the mark are kept
// in leftover: they are the start of the command stream.
type eofReader struct {
	src        io.Reader
	mark       []byte
	find       *markFinder
	buf        []byte
	start, end int // unreleased bytes are buf[start:end]
	safe       int // of them, how many are known to precede the mark
	found      bool
	leftover   []byte
	total      int64
}

func newEOFReader(src io.Reader, mark []byte) *eofReader {
	return &eofReader{src: src, mark: mark, find: newMarkFinder(mark), buf: make([]byte, 64<<10)}
}

func (r *eofReader) Read(p []byte) (int, error) {
	for {
		if r.safe > 0 {
			n := copy(p, r.buf[r.start:r.start+r.safe])
			r.start += n
			r.safe -= n
			r.total += int64(n)
			return n, nil
		}
		if r.found {
			return 0, io.EOF
		}
		if r.start > 0 { // move the holdback to the front
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		}
		n, err := r.src.Read(r.buf[r.end:])
		searchFrom := max(0, r.end-(len(r.mark)-1))
		r.end += n
		if i := r.find.index(r.buf[searchFrom:r.end]); i >= 0 {
			i += searchFrom
			r.found = true
			r.leftover = append([]byte(nil), r.buf[i+len(r.mark):r.end]...)
			r.end = i
			r.safe = i
			continue
		}
		if hold := len(r.mark) - 1; r.end > hold {
			r.safe = r.end - hold
		}
		if r.safe > 0 {
			continue
		}
		if err == io.EOF {
			return 0, fmt.Errorf("connection closed after %d snapshot bytes, before the EOF mark: %w", r.total+int64(r.end), io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, err
		}
	}
}

// markFinder looks for the EOF mark in every byte of a snapshot. It reads one
// byte in every len(mark): any occurrence of the mark covers exactly one of them,
// and a byte that is not in the mark (most of them: the mark is hex digits) rules
// out every start that would put it inside. bytes.Index has to stop at every
// copy of the mark's first byte, which text values hold plenty of.
type markFinder struct {
	mark []byte
	at   [256][]int // for each byte value, its positions in mark, last first
}

func newMarkFinder(mark []byte) *markFinder {
	f := &markFinder{mark: mark}
	for j := len(mark) - 1; j >= 0; j-- {
		f.at[mark[j]] = append(f.at[mark[j]], j)
	}
	return f
}

// index returns the index of the first occurrence of the mark in b, or -1, as
// bytes.Index(b, mark).
func (f *markFinder) index(b []byte) int {
	n := len(f.mark)
	if n < 8 {
		return bytes.Index(b, f.mark)
	}
	for p := n - 1; p < len(b); p += n {
		// Starts p-j with j descending: the leftmost occurrence first.
		for _, j := range f.at[b[p]] {
			if i := p - j; i+n <= len(b) && bytes.Equal(b[i:i+n], f.mark) {
				return i
			}
		}
	}
	return -1
}

// snapReader is what the Handler reads: it counts bytes, remembers the first
// transfer error (a network failure, not the Handler's fault) and calls onEnd once
// the last snapshot byte was received.
type snapReader struct {
	src   io.Reader
	count func(n int)
	onEnd func()
	ended bool
	err   error
}

func (r *snapReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.ended {
		return 0, io.EOF
	}
	n, err := r.src.Read(p)
	if n > 0 {
		r.count(n)
	}
	switch {
	case err == io.EOF:
		r.ended = true
		r.onEnd()
	case err != nil:
		r.err = fmt.Errorf("%w: %w", errTransfer, err)
		return n, r.err
	}
	return n, err
}

// drain reads what the Handler left unread.
func (r *snapReader) drain() error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// spool copies the whole snapshot into a temporary file of dir and returns a reader
// over it and its size; the caller removes the file with cleanup.
func spool(ctx context.Context, dir string, r io.Reader) (rdb io.Reader, size int64, cleanup func(), err error) {
	f, err := os.CreateTemp(dir, "xsync-snapshot-*.rdb")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("xsync/source: spool the snapshot: %w", err)
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	size, err = io.Copy(f, r)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		var fsErr *os.PathError
		if errors.As(err, &fsErr) {
			return nil, 0, nil, fmt.Errorf("xsync/source: spool the snapshot into %s: %w", dir, err)
		}
		return nil, 0, nil, err
	}
	return bufio.NewReaderSize(f, 1<<20), size, cleanup, nil
}

// clip shortens peer text for error messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
