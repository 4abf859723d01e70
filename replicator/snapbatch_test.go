package replicator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// TestBatchKeptWhenStopped: a shard stopped (its context cancelled: a source
// failover, a heal of destination loss) while its batch of stream ops waits
// for room in the applier's window keeps the batch; the next flush sends it.
// The link already counts those commands as handled: dropping them lost them.
func TestBatchKeptWhenStopped(t *testing.T) {
	dst := redistest.Start(t, redistest.Options{})
	r, err := New(Config{SourceSeeds: []string{"127.0.0.1:1"}, TargetSeeds: []string{dst.Addr()},
		Apply: apply.Config{MaxPendingOps: 1}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.applier.Run(ctx) //nolint:errcheck // stops with ctx
	if err := r.applier.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	sh, err := newShard(r, source.ShardInfo{Index: 0, Standalone: true, Ranges: []slots.Range{{Start: 0, End: slots.NumSlots - 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// The window (one op) is taken by a write the paused destination holds.
	if err := dst.Client().Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	set := func(k string) apply.Op {
		return apply.Op{Source: 0, Slot: slots.SlotString(k), Cmd: resp.AppendCommandString(nil, "SET", k, "v"), N: 1, Offset: 10}
	}
	if err := r.applier.Submit(ctx, set("first")); err != nil {
		t.Fatal(err)
	}
	if err := sh.submitStream(ctx, set("batched"), 0, 0); err != nil {
		t.Fatal(err)
	}
	stopped, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if err := sh.flushSnap(stopped); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush with a full window and a stopped context: %v", err)
	}
	if err := dst.Client().Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := sh.flushSnap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.applier.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := dst.Client().Exists(ctx, "first", "batched").Val(); n != 2 {
		t.Fatalf("%d of the 2 keys written: the batched op was dropped", n)
	}
}
