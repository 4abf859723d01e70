package rdb

import (
	"errors"
	"io"
)

const (
	srcBufSize = 64 << 10 // read buffer of the input
	pieceSize  = 32 << 10 // largest single read asked of a cursor
)

// errOverLimit stops the raw capture of a value that is over Options.RawLimit.
var errOverLimit = errors.New("xsync/rdb: value over raw limit")

// source buffers the input, counts the offset and keeps the running CRC64 of
// every byte consumed.
type source struct {
	r        io.Reader
	buf      []byte
	pos, end int
	off      int64 // offset in the stream of buf[pos]
	crc      uint64
	crcPos   int // buf[crcPos:pos] is consumed but not yet in crc
	err      error
}

func (s *source) reset(r io.Reader) {
	if s.buf == nil {
		s.buf = make([]byte, srcBufSize)
	}
	*s = source{r: r, buf: s.buf}
}

// flushCRC folds the consumed bytes into the CRC.
func (s *source) flushCRC() {
	s.crc = CRC64(s.crc, s.buf[s.crcPos:s.pos])
	s.crcPos = s.pos
}

// fill makes sure n (<= len(buf)) bytes are buffered.
func (s *source) fill(n int) error {
	if s.end-s.pos >= n {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	if s.pos+n > len(s.buf) {
		s.flushCRC()
		copy(s.buf, s.buf[s.pos:s.end])
		s.end -= s.pos
		s.pos, s.crcPos = 0, 0
	}
	zero := 0
	for s.end-s.pos < n {
		m, err := s.r.Read(s.buf[s.end:])
		s.end += m
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			s.err = err
			if s.end-s.pos >= n {
				return nil
			}
			return err
		}
		if m == 0 {
			if zero++; zero > 100 {
				s.err = io.ErrNoProgress
				return s.err
			}
		}
	}
	return nil
}

// next consumes n (<= len(buf)) bytes; the slice is valid until the next call.
func (s *source) next(n int) ([]byte, error) {
	if err := s.fill(n); err != nil {
		return nil, err
	}
	b := s.buf[s.pos : s.pos+n]
	s.pos += n
	s.off += int64(n)
	return b, nil
}

// cursor reads a value: from mem first (bytes held in memory: a value's raw
// bytes, or the captured prefix of a big value), then from src when set. While
// capture is on, every byte read from src is appended to raw, and a read that
// would take raw over rawLimit fails with errOverLimit without consuming.
type cursor struct {
	src      *source
	mem      []byte
	mpos     int
	mbase    int64 // stream offset of mem[0]
	capture  bool
	raw      []byte
	rawLimit int
	tmp      []byte
}

// offset returns the stream offset of the next byte.
func (c *cursor) offset() int64 {
	if c.mpos < len(c.mem) || c.src == nil {
		return c.mbase + int64(c.mpos)
	}
	return c.src.off
}

var errValueEnd = errors.New("value ends early")

// next consumes n (<= pieceSize) bytes; the slice is valid until the next read
// (slices of mem stay valid as long as mem).
func (c *cursor) next(n int) ([]byte, error) {
	if c.mpos < len(c.mem) {
		if len(c.mem)-c.mpos >= n {
			b := c.mem[c.mpos : c.mpos+n]
			c.mpos += n
			return b, nil
		}
		if c.src == nil {
			c.mpos = len(c.mem)
			return nil, errValueEnd
		}
		c.tmp = append(c.tmp[:0], c.mem[c.mpos:]...)
		k := len(c.mem) - c.mpos
		c.mpos = len(c.mem)
		b, err := c.src.next(n - k)
		if err != nil {
			return nil, err
		}
		c.tmp = append(c.tmp, b...)
		return c.tmp, nil
	}
	if c.src == nil {
		return nil, errValueEnd
	}
	if c.capture {
		if len(c.raw)+n > c.rawLimit {
			return nil, errOverLimit
		}
		b, err := c.src.next(n)
		if err != nil {
			return nil, err
		}
		c.raw = append(c.raw, b...)
		return b, nil
	}
	return c.src.next(n)
}

func (c *cursor) byte1() (byte, error) {
	b, err := c.next(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// skip consumes n bytes in pieces.
func (c *cursor) skip(n uint64) error {
	for n > 0 {
		k := uint64(pieceSize)
		if n < k {
			k = n
		}
		if _, err := c.next(int(k)); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// pieces consumes n bytes, handing them to fn in pieces of at most pieceSize.
func (c *cursor) pieces(n uint64, fn func([]byte) error) error {
	for n > 0 {
		k := uint64(pieceSize)
		if n < k {
			k = n
		}
		b, err := c.next(int(k))
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
