package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Length encoding: the two high bits of the first byte say how it goes on.
const (
	len6     = 0    // 00xxxxxx: 6-bit length
	len14    = 1    // 01xxxxxx xxxxxxxx: 14-bit length, big-endian
	len32    = 0x80 // 10000000 + 4 bytes big-endian
	len64    = 0x81 // 10000001 + 8 bytes big-endian
	lenEnc   = 3    // 11xxxxxx: special string encoding in the low 6 bits
	encInt8  = 0    // string is an int8
	encInt16 = 1    // string is a little-endian int16
	encInt32 = 2    // string is a little-endian int32
	encLZF   = 3    // LZF: compressed length, plain length, data
)

// readLen reads a length; enc is set for a special string encoding (n is then
// the encoding).
func (d *Decoder) readLen() (n uint64, enc bool, err error) {
	c := &d.cur
	b, err := c.byte1()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case len6:
		return uint64(b & 0x3f), false, nil
	case len14:
		b2, err := c.byte1()
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3f)<<8 | uint64(b2), false, nil
	case lenEnc:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case len32:
		p, err := c.next(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case len64:
		p, err := c.next(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, fmt.Errorf("bad length byte 0x%02x", b)
}

// length reads a plain length.
func (d *Decoder) length() (uint64, error) {
	n, enc, err := d.readLen()
	if err == nil && enc {
		err = fmt.Errorf("string encoding %d where a length is expected", n)
	}
	return n, err
}

// count reads a plain length used as an element count and checks it against
// what fits in an int.
func (d *Decoder) count() (int, error) {
	n, err := d.length()
	if err == nil && n > math.MaxInt32*64 {
		err = fmt.Errorf("count %d is not plausible", n)
	}
	return int(n), err
}

func (d *Decoder) encInt(enc uint64) (int64, error) {
	switch enc {
	case encInt8:
		b, err := d.cur.byte1()
		return int64(int8(b)), err
	case encInt16:
		p, err := d.cur.next(2)
		if err != nil {
			return 0, err
		}
		return int64(int16(binary.LittleEndian.Uint16(p))), nil
	case encInt32:
		p, err := d.cur.next(4)
		if err != nil {
			return 0, err
		}
		return int64(int32(binary.LittleEndian.Uint32(p))), nil
	}
	return 0, fmt.Errorf("unknown string encoding %d", enc)
}

// lzfLens reads and checks the lengths of an LZF string.
func (d *Decoder) lzfLens() (clen, ulen uint64, err error) {
	if clen, err = d.length(); err != nil {
		return
	}
	if ulen, err = d.length(); err != nil {
		return
	}
	if clen == 0 || ulen > uint64(d.opts.MaxElement) || clen > ulen+ulen/16+64 {
		err = fmt.Errorf("bad LZF lengths %d/%d", clen, ulen)
	}
	return
}

// strPieces reads one string, handing its bytes to fn in pieces; integer
// encoded strings are formatted in decimal. isInt reports that case.
func (d *Decoder) strPieces(fn func([]byte) error) error {
	n, enc, err := d.readLen()
	if err != nil {
		return err
	}
	if !enc {
		if n > uint64(d.opts.MaxElement) {
			return fmt.Errorf("string of %d bytes is over the limit", n)
		}
		return d.cur.pieces(n, fn)
	}
	if n == encLZF {
		clen, ulen, err := d.lzfLens()
		if err != nil {
			return err
		}
		return d.lzf(clen, ulen, fn)
	}
	v, err := d.encInt(n)
	if err != nil {
		return err
	}
	return fn(strconv.AppendInt(d.num[:0], v, 10))
}

// str reads one string and appends it to dst.
func (d *Decoder) str(dst []byte) ([]byte, error) {
	n, enc, err := d.readLen()
	if err != nil {
		return dst, err
	}
	if !enc && n <= pieceSize {
		b, err := d.cur.next(int(n))
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	if !enc {
		if n > uint64(d.opts.MaxElement) {
			return dst, fmt.Errorf("string of %d bytes is over the limit", n)
		}
		err = d.cur.pieces(n, func(p []byte) error { dst = append(dst, p...); return nil })
		return dst, err
	}
	if n == encLZF {
		clen, ulen, err := d.lzfLens()
		if err != nil {
			return dst, err
		}
		err = d.lzf(clen, ulen, func(p []byte) error { dst = append(dst, p...); return nil })
		return dst, err
	}
	v, err := d.encInt(n)
	return strconv.AppendInt(dst, v, 10), err
}

// skipStr skips one string; for a plain string it returns its length and
// whether it was plain (so a caller capturing raw bytes can look at it).
func (d *Decoder) skipStr() (n uint64, plain bool, err error) {
	n, enc, err := d.readLen()
	if err != nil {
		return 0, false, err
	}
	if !enc {
		if n > uint64(d.opts.MaxElement) {
			return 0, false, fmt.Errorf("string of %d bytes is over the limit", n)
		}
		return n, true, d.cur.skip(n)
	}
	if n == encLZF {
		clen, _, err := d.lzfLens()
		if err != nil {
			return 0, false, err
		}
		return 0, false, d.cur.skip(clen)
	}
	_, err = d.encInt(n)
	return 0, false, err
}

// strDouble reads a score saved as text (ZSET): a length byte, 253 nan,
// 254 +inf, 255 -inf.
func (d *Decoder) strDouble() (float64, error) {
	l, err := d.cur.byte1()
	if err != nil {
		return 0, err
	}
	switch l {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	p, err := d.cur.next(int(l))
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil {
		return 0, fmt.Errorf("bad score %q", p)
	}
	return f, nil
}

func (d *Decoder) skipStrDouble() error {
	l, err := d.cur.byte1()
	if err != nil || l >= 253 {
		return err
	}
	_, err = d.cur.next(int(l))
	return err
}

// binDouble reads a little-endian float64 (ZSET_2).
func (d *Decoder) binDouble() (float64, error) {
	p, err := d.cur.next(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p)), nil
}

// u64le reads 8 bytes little-endian (millisecond times).
func (d *Decoder) u64le() (uint64, error) {
	p, err := d.cur.next(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}
