package rdb

import "testing"

func crcBitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for i := 0; i < 8; i++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ crcPolyJones
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func TestCRC64(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("CRC64(123456789) = %x", got)
	}
	p := make([]byte, 1000)
	for i := range p {
		p[i] = byte(i * 7)
	}
	for n := 0; n < len(p); n += 37 {
		if a, b := CRC64(5, p[:n]), crcBitwise(5, p[:n]); a != b {
			t.Fatalf("n=%d: %x != %x", n, a, b)
		}
	}
}
