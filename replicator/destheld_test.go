package replicator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
)

// heldTest is a source with a stream, its consumer group and one pending entry,
// synced to a destination cluster under --on-error stop, with a guard that looks
// rarely on its own: what the tests see comes from the look an error asks for.
func heldTest(t *testing.T) (src *redistest.Server, dst *redistest.Cluster, rr *running, id string) {
	t.Helper()
	ctx := context.Background()
	src = redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb"}})
	dst = redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	c := src.Client()
	id, err := c.XAdd(ctx, &redis.XAddArgs{Stream: "orders", Values: []string{"item", "a"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.XGroupCreate(ctx, "orders", "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "c1", Streams: []string{"orders", ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	rr = startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs(), GuardInterval: 10 * time.Second})
	waitCaughtUp(t, rr, 1, c)
	return src, dst, rr, id
}

// TestDestLossExplainsError: the destination is emptied by FLUSHALL and the
// next write (an XCLAIM of the pending entry) fails there with NOGROUP before
// the guard's periodic look. Under --on-error stop that error must not end the
// sync: the guard looks at once, finds the loss, and the heal re-applies the
// slot; the error is counted as explained.
func TestDestLossExplainsError(t *testing.T) {
	src, dst, rr, id := heldTest(t)
	ctx := context.Background()
	for _, m := range dst.Masters() {
		if err := m.Client().FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Client().XClaim(ctx, &redis.XClaimArgs{Stream: "orders", Group: "workers", Consumer: "c2", Messages: []string{id}}).Err(); err != nil {
		t.Fatal(err)
	}
	st := waitHealed(t, rr, 1, 1, src.Client())
	if st.DestLoss.ErrorsExplained < 1 {
		t.Errorf("ErrorsExplained = %d, want at least 1 (the NOGROUP of the XCLAIM)", st.DestLoss.ErrorsExplained)
	}
	if st.DestLoss.ErrorsHeld != 0 {
		t.Errorf("ErrorsHeld = %d after the heal, want 0", st.DestLoss.ErrorsHeld)
	}
	requireEqual(t, src.Client(), dst.Client())
	pending, err := dst.Client().XPending(ctx, "orders", "workers").Result()
	if err != nil || pending.Count != 1 || pending.Consumers["c2"] != 1 {
		t.Fatalf("destination's pending entries: %+v, %v; want one, owned by c2", pending, err)
	}
}

// TestDestErrorNotExplained: an error reply that no loss explains (a key of
// another type written on the destination by someone else) still ends the sync
// under --on-error stop, once the guard has looked and found nothing, with a
// message that names the key and says what to do.
func TestDestErrorNotExplained(t *testing.T) {
	src, dst, rr, _ := heldTest(t)
	ctx := context.Background()
	if err := dst.Client().Set(ctx, "queue", "not a list", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Client().RPush(ctx, "queue", "job1").Err(); err != nil {
		t.Fatal(err)
	}
	err := runError(t, rr, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !strings.Contains(err.Error(), `"queue"`) ||
		!strings.Contains(err.Error(), "no data loss") {
		t.Fatalf("Run returned %v; want the WRONGTYPE on \"queue\", saying no data loss explains it", err)
	}
	t.Logf("stopped: %v", err)
}
