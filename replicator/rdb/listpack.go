package rdb

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// elem is one element of an encoded blob (listpack, ziplist, intset, zipmap):
// either bytes (s, pointing into the blob) or an integer.
type elem struct {
	s     []byte
	v     int64
	isInt bool
}

// appendTo appends the element's bytes (integers in decimal) to dst.
func (e elem) appendTo(dst []byte) []byte {
	if e.isInt {
		return strconv.AppendInt(dst, e.v, 10)
	}
	return append(dst, e.s...)
}

// integer returns the element as an integer (strings are parsed).
func (e elem) integer() (int64, error) {
	if e.isInt {
		return e.v, nil
	}
	v, err := strconv.ParseInt(string(e.s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("listpack element %q is not an integer", e.s)
	}
	return v, nil
}

// float returns the element as a float64 (zset scores in ziplists/listpacks).
func (e elem) float() (float64, error) {
	if e.isInt {
		return float64(e.v), nil
	}
	f, err := strconv.ParseFloat(string(e.s), 64)
	if err != nil {
		return 0, fmt.Errorf("bad score %q", e.s)
	}
	return f, nil
}

// Listpack (Redis 7.0+ small encodings, stream nodes):
//
//	<total-bytes u32le> <num-elements u16le (65535: unknown)> <entry>... <0xFF>
//
// entry = <encoding+data> <backlen>, where backlen (1-5 bytes, 7 bits each)
// holds the length of encoding+data. Encodings:
//
//	0xxxxxxx                 7-bit unsigned int
//	10xxxxxx <data>          string, 6-bit length
//	110xxxxx yyyyyyyy        13-bit signed int
//	1110xxxx yyyyyyyy <data> string, 12-bit length
//	11110000 <u32le> <data>  string, 32-bit length
//	11110001..11110100       int16, int24, int32, int64 (little-endian)
type lpIter struct {
	b    []byte
	p    int
	n    int // declared count; 65535 unknown
	seen int
}

func newLP(b []byte) (lpIter, error) {
	if len(b) < 7 {
		return lpIter{}, fmt.Errorf("listpack of %d bytes is too short", len(b))
	}
	if tot := binary.LittleEndian.Uint32(b); int64(tot) != int64(len(b)) {
		return lpIter{}, fmt.Errorf("listpack header says %d bytes, blob has %d", tot, len(b))
	}
	if b[len(b)-1] != 0xFF {
		return lpIter{}, fmt.Errorf("listpack not terminated")
	}
	return lpIter{b: b, p: 6, n: int(binary.LittleEndian.Uint16(b[4:]))}, nil
}

func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

var errLPShort = fmt.Errorf("listpack entry past the end of the blob")

// next returns the next element; ok is false at the end.
func (it *lpIter) next() (e elem, ok bool, err error) {
	b, p := it.b, it.p
	end := len(b) - 1 // index of the terminator
	if p > end {
		return e, false, errLPShort
	}
	c := b[p]
	if c == 0xFF {
		if p != end {
			return e, false, fmt.Errorf("listpack terminator inside the blob")
		}
		if it.n != 65535 && it.n != it.seen {
			return e, false, fmt.Errorf("listpack holds %d elements, header says %d", it.seen, it.n)
		}
		return e, false, nil
	}
	hdr, dlen := 1, 0
	switch {
	case c&0x80 == 0:
		e.v, e.isInt = int64(c), true
	case c&0xC0 == 0x80:
		dlen = int(c & 0x3f)
	case c&0xE0 == 0xC0:
		if p+2 > end {
			return e, false, errLPShort
		}
		v := int64(c&0x1f)<<8 | int64(b[p+1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		e.v, e.isInt, hdr = v, true, 2
	case c&0xF0 == 0xE0:
		if p+2 > end {
			return e, false, errLPShort
		}
		dlen, hdr = int(c&0x0f)<<8|int(b[p+1]), 2
	case c == 0xF0:
		if p+5 > end {
			return e, false, errLPShort
		}
		l := binary.LittleEndian.Uint32(b[p+1:])
		if int64(l) > int64(end) {
			return e, false, errLPShort
		}
		dlen, hdr = int(l), 5
	case c >= 0xF1 && c <= 0xF4:
		n := [...]int{2, 3, 4, 8}[c-0xF1]
		if p+1+n > end {
			return e, false, errLPShort
		}
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[p+1+i])
		}
		shift := uint(64 - 8*n)
		e.v, e.isInt, hdr = int64(u<<shift)>>shift, true, 1+n
	default:
		return e, false, fmt.Errorf("bad listpack encoding byte 0x%02x", c)
	}
	if !e.isInt {
		if p+hdr+dlen > end {
			return e, false, errLPShort
		}
		e.s = b[p+hdr : p+hdr+dlen]
	}
	l := hdr + dlen
	bl := lpBacklenSize(l)
	q := p + l
	if q+bl > end {
		return e, false, errLPShort
	}
	v := 0
	for i := 0; i < bl; i++ {
		v = v<<7 | int(b[q+i]&127)
	}
	if v != l {
		return e, false, fmt.Errorf("listpack backlen %d does not match entry length %d", v, l)
	}
	it.p = q + bl
	it.seen++
	return e, true, nil
}

// must returns the next element, failing at the end.
func (it *lpIter) must() (elem, error) {
	e, ok, err := it.next()
	if err == nil && !ok {
		err = fmt.Errorf("listpack ends early")
	}
	return e, err
}
