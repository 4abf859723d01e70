package apply

import (
	"context"
	"errors"
	"testing"
)

// TestBarrierCancelled: a barrier whose Submit is cancelled while it runs (its
// link stopped: a source failover, or a Replicator healing a destination loss)
// must not stay in its source's order: a later Flush returns, and later ops of
// the source are acknowledged. Its offset is not counted as applied.
func TestBarrierCancelled(t *testing.T) {
	c := newFakeCluster(t, 3)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	submit(t, a, cmdOp(0, 10, "INCR", "c:1"))
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	go func() { <-running; cancel() }()
	err := a.Submit(ctx, Op{Source: 0, Offset: 20, Barrier: func(ctx context.Context, d Dest) error {
		close(running)
		<-ctx.Done()
		return ctx.Err()
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit of the cancelled barrier: %v", err)
	}
	submit(t, a, cmdOp(0, 30, "INCR", "c:1"))
	flush(t, a)
	if got := a.Applied(0); got != 30 {
		t.Errorf("Applied = %d, want 30", got)
	}
	if p := a.Stats().Pending; p != 0 {
		t.Errorf("%d ops pending after Flush", p)
	}
}
