package replicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator/conn"
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

// passiveShard is the Handler of a source shard another process follows.
//
// The Source starts a link for every shard it finds and treats an error from
// NewShard or the Handler as fatal, so a shard cannot be left out without a filter in
// source.SourceConfig (asked for: an Accept func(ShardInfo) bool consulted before a
// link starts). Until then such a shard is followed passively: the link resumes at
// the master's current offset (PSYNC replid offset, answered +CONTINUE: no fork, no
// snapshot) and the stream is read and dropped. A full sync the master forces anyway
// (its backlog lost the position after a long disconnect) is read and dropped too.
type passiveShard struct {
	r     *Replicator
	index int
}

// FullSync implements source.Handler: the snapshot is drained and dropped.
func (p *passiveShard) FullSync(_ context.Context, replID string, _ int64, rdb io.Reader, size int64) error {
	p.r.log.Warn("a source shard followed by another xsync process sent a full sync; reading and dropping it",
		"shard", p.index, "replid", replID, "bytes", size, "assignment", p.r.cfg.Assign.String())
	if _, err := io.Copy(io.Discard, rdb); err != nil {
		return fmt.Errorf("xsync/replicator: shard %d: draining a snapshot not ours: %w", p.index, err)
	}
	return nil
}

// Continue implements source.Handler.
func (p *passiveShard) Continue(context.Context, string, int64) error { return nil }

// Command implements source.Handler: the command belongs to another process.
func (p *passiveShard) Command(context.Context, int, [][]byte, int64) error { return nil }

// errNoReplID reports a node whose INFO replication lacks a replication id.
var errNoReplID = errors.New("xsync/replicator: INFO replication has no master_replid")

// passiveStart returns where a passive link resumes: the followed node's current
// replication id and offset, read with INFO replication.
func (r *Replicator) passiveStart(ctx context.Context, info source.ShardInfo) (source.ShardStart, error) {
	start := source.ShardStart{Handler: &passiveShard{r: r, index: info.Index}}
	o := r.cfg.SourceConn
	o.Addr = info.Node.Addr
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return start, fmt.Errorf("xsync/replicator: shard %d (%s), followed by another process: %w", info.Index, info.Node.Addr, err)
	}
	defer c.Close()
	v, err := c.Do(ctx, "INFO", "replication")
	if err == nil && v.IsError() {
		err = errors.New(string(v.Str))
	}
	if err != nil {
		return start, fmt.Errorf("xsync/replicator: shard %d (%s): INFO replication: %w", info.Index, info.Node.Addr, err)
	}
	replID, off, err := parseReplInfo(string(v.Str))
	if err != nil {
		return start, fmt.Errorf("xsync/replicator: shard %d (%s): %w", info.Index, info.Node.Addr, err)
	}
	// PSYNC asks for Offset+1: the byte after the last one the master sent.
	start.ReplID, start.Offset = replID, off
	r.log.Info("source shard belongs to another xsync process: its stream is read and dropped",
		"shard", info.Index, "node", info.Node.Addr, "owner", Owner(info.Ranges, r.cfg.Assign.Count),
		"assignment", r.cfg.Assign.String(), "resume_replid", replID, "resume_offset", off)
	return start, nil
}

// parseReplInfo reads master_replid and master_repl_offset from INFO replication.
func parseReplInfo(text string) (replID string, offset int64, err error) {
	offset = -1
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "master_replid":
			replID = v
		case "master_repl_offset":
			if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
				return "", 0, fmt.Errorf("xsync/replicator: INFO replication: master_repl_offset %q", v)
			}
		}
	}
	if replID == "" || offset < 0 {
		return "", 0, errNoReplID
	}
	return replID, offset, nil
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
