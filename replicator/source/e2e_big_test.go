package source

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

// heapWatcher is a Handler that reads the snapshot in small pieces and samples the
// heap while it does, to show that the link does not buffer the snapshot.
type heapWatcher struct {
	nopHandler
	bytes   atomic.Int64
	maxHeap atomic.Uint64
	done    chan struct{}
}

func (h *heapWatcher) FullSync(ctx context.Context, replID string, offset int64, rdb io.Reader, size int64) error {
	buf := make([]byte, 32<<10)
	var ms runtime.MemStats
	for i := 0; ; i++ {
		n, err := rdb.Read(buf)
		h.bytes.Add(int64(n))
		if i%256 == 0 {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.maxHeap.Load() {
				h.maxHeap.Store(ms.HeapAlloc)
			}
		}
		if errors.Is(err, io.EOF) {
			close(h.done)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestE2EBigSnapshot streams a snapshot of some 17 MB (DEBUG POPULATE) and checks that the heap stays
// far below its size.
func TestE2EBigSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("big snapshot")
	}
	srv := redistest.Start(t, redistest.Options{Config: []string{"enable-debug-command yes"}})
	ctx := context.Background()
	if err := srv.Client().Do(ctx, "DEBUG", "POPULATE", "500000", "key", "120").Err(); err != nil {
		t.Skipf("DEBUG POPULATE: %v", err)
	}
	runtime.GC()
	h := &heapWatcher{done: make(chan struct{})}
	l, err := NewLink(LinkConfig{Addr: srv.Addr(), Logger: testLogger(t)}, h)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	start := time.Now()
	go func() { errc <- l.Run(ctx) }()
	select {
	case <-h.done:
	case err := <-errc:
		t.Fatalf("Run: %v", err)
	case <-time.After(120 * time.Second):
		t.Fatalf("timeout, status %+v", l.Status())
	}
	took := time.Since(start)
	l.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	n := h.bytes.Load()
	t.Logf("snapshot %d MB in %v (%.0f MB/s), max heap %d MB", n>>20, took, float64(n)/(1<<20)/took.Seconds(), h.maxHeap.Load()>>20)
	if n < 10<<20 {
		t.Fatalf("snapshot only %d bytes", n)
	}
	if h.maxHeap.Load() > uint64(n/4) {
		t.Errorf("heap reached %d bytes for a %d-byte snapshot: is it buffered?", h.maxHeap.Load(), n)
	}
}
