package rdb

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

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
	p := make([]byte, 5000)
	for i := range p {
		p[i] = byte(i * 7)
	}
	for n := 0; n < len(p); n += 37 {
		if a, b := CRC64(5, p[:n]), crcBitwise(5, p[:n]); a != b {
			t.Fatalf("n=%d: %x != %x", n, a, b)
		}
	}
}

// TestCRC64Fold checks the folded path against the table at every length around
// its thresholds, at unaligned starts, with random and extreme contents.
func TestCRC64Fold(t *testing.T) {
	var x [16]byte
	if !crcFold(0, make([]byte, 64), &x) {
		t.Skip("no folding implementation on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096+16)
	for _, fill := range []string{"random", "zeros", "ones"} {
		t.Run(fill, func(t *testing.T) {
			for i := range buf {
				switch fill {
				case "random":
					buf[i] = byte(rng.Uint32())
				case "zeros":
					buf[i] = 0
				default:
					buf[i] = 0xff
				}
			}
			for n := 0; n <= 1100; n++ {
				for _, off := range []int{0, 1, 7} {
					p := buf[off : off+n]
					for _, crc := range []uint64{0, 1, ^uint64(0), rng.Uint64()} {
						if a, b := CRC64(crc, p), crcTable(crc, p); a != b {
							t.Fatalf("n=%d off=%d crc=%x: folded %x, table %x", n, off, crc, a, b)
						}
					}
				}
			}
			if a, b := CRC64(3, buf), crcTable(3, buf); a != b {
				t.Fatalf("n=%d: folded %x, table %x", len(buf), a, b)
			}
		})
	}
}

// FuzzCRC64 compares CRC64 with the table version; the split point checks that
// updating in two calls gives the same result as one.
func FuzzCRC64(f *testing.F) {
	f.Add(uint64(0), []byte("123456789"), 3)
	f.Add(uint64(1<<63), make([]byte, 200), 100)
	f.Add(^uint64(0), make([]byte, 1000), 129)
	f.Fuzz(func(t *testing.T, crc uint64, p []byte, split int) {
		want := crcTable(crc, p)
		if got := CRC64(crc, p); got != want {
			t.Fatalf("len %d: CRC64 %x, table %x", len(p), got, want)
		}
		if split < 0 || split > len(p) {
			return
		}
		if got := CRC64(CRC64(crc, p[:split]), p[split:]); got != want {
			t.Fatalf("len %d split %d: %x, table %x", len(p), split, got, want)
		}
	})
}

func BenchmarkCRC64(b *testing.B) {
	for _, n := range []int{64, 128, 512, 4096, 64 << 10} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i)
		}
		b.Run("fold/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				CRC64(0, p)
			}
		})
		b.Run("table/"+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				crcTable(0, p)
			}
		})
	}
}
