package slots

import "sync/atomic"

// Table maps each slot to the index of the shard serving it in a Topology. It is
// immutable once built, so it can be read from any goroutine; a new topology makes
// a new Table, published through a Holder.
type Table struct {
	topo    Topology
	shard   [NumSlots]int32 // shard index, -1 when no shard serves the slot
	covered bool
}

// NewTable builds the table of t. t should be valid (Validate): where two shards
// claim a slot the later one wins, and ranges outside 0..NumSlots-1 are clipped.
// The table keeps t: neither may be modified afterwards.
func NewTable(t Topology) *Table {
	tb := &Table{topo: t}
	for i := range tb.shard {
		tb.shard[i] = -1
	}
	for i, sh := range t.Shards {
		for _, r := range sh.Ranges {
			for s := max(r.Start, 0); s <= min(r.End, NumSlots-1); s++ {
				tb.shard[s] = int32(i)
			}
		}
	}
	tb.covered = true
	for _, s := range tb.shard {
		if s < 0 {
			tb.covered = false
			break
		}
	}
	return tb
}

// Shard returns the index in Topology().Shards of the shard serving slot, or -1
// when no shard serves it or slot is outside 0..NumSlots-1. It does not allocate.
func (t *Table) Shard(slot int) int {
	if uint(slot) >= NumSlots {
		return -1
	}
	return int(t.shard[slot])
}

// Primary returns the primary serving slot; ok is false when none does.
func (t *Table) Primary(slot int) (n Node, ok bool) {
	i := t.Shard(slot)
	if i < 0 {
		return Node{}, false
	}
	return t.topo.Shards[i].Primary, true
}

// Topology returns the topology the table was built from; it must not be modified.
func (t *Table) Topology() Topology { return t.topo }

// Covered reports whether every slot is served by a shard.
func (t *Table) Covered() bool { return t.covered }

// Uncovered returns the runs of slots that no shard serves (nil when Covered).
func (t *Table) Uncovered() []Range {
	var out []Range
	for s := 0; s < NumSlots; s++ {
		if t.shard[s] >= 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == s-1 {
			out[n-1].End = s
		} else {
			out = append(out, Range{s, s})
		}
	}
	return out
}

// Holder holds the current Table and swaps it atomically: readers Load it on every
// use and writers Store a new one when the topology changes. The zero Holder holds
// nil.
type Holder struct {
	p atomic.Pointer[Table]
}

// NewHolder returns a Holder holding t.
func NewHolder(t *Table) *Holder {
	h := &Holder{}
	h.p.Store(t)
	return h
}

// Load returns the current table (nil before the first Store).
func (h *Holder) Load() *Table { return h.p.Load() }

// Store makes t the current table.
func (h *Holder) Store(t *Table) { h.p.Store(t) }

// Swap makes t the current table and returns the previous one.
func (h *Holder) Swap(t *Table) *Table { return h.p.Swap(t) }
