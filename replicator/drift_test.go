package replicator

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/tests/loadgen"
)

// manifestVerifyRate is the --verify-rate of the k8s manifests (deploy/k8s).
const manifestVerifyRate = 20

// TestDriftDetected: keys deleted on the destination behind xsync's back (no
// restart, no FLUSHALL: nothing the destination guard sees) show up as drift
// at the manifests' verify rate, on a key set that lost 1% of its keys: 10k
// keys, or 100k with XSYNC_BIG=1 (the sampling finds a lost key at the same
// rate: it depends on the share lost, not on the size).
func TestDriftDetected(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	keys := 10000
	if os.Getenv("XSYNC_BIG") == "1" {
		keys = 100000
	}
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: keys, TTLPct: 1}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs(),
		VerifyRate: manifestVerifyRate, VerifySource: src.Client(), VerifyTarget: dst.Client()})
	waitStreaming(t, rr, 120*time.Second, 1, src.Client())
	// Writes in flight are not drift: a load while sampling finds none.
	stop := background(t, src, loadgen.WorkOptions{Prefix: "d:", Clients: 2, Rate: 500})
	waitDrift(t, rr, func(d DriftStatus) bool { return d.Checked >= 3*manifestVerifyRate })
	stop()
	if d := rr.r.Status().Drift; d.Keys != 0 {
		t.Fatalf("drift under a plain load: %+v", d)
	}

	gone := deleteSome(t, dst.Client(), keys/100)
	lost := time.Now()
	checked := rr.r.Status().Drift.Checked
	d := waitDrift(t, rr, func(d DriftStatus) bool { return d.Keys > 0 })
	took := time.Since(lost)
	t.Logf("%d of %d keys deleted on the destination: drift seen after %v (%d keys compared since): %+v",
		len(gone), keys, took.Round(time.Millisecond), d.Checked-checked, d)
	for _, k := range d.Sample {
		if !slices.Contains(gone, k) {
			t.Errorf("drift names %q, which was not deleted", k)
		}
	}
}

// deleteSome deletes n keys of the destination (not xsync's own) and returns them.
func deleteSome(t *testing.T, c *redis.ClusterClient, n int) []string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex // ForEachMaster runs the masters in parallel
	var keys []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		iter := m.Scan(ctx, 0, "*:d:*", 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			full := len(keys) >= n
			if !full {
				keys = append(keys, iter.Val())
			}
			mu.Unlock()
			if full {
				break
			}
		}
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := c.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// waitDrift waits up to 90 s for the drift status to satisfy ok.
func waitDrift(t *testing.T, rr *running, ok func(DriftStatus) bool) DriftStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		d := rr.r.Status().Drift
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("drift status not reached in 90s: %+v", d)
		}
		select {
		case err := <-rr.done:
			rr.done = nil
			t.Fatalf("replicator stopped: %v", err)
		case <-tick.C:
		}
	}
}
