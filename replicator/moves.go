package replicator

import (
	"bytes"
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
// follows is not taken for the start of another move. Entries are forgotten
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
}

type moveEntry struct {
	shard int
	at    time.Time
}

// moveMemory is how long half a move waits for its other half; maxDeleted bounds
// the DELs remembered (a DEL-heavy workload must not grow memory).
const (
	moveMemory = time.Minute
	maxDeleted = 200_000
)

func newMoveRegistry(now func() time.Time) *moveRegistry {
	return &moveRegistry{restored: map[string]moveEntry{}, deleted: map[string]moveEntry{}, now: now}
}

// restoreAsking records that shard restored key with RESTORE-ASKING.
func (m *moveRegistry) restoreAsking(shard int, key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
	if e, ok := m.deleted[string(key)]; ok && e.shard != shard {
		delete(m.deleted, string(key)) // the move's DEL came first
		return
	}
	m.restored[string(key)] = moveEntry{shard, m.now()}
}

// del reports whether a DEL of key by shard is the second half of a move (drop
// it); otherwise it remembers it as a possible first half.
func (m *moveRegistry) del(shard int, key []byte) (drop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
	if e, ok := m.restored[string(key)]; ok && e.shard != shard {
		delete(m.restored, string(key))
		return true
	}
	if len(m.deleted) >= maxDeleted {
		clear(m.deleted) // forgetting a DEL only risks a later DEL of the same key being taken for a move's
	}
	m.deleted[string(key)] = moveEntry{shard, m.now()}
	return false
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
// DEL loses the keys whose move it completes (nil when none is left).
func (s *shard) moveArgs(args [][]byte) [][]byte {
	if len(args) < 2 {
		return args
	}
	// The caller holds s.r.moves.order (see isMoveHalf).
	switch {
	case bytes.EqualFold(args[0], []byte("RESTORE-ASKING")) && len(args) >= 4:
		s.r.moves.restoreAsking(s.index, args[1])
		for _, a := range args[4:] {
			if bytes.EqualFold(a, []byte("REPLACE")) {
				return args
			}
		}
		out := append(s.argBuf[:0], args...)
		s.argBuf = append(out, []byte("REPLACE"))
		return s.argBuf
	case bytes.EqualFold(args[0], []byte("DEL")):
		out := append(s.argBuf[:0], args[0])
		for _, k := range args[1:] {
			if !s.r.moves.del(s.index, k) {
				out = append(out, k)
			}
		}
		s.argBuf = out
		if len(out) == 1 {
			return nil
		}
		return out
	}
	return args
}

// isMoveHalf reports whether args may be half of a key move (DEL or
// RESTORE-ASKING): the caller then holds moves.order until it has submitted.
func isMoveHalf(args [][]byte) bool {
	return len(args) >= 2 && (bytes.EqualFold(args[0], []byte("DEL")) || bytes.EqualFold(args[0], []byte("RESTORE-ASKING")))
}
