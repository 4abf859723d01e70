package replicator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/slots"
)

// Destination data loss.
//
// The checkpoints live in the destination, in the same transaction as the writes
// they cover (checkpoint.go), so a destination that loses writes loses their
// checkpoints with them: a master restarted without its data, a failover to a
// replica that had not received the last writes (Redis replication is
// asynchronous: see "Replication" in the Redis documentation, and
// clusterFailoverReplaceYourMaster in Redis's cluster.c for FORCE and TAKEOVER),
// FLUSHALL by someone else, a node replaced by an empty one. What the destination
// still holds says where to resume.
//
// Detection (destguard.go) is cheap: every GuardInterval each destination master
// is asked for its run_id (INFO server; a restart or a new node changes it, a
// promoted replica is a master not seen before) and for a sentinel key xsync
// wrote in the first slot it serves (FLUSHALL and FLUSHDB delete it). A master
// that changed makes its slots suspect.
//
// Healing: the source shards that own suspect slots are stopped, what they
// handed to the destination is flushed, and every checkpoint is read back. A
// suspect slot lost data when its checkpoint is gone, or is older than the newest
// offset xsync wrote to the slot (slotMarks; a slot whose last writes were
// assignments, which carry no checkpoint, counts as lost too: xsync cannot tell
// whether they are still there, and replaying them is harmless). Each shard with
// lost slots then resumes with PSYNC from the oldest checkpoint of its lost
// slots, dropping for every other slot what it applied already (the same
// per-slot skip as a restart); when a lost slot has no checkpoint left, or the
// window to replay holds a command that names no single slot (FLUSHALL, a
// cross-slot emulation), or the source's backlog no longer holds the offset, the
// shard syncs in full, emptying its slots first.
//
// A checkpoint read back can also be too new: an op in flight when a master
// failed over is sent again by the applier to the new master (after its
// checkpoint said it was not applied there), and lands after the writes the
// node lost, so its slot's checkpoint covers them. Only a slot written to
// before the last "quiet" check of the guard (every op acknowledged, nothing
// suspect) and not since can be trusted; a suspect slot written since makes
// its shard sync in full. The watermark is not used: it describes the shard
// before the loss.

// DestLoss is the policy for destination data loss.
type DestLoss int

// Destination-loss policies.
const (
	DestLossHeal DestLoss = iota // re-apply the slots that lost writes (default)
	DestLossStop                 // end the sync with an error naming the slots
)

// ParseDestLoss reads a policy name: heal or stop.
func ParseDestLoss(s string) (DestLoss, error) {
	switch s {
	case "heal", "":
		return DestLossHeal, nil
	case "stop":
		return DestLossStop, nil
	}
	return 0, fmt.Errorf("xsync/replicator: destination-loss policy %q: use heal or stop", s)
}

// String returns the policy's name.
func (d DestLoss) String() string {
	if d == DestLossStop {
		return "stop"
	}
	return "heal"
}

// ErrDestLoss is returned by Run under DestLossStop when the destination lost
// data it had acknowledged.
var ErrDestLoss = errors.New("xsync/replicator: the destination lost data it had acknowledged")

// slotMarks holds, per destination slot, the offset of the newest stream op
// written to it (or the offset its full sync ended at), and the source shard
// that wrote it: what the slot's checkpoint must have reached for the slot to
// hold everything.
type slotMarks struct {
	off   [slots.NumSlots]atomic.Int64
	shard [slots.NumSlots]atomic.Int32
}

func (m *slotMarks) set(slot int, offset int64, shard int) {
	m.off[slot].Store(offset)
	m.shard[slot].Store(int32(shard))
}

func (m *slotMarks) get(slot int) (int64, int) {
	return m.off[slot].Load(), int(m.shard[slot].Load())
}

// noteOp records a stream op handed to the applier (see slotMarks).
func (s *shard) noteOp(op apply.Op, offset int64) {
	if op.Slot < 0 || op.Barrier != nil {
		s.lastUnslotted.Store(offset)
		return
	}
	s.r.marks.set(op.Slot, offset, s.index)
}

func (m *slotMarks) setRanges(rs []slots.Range, offset int64, shard int) {
	for _, r := range rs {
		for sl := r.Start; sl <= r.End; sl++ {
			m.set(sl, offset, shard)
		}
	}
}

// DestLossStatus reports destination data loss.
type DestLossStatus struct {
	Policy        string    // heal or stop
	Events        int64     // losses detected (suspect events that cost at least one slot)
	Suspects      int64     // suspect events (a master restarted, failed over, replaced, a sentinel gone)
	Healing       bool      // a heal is in progress: the job is not healthy
	LastCause     string    // what was seen last, e.g. "127.0.0.1:7001 restarted (run_id changed)"
	LastSlots     int       // slots of the last loss that lost writes
	LastMode      string    // "psync" or "fullsync": how the last loss was re-applied
	SlotsLost     int64     // slots that lost writes, all events
	KeysReapplied int64     // keys written again (full sync) plus stream ops replayed, all events
	LastSeconds   float64   // detection to caught up, of the last completed heal
	LastDetected  time.Time // when the last loss was detected
	// ErrorsExplained counts destination error replies (under --on-error stop)
	// that a loss explained: the heal that followed re-applied their slots.
	ErrorsExplained int64
	// ErrorsHeld is how many such replies wait for the guard's verdict now.
	ErrorsHeld int
}

// lossState is the Replicator's bookkeeping of destination loss.
type lossState struct {
	mu       sync.Mutex
	st       DestLossStatus
	pending  map[int]healTarget // by shard: what must be reached for the heal to be done
	detected time.Time

	quietChecks atomic.Int64 // guard checks that found nothing with every op acknowledged

	// healedAt is, per slot, when the last heal that re-applies it read the
	// checkpoints (a held error older than that is explained); healedAny is the
	// same for any slot (for ops of no single slot).
	healedAt  [slots.NumSlots]time.Time
	healedAny time.Time
	held      []heldError   // error replies held for the guard (destguard.go)
	poke      chan struct{} // asks the guard for a check now
}

// healTarget is what a shard must reach for its part of a heal to be done.
type healTarget struct {
	full      bool  // it syncs in full: done once it streams again after FullSyncs grew
	fullSyncs int64 // its link's full syncs before the heal
	offset    int64 // psync: the handled offset at the stop, to be applied again
	ops       int64 // opsSubmitted at the restart
	keys      int64 // keysDone at the restart (full)
}

// lossStatus fills st.DestLoss; while a heal is in progress the job is healing.
func (r *Replicator) lossStatus(st *Status) {
	r.loss.mu.Lock()
	st.DestLoss = r.loss.st
	st.DestLoss.ErrorsHeld = len(r.loss.held)
	r.loss.mu.Unlock()
	st.DestLoss.Policy = r.cfg.OnDestLoss.String()
	// While a heal runs its shards' links are stopped for a moment: the job is
	// healing, not stopped.
	if st.DestLoss.Healing && !r.stopped.Load() && !r.isPaused() {
		st.State = StateHealing
	}
}

// heal re-applies the suspect slots that lost writes (see the top of this file).
func (r *Replicator) heal(ctx context.Context, suspect []bool, quiet *[slots.NumSlots]int64, cause string) error {
	owners := map[int]*shard{}
	r.mu.Lock()
	for _, sh := range r.shards {
		for _, rg := range sh.ownedRanges() {
			for sl := rg.Start; sl <= rg.End; sl++ {
				if suspect[sl] {
					owners[sh.index] = sh
				}
			}
		}
	}
	r.mu.Unlock()
	if len(owners) == 0 {
		return nil
	}
	// Healing from now on: until the checkpoints tell, the destination may
	// have lost writes, and the job is not healthy.
	r.loss.mu.Lock()
	r.loss.st.Suspects++
	r.loss.st.LastCause = cause
	wasHealing := r.loss.st.Healing
	r.loss.st.Healing = true
	r.loss.mu.Unlock()
	healed := false
	defer func() {
		if !healed && !wasHealing {
			r.loss.mu.Lock()
			r.loss.st.Healing = false
			r.loss.mu.Unlock()
		}
	}()
	detected := r.cfg.Now()
	idx := make([]int, 0, len(owners))
	for i := range owners {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	fullSyncs := map[int]int64{}
	for _, l := range r.src.Shards() {
		fullSyncs[l.Index] = l.Link.FullSyncs
	}
	var lostTotal int
	var stopErr error
	err := r.src.Resync(ctx, idx, func(ctx context.Context) (map[int]source.ShardStart, error) {
		// Every op the stopped shards handed over is acknowledged (or retried onto
		// the node that replaced the lost one) before the checkpoints are read;
		// also those a shard still held in its batch.
		for _, i := range idx {
			if err := owners[i].flushSnap(ctx); err != nil {
				return nil, err
			}
		}
		if err := r.applier.Flush(ctx); err != nil {
			return nil, err
		}
		var cks map[int]ckpt
		if r.ckKeys != nil {
			var err error
			if cks, err = readCheckpoints(ctx, r.applier, r.cfg.Translate.InternalPrefix, r.ckKeys); err != nil {
				return nil, err
			}
		}
		starts := map[int]source.ShardStart{}
		targets := map[int]healTarget{}
		var lostSlots []int
		for _, i := range idx {
			sh := owners[i]
			start, tgt, lost, ok := sh.healStart(cks, suspect, quiet)
			if !ok {
				continue
			}
			lostSlots = append(lostSlots, lost...)
			tgt.fullSyncs = fullSyncs[i]
			starts[i], targets[i] = start, tgt
		}
		lostTotal = len(lostSlots)
		readAt := r.cfg.Now()
		if lostTotal == 0 {
			r.log.Info("destination: no slot lost writes", "cause", cause)
			return nil, nil
		}
		if r.cfg.OnDestLoss == DestLossStop {
			stopErr = fmt.Errorf("%w: %s; %d slots lost writes (%s); restart xsync to sync them again, or run with --on-dest-loss heal",
				ErrDestLoss, cause, lostTotal, slotList(lostSlots))
			return nil, stopErr
		}
		mode := "psync"
		for _, t := range targets {
			if t.full {
				mode = "fullsync"
			}
		}
		r.log.Warn("destination lost data: re-applying the slots that lost writes",
			"cause", cause, "slots", lostTotal, "which", slotList(lostSlots), "shards", idx, "mode", mode)
		healed = true
		r.loss.mu.Lock()
		r.loss.st.Events++
		r.loss.st.Healing = true
		r.loss.st.LastSlots = lostTotal
		r.loss.st.LastMode = mode
		r.loss.st.LastDetected = detected
		r.loss.st.SlotsLost += int64(lostTotal)
		r.loss.pending = targets
		r.loss.detected = detected
		r.loss.healedAny = readAt
		for _, sl := range lostSlots {
			r.loss.healedAt[sl] = readAt
		}
		for i, t := range targets {
			if !t.full {
				continue
			}
			for _, rg := range owners[i].ownedRanges() { // emptied and synced again
				for sl := rg.Start; sl <= rg.End; sl++ {
					r.loss.healedAt[sl] = readAt
				}
			}
		}
		r.loss.mu.Unlock()
		return starts, nil
	})
	if stopErr != nil {
		return stopErr
	}
	return err
}

// healStart decides how shard s re-applies its suspect slots: ok is false when
// none of them lost writes (the shard resumes where it stopped). Called while
// its link is stopped.
func (s *shard) healStart(cks map[int]ckpt, suspect []bool, quiet *[slots.NumSlots]int64) (start source.ShardStart, tgt healTarget, lost []int, ok bool) {
	handled := s.handled.Load()
	s.posMu.Lock()
	pos := s.pos
	s.posMu.Unlock()
	full := s.r.ckKeys == nil || !s.synced.Load()
	var from ckpt
	first := true
	for _, rg := range s.ownedRanges() {
		for sl := rg.Start; sl <= rg.End; sl++ {
			if !suspect[sl] {
				continue
			}
			c, found := cks[sl]
			mark, by := s.r.marks.get(sl)
			switch {
			case !found:
				full = true
			case mark > quiet[sl]:
				full = true // written since the last quiet check: its checkpoint may hide a loss
			case by == s.index && c.offset < mark:
			default:
				continue
			}
			lost = append(lost, sl)
			if found && (first || c.offset < from.offset) {
				from, first = c, false
			}
		}
	}
	if len(lost) == 0 {
		return start, tgt, nil, false
	}
	if !full && s.lastUnslotted.Load() > from.offset {
		full = true // a FLUSHALL or a cross-slot emulation in the window: not replayed per slot
	}
	tgt = healTarget{full: full, offset: handled, ops: s.opsSubmitted.Load(), keys: s.keysDone.Load()}
	if full {
		s.synced.Store(true) // its slots are emptied before the full sync
		s.skip = nil
		return source.ShardStart{}, tgt, lost, true
	}
	// PSYNC from the oldest lost checkpoint; every other slot drops what it has.
	var skip [slots.NumSlots]int64
	isLost := map[int]bool{}
	for _, sl := range lost {
		isLost[sl] = true
	}
	for _, rg := range s.ownedRanges() {
		for sl := rg.Start; sl <= rg.End; sl++ {
			if isLost[sl] {
				skip[sl] = cks[sl].offset
			} else {
				skip[sl] = handled
			}
		}
	}
	replID := pos.replID
	if replID == "" {
		replID = s.replID
	}
	s.skip, s.skipUntil = &skip, handled
	s.received.Store(from.offset)
	s.handled.Store(from.offset)
	s.lastSubmitted.Store(from.offset)
	return source.ShardStart{Handler: s, ReplID: replID, Offset: from.offset, DB: from.db}, tgt, lost, true
}

// healProgress ends the heal once every shard reached its target.
func (r *Replicator) healProgress() {
	r.loss.mu.Lock()
	defer r.loss.mu.Unlock()
	if !r.loss.st.Healing {
		return
	}
	links := map[int]source.ShardStatus{}
	for _, l := range r.src.Shards() {
		links[l.Index] = l
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var reapplied int64
	for i, t := range r.loss.pending {
		sh := r.shards[i]
		if sh == nil {
			continue
		}
		if sh.state.Load().(State) != StateStream || links[i].Link.State != source.StateStream {
			return
		}
		if t.full {
			if links[i].Link.FullSyncs <= t.fullSyncs {
				return
			}
			reapplied += sh.keysDone.Load()
		} else {
			if sh.applied() < t.offset {
				return
			}
			reapplied += sh.opsSubmitted.Load() - t.ops
		}
	}
	took := r.cfg.Now().Sub(r.loss.detected)
	r.loss.st.Healing = false
	r.loss.st.KeysReapplied += reapplied
	r.loss.st.LastSeconds = took.Seconds()
	r.loss.pending = nil
	r.log.Warn("destination loss healed", "slots", r.loss.st.LastSlots, "mode", r.loss.st.LastMode,
		"keys_reapplied", reapplied, "seconds", took.Seconds())
}

// slotList renders slots as ranges, "0-5460,10923".
func slotList(ss []int) string {
	slices.Sort(ss)
	var rs []slots.Range
	for _, s := range ss {
		if n := len(rs); n > 0 && rs[n-1].End+1 == s {
			rs[n-1].End = s
			continue
		}
		rs = append(rs, slots.Range{Start: s, End: s})
	}
	return rangesString(rs)
}
