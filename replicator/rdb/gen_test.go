package rdb

import (
	"encoding/binary"
	"io"
	"math"
	"strconv"
)

// rdbWriter writes RDB files for tests, keeping the running CRC64.
type rdbWriter struct {
	w   io.Writer
	crc uint64
	err error
	buf []byte
}

func newRDBWriter(w io.Writer, version int) *rdbWriter {
	rw := &rdbWriter{w: w}
	rw.raw([]byte("REDIS" + pad4(version)))
	return rw
}

func pad4(v int) string {
	s := strconv.Itoa(v)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

func (rw *rdbWriter) raw(p []byte) {
	if rw.err != nil {
		return
	}
	rw.crc = CRC64(rw.crc, p)
	_, rw.err = rw.w.Write(p)
}

func (rw *rdbWriter) byte1(b byte) { rw.raw([]byte{b}) }

func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}

func appendStr(b []byte, s []byte) []byte {
	return append(appendLen(b, uint64(len(s))), s...)
}

func (rw *rdbWriter) len(n uint64)  { rw.buf = appendLen(rw.buf[:0], n); rw.raw(rw.buf) }
func (rw *rdbWriter) str(s []byte)  { rw.buf = appendStr(rw.buf[:0], s); rw.raw(rw.buf) }
func (rw *rdbWriter) strS(s string) { rw.str([]byte(s)) }

func (rw *rdbWriter) u64le(v uint64) {
	rw.buf = binary.LittleEndian.AppendUint64(rw.buf[:0], v)
	rw.raw(rw.buf)
}

// end writes the EOF opcode and the checksum.
func (rw *rdbWriter) end() error {
	rw.byte1(opEOF)
	sum := rw.crc
	rw.u64le(sum)
	return rw.err
}

// lpAppend appends listpack entries for the given strings (string encodings only).
func buildListpack(elems ...[]byte) []byte {
	b := []byte{0, 0, 0, 0, 0, 0}
	for _, e := range elems {
		start := len(b)
		switch {
		case len(e) < 64:
			b = append(b, 0x80|byte(len(e)))
		case len(e) < 4096:
			b = append(b, 0xE0|byte(len(e)>>8), byte(len(e)))
		default:
			b = binary.LittleEndian.AppendUint32(append(b, 0xF0), uint32(len(e)))
		}
		b = append(b, e...)
		l := len(b) - start
		bl := lpBacklenSize(l)
		for i := 0; i < bl; i++ {
			c := byte(l >> (7 * (bl - 1 - i)) & 127)
			if i > 0 {
				c |= 128
			}
			b = append(b, c)
		}
	}
	b = append(b, 0xFF)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	n := len(elems)
	if n > 65534 {
		n = 65535
	}
	binary.LittleEndian.PutUint16(b[4:], uint16(n))
	return b
}

// lzfLiteral "compresses" p with literal runs only plus one back reference
// when p starts with a repeated byte, which is valid LZF.
func lzfCompress(p []byte) []byte {
	var out []byte
	i := 0
	for i < len(p) {
		// back reference to the previous byte when a run of >= 3 equal bytes follows
		if i > 0 {
			run := 0
			for i+run < len(p) && p[i+run] == p[i-1] && run < 264 {
				run++
			}
			if run >= 3 {
				l := run - 2
				if l < 7 {
					out = append(out, byte(l<<5), 0)
				} else {
					out = append(out, 7<<5, byte(l-7), 0)
				}
				i += run
				continue
			}
		}
		n := len(p) - i
		if n > 32 {
			n = 32
		}
		// stop the literal before a run
		for k := 1; k < n; k++ {
			if i+k+2 < len(p) && p[i+k] == p[i+k-1] && p[i+k+1] == p[i+k-1] && p[i+k+2] == p[i+k-1] {
				n = k
				break
			}
		}
		out = append(out, byte(n-1))
		out = append(out, p[i:i+n]...)
		i += n
	}
	return out
}

// appendLZFStr appends p as an LZF-encoded RDB string.
func appendLZFStr(b, p []byte) []byte {
	c := lzfCompress(p)
	b = append(b, 0xC3)
	b = appendLen(b, uint64(len(c)))
	b = appendLen(b, uint64(len(p)))
	return append(b, c...)
}
