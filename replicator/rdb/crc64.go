package rdb

// crc64 is the CRC-64 variant Redis uses for RDB files and DUMP payloads
// ("Jones": polynomial 0xad93d23594c935a9, reflected, init 0, no final xor;
// check value of "123456789" is 0xe9c6d914c4b8d9ca). Inputs of crcFoldMin bytes
// or more are folded with carry-less multiplication where the CPU has it
// (crc64_amd64.go: PCLMULQDQ); the rest, and every input on other CPUs, goes
// through a slicing-by-8 table.

const crcPolyJones = 0x95ac9329ac4bc9b5 // 0xad93d23594c935a9 bit-reversed

// crcFoldMin is the shortest input worth folding (below it the table is as fast;
// BenchmarkCRC64).
const crcFoldMin = 128

// crcTab is an immutable table built once at package init.
var crcTab = makeCRCTab()

func makeCRCTab() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := 0; i < 256; i++ {
		c := uint64(i)
		for j := 0; j < 8; j++ {
			if c&1 == 1 {
				c = c>>1 ^ crcPolyJones
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := 0; i < 256; i++ {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// CRC64 returns crc updated with p, as Redis's crc64(crc, p, len).
func CRC64(crc uint64, p []byte) uint64 {
	if len(p) >= crcFoldMin {
		n := len(p) &^ 15
		var x [16]byte
		if crcFold(crc, p[:n], &x) {
			// The folded 16 bytes stand for p[:n] (with crc): the same remainder.
			return crcTable(crcTable(0, x[:]), p[n:])
		}
	}
	return crcTable(crc, p)
}

// crcTable is CRC64 computed slicing-by-8.
func crcTable(crc uint64, p []byte) uint64 {
	t := crcTab
	for len(p) >= 8 {
		crc ^= uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// crcXPow returns x^n mod P in the reflected representation (the coefficient of
// x^(63-i) in bit i), the form the folding constants take.
func crcXPow(n int) uint64 {
	r := uint64(1) << 63 // x^0
	for range n {
		if r&1 == 1 { // x^63 times x is x^64, which is P without its top term
			r = r>>1 ^ crcPolyJones
		} else {
			r >>= 1
		}
	}
	return r
}

// crcFoldKeys are the constants of the folding loops: a 128-bit block B = H·x^64 +
// L moved forward by d bits is H·(x^(64+d) mod P) + L·(x^d mod P). Each is one
// power lower than that, because the carry-less product of two reflected 64-bit
// values comes out one bit short of the reflected 128-bit product.
type crcFoldKeys struct {
	by4 [2]uint64 // d = 512: four blocks at a time
	by1 [2]uint64 // d = 128: one block
}

func makeCRCFoldKeys() *crcFoldKeys {
	return &crcFoldKeys{
		by4: [2]uint64{crcXPow(64 + 512 - 1), crcXPow(512 - 1)},
		by1: [2]uint64{crcXPow(64 + 128 - 1), crcXPow(128 - 1)},
	}
}
