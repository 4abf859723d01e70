package rdb

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// FuzzWriteJSONSorted: for any input, WriteJSON with and without Sort fail
// together or write the same lines (in another order).
func FuzzWriteJSONSorted(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Add(bigListRDB(5))
	now := func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := Options{IgnoreChecksum: true, RawLimit: 1 << 16}
		var plain, sorted bytes.Buffer
		err1 := WriteJSON(&plain, bytes.NewReader(in), JSONOptions{Decoder: dec, Now: now})
		err2 := WriteJSON(&sorted, bytes.NewReader(in), JSONOptions{Decoder: dec, Now: now, Sort: true})
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("unsorted err %v, sorted err %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		a := bytes.Split(plain.Bytes(), []byte("\n"))
		b := bytes.Split(sorted.Bytes(), []byte("\n"))
		slices.SortFunc(a, bytes.Compare)
		slices.SortFunc(b, bytes.Compare)
		if !slices.EqualFunc(a, b, bytes.Equal) {
			t.Fatalf("sorted and unsorted outputs differ:\n%s\n---\n%s", plain.Bytes(), sorted.Bytes())
		}
	})
}
