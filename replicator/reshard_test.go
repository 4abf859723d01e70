package replicator

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/tests/loadgen"
)

// TestSourceReshardDuringSync moves thousands of slots between source masters
// while xsync streams and the application writes: each moved key arrives as
// RESTORE-ASKING in the new owner's stream and as DEL in the old owner's, applied
// in parallel; no key may be lost (a late DEL) and no RESTORE may fail (BUSYKEY).
func TestSourceReshardDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 3000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: src.Addrs()[:1], TargetSeeds: dst.Addrs()})
	var masters []*redis.Client
	for _, m := range src.Masters() {
		masters = append(masters, m.Client())
	}
	waitCaughtUp(t, rr, 3, masters...)

	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		loadgen.Run(wctx, src.Client(), loadgen.WorkOptions{Clients: 2, Rate: 1500, NonIdempotentOnly: true})
	}()
	ms := src.Masters()
	if err := src.Reshard(ctx, ms[0], ms[1], 2000); err != nil {
		t.Fatalf("reshard: %v", err)
	}
	if err := src.Reshard(ctx, ms[2], ms[0], 1000); err != nil {
		t.Fatalf("reshard: %v", err)
	}
	time.Sleep(time.Second)
	wcancel()
	<-wdone
	waitCaughtUp(t, rr, 3, masters...)
	requireEqual(t, src.Client(), dst.Client())
	if st := rr.r.Status(); st.Errors != 0 {
		t.Errorf("%d errors counted", st.Errors)
	}
}
