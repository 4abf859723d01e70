package rdb

import (
	"encoding/binary"
	"fmt"
)

// Intset: <encoding u32le: 2, 4 or 8> <length u32le> <length integers of that
// size, little-endian, sorted>.
type intsetIter struct {
	b    []byte
	enc  int
	i, n int
}

func newIntset(b []byte) (intsetIter, error) {
	if len(b) < 8 {
		return intsetIter{}, fmt.Errorf("intset of %d bytes is too short", len(b))
	}
	enc := binary.LittleEndian.Uint32(b)
	n := binary.LittleEndian.Uint32(b[4:])
	if enc != 2 && enc != 4 && enc != 8 {
		return intsetIter{}, fmt.Errorf("bad intset encoding %d", enc)
	}
	if uint64(len(b)) != 8+uint64(enc)*uint64(n) {
		return intsetIter{}, fmt.Errorf("intset of %d %d-byte integers in %d bytes", n, enc, len(b))
	}
	return intsetIter{b: b[8:], enc: int(enc), n: int(n)}, nil
}

func (it *intsetIter) next() (int64, bool) {
	if it.i >= it.n {
		return 0, false
	}
	p := it.b[it.i*it.enc:]
	it.i++
	switch it.enc {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(p))), true
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(p))), true
	}
	return int64(binary.LittleEndian.Uint64(p)), true
}
