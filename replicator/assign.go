package replicator

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/slots"
)

// Assignment splits the shards of one source between several xsync processes
// (scale-out): process Index of Count follows, and writes, only the source shards
// whose owner (see Owner) is Index. Processes sharing a source must share Count,
// the destination and the internal prefix, and have distinct indexes.
//
// The zero Assignment (Count 0) is one process following every shard.
type Assignment struct {
	// Index is this process, 0 to Count-1. Default 0.
	Index int
	// Count is the number of processes; 0 or 1: one process follows every shard.
	// Default 0.
	Count int
}

// validate rejects an index outside 0..Count-1.
func (a Assignment) validate() error {
	if a.Count < 0 {
		return fmt.Errorf("xsync/replicator: shard count %d: must be 1 or more", a.Count)
	}
	if a.Count > slots.NumSlots {
		return fmt.Errorf("xsync/replicator: shard count %d: at most %d processes (one per slot)", a.Count, slots.NumSlots)
	}
	if a.Count <= 1 {
		if a.Index != 0 {
			return fmt.Errorf("xsync/replicator: shard index %d without a shard count above 1", a.Index)
		}
		return nil
	}
	if a.Index < 0 || a.Index >= a.Count {
		return fmt.Errorf("xsync/replicator: shard index %d: must be 0 to %d for a shard count of %d", a.Index, a.Count-1, a.Count)
	}
	return nil
}

// Owns reports whether this process follows the shard described by info.
func (a Assignment) Owns(info source.ShardInfo) bool {
	return Owner(info.Ranges, a.Count) == a.Index || a.Count <= 1
}

// String describes the assignment for logs: "1/3", or "all".
func (a Assignment) String() string {
	if a.Count <= 1 {
		return "all"
	}
	return strconv.Itoa(a.Index) + "/" + strconv.Itoa(a.Count)
}

// Owner returns the process, 0 to count-1, that follows a source shard owning the
// slots ranges: the 16384 slots are cut into count equal bands and the shard goes
// to the band of its lowest slot, floor(firstSlot*count/16384). A standalone source
// (one shard, every slot) therefore goes to process 0, and so does a master that owns
// no slot yet (a new, empty cluster node). The rule reads nothing but the slots, so
// every process computes the same owner from the same topology without talking to
// the others, and a failover (same slots, new master) never moves a shard.
func Owner(ranges []slots.Range, count int) int {
	if count <= 1 || len(ranges) == 0 {
		return 0
	}
	first := ranges[0].Start
	for _, r := range ranges[1:] {
		first = min(first, r.Start)
	}
	first = max(0, min(first, slots.NumSlots-1))
	return first * count / slots.NumSlots
}

// Ordinal returns the index that ends a StatefulSet pod name: "xsync-2" → 2. ok is
// false when name does not end in "-<digits>".
func Ordinal(name string) (n int, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return 0, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 || strings.ContainsAny(name[i+1:], "+-") {
		return 0, false
	}
	return n, true
}

// checkAssignment logs when a reshard gives a shard to another process under the
// rule of Owner: a link keeps the Handler it started with, so the shard stays where
// it is until the processes restart (see docs/operations.md, "Scale-out").
func (r *Replicator) checkAssignment(ev source.Event) {
	if r.cfg.Assign.Count <= 1 || ev.Kind != source.ShardRangesChanged {
		return
	}
	r.mu.Lock()
	_, active := r.shards[ev.Shard.Index]
	r.mu.Unlock()
	if owns := r.cfg.Assign.Owns(ev.Shard); owns != active {
		r.log.Warn("after a reshard the assignment rule gives this source shard to another xsync process; "+
			"it keeps its current one until the processes restart",
			"shard", ev.Shard.Index, "node", ev.Shard.Node.Addr, "followed_here", active,
			"rule_owner", Owner(ev.Shard.Ranges, r.cfg.Assign.Count), "assignment", r.cfg.Assign.String())
	}
}
