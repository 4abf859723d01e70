package replicator

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// Source resharding: MIGRATE moves a key from one source master to another. The
// new owner's stream carries RESTORE-ASKING key (it ran first), the old owner's
// a DEL of the key (right after). The two streams are applied in parallel, so
// the DEL may reach the destination after the RESTORE and erase the moved key.
//
// moveRegistry pairs the two halves of a move across shards: a DEL of a key
// that another shard restored with RESTORE-ASKING is the move's DEL, and is
// dropped; a DEL seen first is applied (harmless: the RESTORE, which always
// replaces, brings the key back) and remembered so that the RESTORE-ASKING that
// follows is not taken for the start of another move.
//
// The old owner's writes to the key that precede its DEL (an RPUSH just before
// MIGRATE) are in the RESTORE's payload already: applied after the RESTORE they
// would count twice. So a RESTORE-ASKING seen first waits (bounded by moveWait)
// until the old owner reaches the move's DEL, which hands the old owner's
// batched ops to the applier before it lets the RESTORE go; the applier keeps
// the submit order of one slot's ops on a destination node (one pipe per slot).
// MIGRATE blocks its server until the target's reply (migrateCommand in Redis's
// cluster.c), so two moves in opposite directions cannot each wait for the
// other's DEL. Entries are forgotten
// after moveMemory. The pairing lives in memory: a restart between the two
// halves loses it (documented in docs/checkpoints.md).
//
// Locks: order comes first (a shard holds it while it submits to the applier, so
// the applier's locks come after it), then mu, which guards the maps and is held
// only inside restoreAsking and del.
type moveRegistry struct {
	// order is held by a shard from its decision on a DEL or RESTORE-ASKING until
	// the resulting ops are submitted, so that the destination applies the two
	// halves of a move in the order the registry saw them.
	order    sync.Mutex
	mu       sync.Mutex
	restored map[string]moveEntry // RESTORE-ASKING seen, DEL not yet
	deleted  map[string]moveEntry // DEL seen, RESTORE-ASKING not yet
	calls    int
	now      func() time.Time
	// noWaitUntil: a wait for a DEL timed out (the old owner's link is down or
	// far behind); until then RESTOREs go at once, as if their DEL came first.
	noWaitUntil time.Time
	wait        time.Duration // moveWait; shorter in tests
}

type moveEntry struct {
	shard int
	at    time.Time
	done  chan struct{} // restored: closed when the old owner's DEL was handled
}

// moveMemory is how long half a move waits for its other half; maxDeleted bounds
// the DELs remembered (a DEL-heavy workload must not grow memory).
const (
	moveMemory = time.Minute
	maxDeleted = 200_000
	moveWait   = 5 * time.Second
)

func newMoveRegistry(now func() time.Time) *moveRegistry {
	return &moveRegistry{restored: map[string]moveEntry{}, deleted: map[string]moveEntry{}, now: now, wait: moveWait}
}

// restoreAsking records that shard restored key with RESTORE-ASKING. It returns
// what to wait for before the RESTORE is submitted (nil: nothing).
func (m *moveRegistry) restoreAsking(shard int, key []byte) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
	if e, ok := m.deleted[string(key)]; ok && e.shard != shard {
		delete(m.deleted, string(key)) // the move's DEL came first
		return nil
	}
	e := moveEntry{shard: shard, at: m.now(), done: make(chan struct{})}
	m.restored[string(key)] = e
	if m.now().Before(m.noWaitUntil) {
		return nil
	}
	return e.done
}

// waitDel waits for done (see restoreAsking), at most moveWait; after a timeout
// the RESTOREs of the next moveMemory do not wait.
func (m *moveRegistry) waitDel(ctx context.Context, done <-chan struct{}) (timedOut bool) {
	t := time.NewTimer(m.wait)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	m.mu.Lock()
	m.noWaitUntil = m.now().Add(moveMemory)
	m.mu.Unlock()
	return true
}

// del reports whether a DEL of key by shard is the second half of a move (drop
// it; close done once the shard's earlier ops are submitted); otherwise it
// remembers it as a possible first half.
func (m *moveRegistry) del(shard int, key []byte) (drop bool, done chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
	if e, ok := m.restored[string(key)]; ok && e.shard != shard {
		delete(m.restored, string(key))
		return true, e.done
	}
	if len(m.deleted) >= maxDeleted {
		clear(m.deleted) // forgetting a DEL only risks a later DEL of the same key being taken for a move's
	}
	m.deleted[string(key)] = moveEntry{shard: shard, at: m.now()}
	return false, nil
}

// sweepLocked forgets old entries, every 1024 calls.
func (m *moveRegistry) sweepLocked() {
	m.calls++
	if m.calls%1024 != 0 {
		return
	}
	cut := m.now().Add(-moveMemory)
	for k, e := range m.restored {
		if e.at.Before(cut) {
			delete(m.restored, k)
		}
	}
	for k, e := range m.deleted {
		if e.at.Before(cut) {
			delete(m.deleted, k)
		}
	}
}

// moveArgs applies the registry to a stream command of a cluster source with
// more than one shard. It returns the command to translate: RESTORE-ASKING gets
// REPLACE (the key may still be on the destination from its old owner), and a
// DEL loses the keys whose move it completes (nil when none is left). wait is
// what a RESTORE-ASKING waits for (moveRegistry.waitDel); the DEL halves found
// are in s.moveDone, to close once the shard's batch is submitted.
func (s *shard) moveArgs(args [][]byte) (out [][]byte, wait <-chan struct{}) {
	if len(args) < 2 {
		return args, nil
	}
	// The caller holds s.r.moves.order (see isMoveHalf).
	switch {
	case bytes.EqualFold(args[0], []byte("RESTORE-ASKING")) && len(args) >= 4:
		wait = s.r.moves.restoreAsking(s.index, args[1])
		for _, a := range args[4:] {
			if bytes.EqualFold(a, []byte("REPLACE")) {
				return args, wait
			}
		}
		out := append(s.argBuf[:0], args...)
		s.argBuf = append(out, []byte("REPLACE"))
		return s.argBuf, wait
	case bytes.EqualFold(args[0], []byte("DEL")):
		out := append(s.argBuf[:0], args[0])
		for _, k := range args[1:] {
			drop, done := s.r.moves.del(s.index, k)
			if !drop {
				out = append(out, k)
			} else if done != nil {
				s.moveDone = append(s.moveDone, done)
			}
		}
		s.argBuf = out
		if len(out) == 1 {
			return nil, nil
		}
		return out, nil
	}
	return args, nil
}

// moveHalves runs the registry on a DEL or RESTORE-ASKING (see moveArgs) and
// returns the command to translate, nil when nothing is left. It takes
// s.r.moves.order and returns with it held unless it returns an error.
func (s *shard) moveHalves(ctx context.Context, args [][]byte) ([][]byte, error) {
	s.r.moves.order.Lock()
	args, wait := s.moveArgs(args)
	if len(s.moveDone) > 0 {
		// The old owner's writes before the move's DEL go to the applier
		// before the new owner's RESTORE does.
		err := s.flushSnap(ctx)
		for _, c := range s.moveDone {
			close(c)
		}
		clear(s.moveDone)
		s.moveDone = s.moveDone[:0]
		if err != nil {
			s.r.moves.order.Unlock()
			return nil, err
		}
	}
	if wait != nil && args != nil {
		s.r.moves.order.Unlock() // the old owner needs it to reach its DEL
		if s.r.moves.waitDel(ctx, wait) {
			s.r.log.Warn("source reshard: the old owner's DEL of a moved key did not come; RESTOREs go at once for a while (a write just before the move may be applied twice)",
				"shard", s.index, "key", string(args[1]), "waited", s.r.moves.wait)
		}
		s.r.moves.order.Lock()
	}
	return args, nil
}

// isMoveHalf reports whether args may be half of a key move (DEL or
// RESTORE-ASKING): the caller then holds moves.order until it has submitted.
func isMoveHalf(args [][]byte) bool {
	return len(args) >= 2 && (bytes.EqualFold(args[0], []byte("DEL")) || bytes.EqualFold(args[0], []byte("RESTORE-ASKING")))
}
