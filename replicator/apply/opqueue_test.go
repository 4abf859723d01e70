package apply

import (
	"math/rand/v2"
	"testing"
)

// TestOpQueueBoundedWhenNeverDrained keeps the queue non-empty through a million
// pushes, as a pipe's queue is under a steady load whose writer never catches up
// completely: its capacity must follow the most ops it held at once, not the number
// of ops that went through it, and the order must stay FIFO.
func TestOpQueueBoundedWhenNeverDrained(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q opQueue
	ops := make([]op, 64)
	const live = 40 // the queue holds between 1 and live ops
	var pushed, popped, most int
	for pushed < 1_000_000 {
		if q.Len() < live && (q.Len() <= 1 || rng.IntN(2) == 0) {
			q.Push(&ops[pushed%len(ops)])
			pushed++
		} else {
			if got, want := q.Pop(), &ops[popped%len(ops)]; got != want {
				t.Fatalf("pop %d: got op %p, want %p (not FIFO)", popped, got, want)
			}
			popped++
		}
		if q.Len() == 0 {
			t.Fatal("the queue drained: the test must keep it non-empty")
		}
		most = max(most, q.Len())
	}
	if c := q.Cap(); c > 2*most {
		t.Fatalf("capacity %d after %d pushes; at most %d ops were queued at once, want a capacity <= %d", c, pushed, most, 2*most)
	}
	if got := q.Drain(nil); len(got) != pushed-popped {
		t.Fatalf("Drain returned %d ops, want %d", len(got), pushed-popped)
	}
	if q.Len() != 0 || q.Pop() != nil {
		t.Fatal("the queue is not empty after Drain")
	}
}
