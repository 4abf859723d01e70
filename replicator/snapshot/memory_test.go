package snapshot

import (
	"bufio"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/xsync/xsync/replicator/rdb"
)

// TestConvertBoundedMemory streams a 3M-element hash through the decoder and
// the converter and checks the heap stays small and every command is bounded.
func TestConvertBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("3M-element key: skipped with -short")
	}
	const n = 3_000_000
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		w.WriteString("REDIS0009")
		w.WriteByte(rdb.TypeHash)
		w.Write(appendStr(nil, "bighash"))
		w.Write(appendLen(nil, n))
		var b []byte
		for i := 0; i < n; i++ {
			s := strconv.Itoa(i)
			b = appendStr(b[:0], "field-"+s)
			b = appendStr(b, "value-"+s)
			w.Write(b)
		}
		w.Write([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0})
		pw.CloseWithError(w.Flush())
	}()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := rdb.NewDecoder(pr, rdb.Options{})
	var peak uint64
	var ms runtime.MemStats
	calls, cmds := 0, 0
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		err = c.Convert(rec, 9, func(cmd []byte, k int) error {
			if len(cmd) > c.opts.MaxBytes {
				t.Fatalf("%d bytes in one emit", len(cmd))
			}
			cmds += k
			if calls++; true {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d-field hash: %d commands in %d emits, peak HeapInuse %.1f MiB", n, cmds, calls, float64(peak)/(1<<20))
	if want := 1 + n/DefaultMaxElements; cmds != want {
		t.Errorf("%d commands, want %d", cmds, want)
	}
	if peak > 64<<20 {
		t.Fatalf("peak HeapInuse %d bytes", peak)
	}
}
