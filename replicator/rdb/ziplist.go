package rdb

import (
	"encoding/binary"
	"fmt"
)

// Ziplist (small encodings before 7.0, quicklist nodes 3.2-6.2):
//
//	<zlbytes u32le> <zltail u32le> <zllen u16le (65535: unknown)> <entry>... <0xFF>
//
// entry = <prevlen: 1 byte, or 0xFE + u32le> <encoding> <data>. Encodings:
//
//	00pppppp                  string, 6-bit length
//	01pppppp qqqqqqqq         string, 14-bit big-endian length
//	10000000 <u32be>          string, 32-bit length
//	11000000 / 11010000 / 11100000  int16 / int32 / int64 (little-endian)
//	11110000 / 11111110       int24 / int8
//	1111xxxx (0001..1101)     immediate 0..12 (xxxx - 1)
type zlIter struct {
	b       []byte
	p       int
	n, seen int
	prev    int // length of the previous entry
}

func newZL(b []byte) (zlIter, error) {
	if len(b) < 11 {
		return zlIter{}, fmt.Errorf("ziplist of %d bytes is too short", len(b))
	}
	if tot := binary.LittleEndian.Uint32(b); int64(tot) != int64(len(b)) {
		return zlIter{}, fmt.Errorf("ziplist header says %d bytes, blob has %d", tot, len(b))
	}
	if b[len(b)-1] != 0xFF {
		return zlIter{}, fmt.Errorf("ziplist not terminated")
	}
	return zlIter{b: b, p: 10, n: int(binary.LittleEndian.Uint16(b[8:]))}, nil
}

var errZLShort = fmt.Errorf("ziplist entry past the end of the blob")

func (it *zlIter) next() (e elem, ok bool, err error) {
	b, p := it.b, it.p
	end := len(b) - 1
	if p > end {
		return e, false, errZLShort
	}
	if b[p] == 0xFF {
		if p != end {
			return e, false, fmt.Errorf("ziplist terminator inside the blob")
		}
		if it.n != 65535 && it.n != it.seen {
			return e, false, fmt.Errorf("ziplist holds %d elements, header says %d", it.seen, it.n)
		}
		return e, false, nil
	}
	start := p
	prevlen := int(b[p])
	p++
	if prevlen == 0xFE {
		if p+4 > end {
			return e, false, errZLShort
		}
		prevlen = int(binary.LittleEndian.Uint32(b[p:]))
		p += 4
	}
	if prevlen != it.prev {
		return e, false, fmt.Errorf("ziplist prevlen %d, previous entry has %d bytes", prevlen, it.prev)
	}
	if p >= end {
		return e, false, errZLShort
	}
	c := b[p]
	p++
	dlen := 0
	switch c >> 6 {
	case 0:
		dlen = int(c & 0x3f)
	case 1:
		if p >= end {
			return e, false, errZLShort
		}
		dlen = int(c&0x3f)<<8 | int(b[p])
		p++
	case 2:
		if c != 0x80 || p+4 > end {
			return e, false, fmt.Errorf("bad ziplist string encoding 0x%02x", c)
		}
		l := binary.BigEndian.Uint32(b[p:])
		if int64(l) > int64(end) {
			return e, false, errZLShort
		}
		dlen = int(l)
		p += 4
	default:
		n := 0
		switch c {
		case 0xC0:
			n = 2
		case 0xD0:
			n = 4
		case 0xE0:
			n = 8
		case 0xF0:
			n = 3
		case 0xFE:
			n = 1
		default:
			if c >= 0xF1 && c <= 0xFD {
				e.v, e.isInt = int64(c&0x0f)-1, true
			} else {
				return e, false, fmt.Errorf("bad ziplist encoding 0x%02x", c)
			}
		}
		if n > 0 {
			if p+n > end {
				return e, false, errZLShort
			}
			var u uint64
			for i := n - 1; i >= 0; i-- {
				u = u<<8 | uint64(b[p+i])
			}
			shift := uint(64 - 8*n)
			e.v, e.isInt = int64(u<<shift)>>shift, true
			p += n
		}
	}
	if !e.isInt {
		if p+dlen > end {
			return e, false, errZLShort
		}
		e.s = b[p : p+dlen]
		p += dlen
	}
	it.prev = p - start
	it.p = p
	it.seen++
	return e, true, nil
}

func (it *zlIter) must() (elem, error) {
	e, ok, err := it.next()
	if err == nil && !ok {
		err = fmt.Errorf("ziplist ends early")
	}
	return e, err
}

// blobIter walks a ziplist or a listpack.
type blobIter struct {
	zl   zlIter
	lp   lpIter
	isLP bool
}

func newBlobIter(b []byte, isLP bool) (blobIter, error) {
	var it blobIter
	var err error
	it.isLP = isLP
	if isLP {
		it.lp, err = newLP(b)
	} else {
		it.zl, err = newZL(b)
	}
	return it, err
}

func (it *blobIter) next() (elem, bool, error) {
	if it.isLP {
		return it.lp.next()
	}
	return it.zl.next()
}

func (it *blobIter) must() (elem, error) {
	if it.isLP {
		return it.lp.must()
	}
	return it.zl.must()
}
