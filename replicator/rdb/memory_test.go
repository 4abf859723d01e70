package rdb

import (
	"encoding/binary"
	"io"
	"math"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// genBig writes an RDB with one list, set, hash and sorted set of n elements
// each to w, batching writes and keeping the CRC64.
func genBig(w io.Writer, n int) error {
	var crc uint64
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		crc = CRC64(crc, buf)
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	elem := func(prefix string, i int) {
		var tmp [32]byte
		e := strconv.AppendInt(append(tmp[:0], prefix...), int64(i), 10)
		buf = appendStr(buf, e)
	}
	buf = append(buf, "REDIS0009"...)
	for _, t := range []byte{TypeList, TypeSet, TypeHash, TypeZSet2} {
		buf = append(buf, t)
		buf = appendStr(buf, []byte("big:"+strconv.Itoa(int(t))))
		buf = appendLen(buf, uint64(n))
		for i := 0; i < n; i++ {
			elem("element-", i)
			switch t {
			case TypeHash:
				elem("value-", i)
			case TypeZSet2:
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(i)))
			}
			if len(buf) > 60<<10 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	buf = append(buf, opEOF)
	if err := flush(); err != nil {
		return err
	}
	buf = binary.LittleEndian.AppendUint64(buf, crc)
	_, err := w.Write(buf)
	return err
}

func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("10M-element keys: skipped with -short")
	}
	const n = 10_000_000
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(genBig(pw, n)) }()
	defer pr.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	sample := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak {
			peak = ms.HeapInuse
		}
	}
	start := time.Now()
	d := NewDecoder(pr, Options{})
	keys, elems, chunks := 0, 0, 0
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys++
		if rec.Raw != nil {
			t.Fatalf("%s: a 10M-element value was held whole", rec.Key)
		}
		err = rec.Elements(func(c *Chunk) error {
			elems += c.Len()
			if chunks++; chunks%512 == 0 {
				sample()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sample()
	if keys != 4 || elems != 4*n {
		t.Fatalf("%d keys, %d elements", keys, elems)
	}
	t.Logf("4 keys of %d elements, %d bytes in %v: peak HeapInuse %.1f MiB (%.1f MiB at start)",
		n, d.Offset(), time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), float64(base)/(1<<20))
	if peak > 64<<20 {
		t.Fatalf("peak HeapInuse %d bytes, over 64 MiB", peak)
	}
}
