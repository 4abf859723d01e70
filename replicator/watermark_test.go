package replicator

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

// TestWatermarkUnderLoad checks that a shard's watermark keeps up while writes
// never stop: slots that see only assignments (plain SETs, sent without a
// checkpoint) rely on it for a recent resume point. Under a steady load the
// newest handled offset is never fully applied at the moment of a tick; the
// watermark must still move.
func TestWatermarkUnderLoad(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()})
	waitCaughtUp(t, rr, 1, src.Client())

	// Pipelined SETs from 4 writers, without a pause, for 9 s.
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := src.Client()
			for i := 0; wctx.Err() == nil; i++ {
				p := c.Pipeline()
				for j := range 50 {
					p.Set(wctx, "k:"+strconv.Itoa(w)+":"+strconv.Itoa((i*50+j)%5000), i, 0)
				}
				p.Exec(wctx) //nolint:errcheck // stops with the context
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(2 * time.Second)
	// What xsync had applied then (under -race it may trail the source).
	mark := rr.r.Status().Shards[0].AppliedOffset
	time.Sleep(7 * time.Second) // three ticks of 2 s and some
	if n := rr.r.Status().Shards[0].OpsWithoutCheckpoint; n == 0 {
		t.Fatal("no SET went without a checkpoint")
	}
	v, err := dst.Client().Get(ctx, string(wmKey("__xsync:", 0))).Result()
	if err != nil {
		t.Fatalf("reading the watermark: %v", err)
	}
	wm, err := parseWatermark([]byte(v))
	if err != nil {
		t.Fatal(err)
	}
	if wm.offset < mark {
		t.Errorf("watermark at offset %d after 7 s of steady load, want >= %d (the offset applied 7 s earlier)", wm.offset, mark)
	}
	t.Logf("watermark %d, applied offset 7 s earlier %d", wm.offset, mark)
}
