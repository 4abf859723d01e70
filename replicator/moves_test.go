package replicator

import (
	"context"
	"testing"
	"time"
)

// TestMoveRegistryRestoreWaitsForDel: a RESTORE-ASKING seen before its DEL waits
// for the old owner's DEL (whose shard closes the channel once its earlier
// writes are submitted); one seen after it does not wait; a wait that times out
// lets the RESTOREs of the next moveMemory go at once.
func TestMoveRegistryRestoreWaitsForDel(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newMoveRegistry(func() time.Time { return now })
	ctx := context.Background()

	wait := m.restoreAsking(1, []byte("k"))
	if wait == nil {
		t.Fatal("a RESTORE-ASKING seen first does not wait for its DEL")
	}
	select {
	case <-wait:
		t.Fatal("the wait ended before the DEL")
	default:
	}
	drop, done := m.del(0, []byte("k"))
	if !drop || done == nil {
		t.Fatalf("the move's DEL: drop %v, done %v; want true and the RESTORE's channel", drop, done)
	}
	close(done)
	if m.waitDel(ctx, wait) {
		t.Fatal("the wait timed out after the DEL")
	}

	// DEL first: applied (not dropped), and the RESTORE then goes at once.
	if drop, _ := m.del(0, []byte("j")); drop {
		t.Fatal("a DEL seen first was dropped")
	}
	if w := m.restoreAsking(1, []byte("j")); w != nil {
		t.Fatal("a RESTORE-ASKING after its DEL waits")
	}

	// No DEL comes: the wait ends, and the next RESTOREs do not wait.
	m.wait = time.Millisecond
	if !m.waitDel(ctx, m.restoreAsking(1, []byte("x"))) {
		t.Fatal("a wait for a DEL that never comes did not time out")
	}
	if w := m.restoreAsking(1, []byte("y")); w != nil {
		t.Fatal("a RESTORE-ASKING waits right after a wait timed out")
	}
	now = now.Add(moveMemory + time.Second)
	if w := m.restoreAsking(1, []byte("z")); w == nil {
		t.Fatal("RESTORE-ASKINGs do not wait again after moveMemory")
	}
}
