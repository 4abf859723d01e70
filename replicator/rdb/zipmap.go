package rdb

import (
	"encoding/binary"
	"fmt"
)

// Zipmap (hashes before Redis 2.6):
//
//	<zmlen u8> (<len> <key> <len> <free u8> <value> <free bytes>)... <0xFF>
//
// len is one byte below 254, or 254 followed by a u32le.
type zmIter struct {
	b []byte
	p int
}

func newZM(b []byte) (zmIter, error) {
	if len(b) < 2 || b[len(b)-1] != 0xFF {
		return zmIter{}, fmt.Errorf("zipmap not terminated")
	}
	return zmIter{b: b, p: 1}, nil
}

var errZMShort = fmt.Errorf("zipmap entry past the end of the blob")

func (it *zmIter) zmLen() (int, error) {
	b := it.b
	if it.p >= len(b) {
		return 0, errZMShort
	}
	c := b[it.p]
	if c < 254 {
		it.p++
		return int(c), nil
	}
	if c == 255 {
		return -1, nil
	}
	if it.p+5 > len(b) {
		return 0, errZMShort
	}
	l := binary.LittleEndian.Uint32(b[it.p+1:])
	it.p += 5
	if int64(l) > int64(len(b)) {
		return 0, errZMShort
	}
	return int(l), nil
}

// next returns the next field and value; ok is false at the end.
func (it *zmIter) next() (field, value []byte, ok bool, err error) {
	kl, err := it.zmLen()
	if err != nil {
		return nil, nil, false, err
	}
	if kl < 0 {
		if it.p != len(it.b)-1 {
			return nil, nil, false, fmt.Errorf("zipmap terminator inside the blob")
		}
		return nil, nil, false, nil
	}
	if it.p+kl > len(it.b) {
		return nil, nil, false, errZMShort
	}
	field = it.b[it.p : it.p+kl]
	it.p += kl
	vl, err := it.zmLen()
	if err != nil || vl < 0 {
		return nil, nil, false, errZMShort
	}
	if it.p >= len(it.b) {
		return nil, nil, false, errZMShort
	}
	free := int(it.b[it.p])
	it.p++
	if it.p+vl+free > len(it.b)-1 {
		return nil, nil, false, errZMShort
	}
	value = it.b[it.p : it.p+vl]
	it.p += vl + free
	return field, value, true, nil
}
