package replicator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/slots"
)

// The destination guard: every Config.GuardInterval each destination master is
// asked two things, through the applier's routing (so a MOVED after a failover
// refreshes the slot table first):
//
//   - GET of a sentinel key, <prefix>alive:{<tag of the first slot it serves>},
//     that xsync writes once per slot and never deletes (xsync's own emptying of
//     slots and the FLUSHALL of a source stream leave the internal prefix alone,
//     translate/flush.go): when one written before is gone, someone emptied the
//     node (FLUSHALL, FLUSHDB), or the node serving the slot is not the one that
//     held it;
//   - INFO server's run_id: a master whose run_id was not among the masters of
//     the previous check was restarted (a restart, with or without persistence,
//     may have lost the last writes), promoted from replica (a failover, which
//     loses what the replica had not received) or is a new node. A slot that
//     moves between masters already seen (a reshard: MIGRATE moves keys and
//     checkpoints) is not suspect.
//
// The slots of a master that changed are suspect; heal (destloss.go) finds the
// ones that lost writes from their checkpoints.

// guard is the state of the destination guard; it belongs to guardDest.
type guard struct {
	epoch   string          // value of the sentinel keys this process writes
	written map[int]bool    // slots whose sentinel this process wrote or found
	runIDs  map[string]bool // run_ids of the masters at the previous complete check; nil before
	// quiet holds the slot marks at the last complete check that found nothing
	// and had every op acknowledged: a slot written since may have had a write
	// land on a node after it lost earlier ones (an op in flight during a
	// failover is sent again to the new master), so its checkpoint cannot say
	// what it lost.
	quiet *[slots.NumSlots]int64

	retry      []bool // suspect slots of a heal that failed, checked again next time
	retryCause string
}

func newGuard() *guard {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &guard{epoch: hex.EncodeToString(b[:]), written: map[int]bool{}, quiet: &[slots.NumSlots]int64{}}
}

func sentinelKey(prefix string, slot int) []byte {
	return []byte(prefix + "alive:{" + translate.SlotTag(slot) + "}")
}

// guardDest runs the destination guard until ctx ends; it returns an error only
// under DestLossStop, or when a heal could not run.
func (r *Replicator) guardDest(ctx context.Context, g *guard) error {
	t := time.NewTicker(r.cfg.GuardInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.loss.poke:
		}
		r.healProgress()
		start := r.cfg.Now()
		suspect, causes, complete := r.checkDest(ctx, g)
		if g.retry != nil { // a heal that failed: its slots are still suspect
			for sl, s := range g.retry {
				suspect[sl] = suspect[sl] || s
			}
			causes = append(causes, g.retryCause)
			g.retry = nil
		}
		if len(causes) == 0 {
			if err := r.judgeHeld(start, complete); err != nil {
				return err
			}
			continue
		}
		cause := strings.Join(causes, "; ")
		r.log.Warn("destination changed: checking its checkpoints", "cause", cause)
		err := r.heal(ctx, suspect, g.quiet, cause)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrDestLoss):
			return err
		default:
			// Most likely the destination is not back yet: the links went on
			// from where they stopped; try again at the next check.
			r.log.Warn("destination: re-reading the checkpoints failed; trying again", "err", err)
			g.retry, g.retryCause = suspect, cause
			continue
		}
		if err := r.judgeHeld(start, false); err != nil {
			return err
		}
	}
}

// heldError is an error reply of the destination that would have stopped the
// sync (--on-error stop), held until the guard has looked at the destination:
// a write fails when the destination lost a key it needed (XCLAIM of a lost
// stream answers NOGROUP, LSET of a lost list "no such key"), and the heal of
// that loss re-applies it.
type heldError struct {
	slot int // -1: an op of no single slot
	at   time.Time
	err  error
}

// holdError is the applier's Config.Hold: it keeps the error for judgeHeld and
// asks the guard for a check now. Called with the applier's lock held.
func (r *Replicator) holdError(e apply.HeldError) bool {
	r.loss.mu.Lock()
	r.loss.held = append(r.loss.held, heldError{slot: e.Slot, at: r.cfg.Now(), err: e.Err})
	r.loss.mu.Unlock()
	select {
	case r.loss.poke <- struct{}{}:
	default:
	}
	return true
}

// heldTimeout is how long a held error waits for a complete check of the
// destination (every master answered) before it stops the sync anyway.
const heldTimeout = time.Minute

// judgeHeld decides the held errors after a check that started at start: one
// whose slot a heal re-applied since it arrived is explained and dropped; one
// that a complete check (every master answered) finding nothing followed, or
// that waited heldTimeout, ends the sync with its own error.
func (r *Replicator) judgeHeld(start time.Time, complete bool) error {
	r.loss.mu.Lock()
	defer r.loss.mu.Unlock()
	kept := r.loss.held[:0]
	var stop error
	now := r.cfg.Now()
	for _, h := range r.loss.held {
		healed := r.loss.healedAny
		if h.slot >= 0 {
			healed = r.loss.healedAt[h.slot]
		}
		switch {
		case !healed.Before(h.at):
			r.loss.st.ErrorsExplained++
			r.log.Info("a destination error was explained by its data loss: the heal re-applied its slot", "slot", h.slot, "err", h.err)
		case stop != nil:
		case complete && start.After(h.at):
			stop = h.err
		case now.Sub(h.at) > heldTimeout:
			stop = fmt.Errorf("%w (the destination's masters did not all answer the guard for %v)", h.err, heldTimeout)
		default:
			kept = append(kept, h)
		}
	}
	r.loss.held = kept
	return stop
}

// checkDest runs one check of every destination master (see the top of this
// file) and returns the suspect slots and why.
func (r *Replicator) checkDest(ctx context.Context, g *guard) (suspect []bool, causes []string, complete bool) {
	tbl := r.applier.Table()
	if tbl == nil {
		return nil, nil, false
	}
	prefix := r.cfg.Translate.InternalPrefix
	var snap [slots.NumSlots]int64
	for sl := range snap {
		snap[sl], _ = r.marks.get(sl)
	}
	quiet := r.applier.Stats().Pending == 0 // every op noted in snap is acknowledged
	suspect = make([]bool, slots.NumSlots)
	seen := map[string]bool{}
	complete = true
	for _, sh := range tbl.Topology().Shards {
		if len(sh.Ranges) == 0 {
			continue
		}
		first := sh.Ranges[0].Start
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		key := sentinelKey(prefix, first)
		v, err := r.applier.Do(cctx, first, []byte("GET"), key)
		var runID string
		if err == nil {
			var info = v
			info, err = r.applier.Do(cctx, first, []byte("INFO"), []byte("server"))
			runID = redisver.InfoField(string(info.Str), "run_id")
		}
		if err == nil && v.Null {
			_, err = r.applier.Do(cctx, first, []byte("SET"), key, []byte(g.epoch))
		}
		cancel()
		if err != nil {
			complete = false
			r.log.Debug("destination guard: a master did not answer", "slot", first, "err", err)
			continue
		}
		seen[runID] = true
		addr := sh.Primary.Addr
		var why string
		switch {
		case v.Null && g.written[first]:
			why = fmt.Sprintf("%s: the sentinel key %s is gone (FLUSHALL, FLUSHDB, or a node without the data)", addr, key)
		case g.runIDs != nil && runID != "" && !g.runIDs[runID]:
			why = fmt.Sprintf("%s: a master not seen before (restarted, promoted from replica, or a new node; run_id %s)", addr, runID)
		}
		g.written[first] = true
		if why == "" {
			continue
		}
		causes = append(causes, why)
		for _, rg := range sh.Ranges {
			for sl := rg.Start; sl <= rg.End; sl++ {
				suspect[sl] = true
			}
		}
	}
	if complete && quiet && len(causes) == 0 {
		g.quiet = &snap
		r.loss.quietChecks.Add(1)
	}
	if complete || g.runIDs == nil {
		g.runIDs = seen
	} else {
		for id := range seen {
			g.runIDs[id] = true
		}
	}
	return suspect, causes, complete
}
