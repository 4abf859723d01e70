package replicator

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/tests/loadgen"
)

// TestScanModeMeasure measures scan mode against the PSYNC path on the same
// data (XSYNC_SCAN_MEASURE=1; keys from XSYNC_SCAN_KEYS, default 100000): the
// full copy in keys/s, and the convergence after writes stop at 1k and 10k
// writes/s. Figures only, logged; it asserts equality, not times.
func TestScanModeMeasure(t *testing.T) {
	if os.Getenv("XSYNC_SCAN_MEASURE") == "" {
		t.Skip("set XSYNC_SCAN_MEASURE=1 to measure scan mode against PSYNC")
	}
	keys := 100000
	if v, err := strconv.Atoi(os.Getenv("XSYNC_SCAN_KEYS")); err == nil && v > 0 {
		keys = v
	}
	ctx := context.Background()
	src := redistest.Start(t, redistest.Options{Config: scanNotify})
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: keys}); err != nil {
		t.Fatal(err)
	}
	n := src.Client().DBSize(ctx).Val()
	for _, mode := range []SourceMode{SourceModePSYNC, SourceModeScan} {
		dst := redistest.Start(t, redistest.Options{})
		start := time.Now()
		rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, SourceMode: mode, NoCheckpoints: true})
		deadline := time.Now().Add(5 * time.Minute)
		for dst.Client().DBSize(ctx).Val() < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		d := time.Since(start)
		t.Logf("%s: full copy of %d keys in %v: %.0f keys/s", mode, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
		rr.halt(t)
	}
	for _, rate := range []int{1000, 10000, 0} { // 0: as fast as the writers go
		dst := redistest.Start(t, redistest.Options{})
		rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, SourceMode: SourceModeScan})
		waitScan(t, rr, 5*time.Minute, func(Status) bool { return rr.r.ScanIdle(ctx) })
		lctx, stop := context.WithTimeout(ctx, 3*time.Second)
		var wg sync.WaitGroup
		var ops int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := loadgen.Run(lctx, src.Client(), loadgen.WorkOptions{Clients: max(16, rate/200), Rate: rate, CrossSlot: true, NoScripts: true, Skip: scanUnseen})
			if st != nil {
				ops = st.Ops.Load()
			}
		}()
		wg.Wait()
		stop()
		stopped := time.Now()
		waitScan(t, rr, time.Minute, func(Status) bool { return rr.r.ScanIdle(ctx) })
		conv := time.Since(stopped)
		st := rr.r.Status()
		requireEqual(t, src.Client(), dst.Client())
		t.Logf("scan: %d writes/s asked, %.0f done (%d ops in 3s): converged %v after the writes stopped; copies %d, notifications %d",
			rate, float64(ops)/3, ops, conv.Round(time.Millisecond), st.Scan.Copies, st.Scan.Notifications)
		rr.halt(t)
	}
}
