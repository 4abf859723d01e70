package apply

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// insertRetry puts o into l.retry in seq order.
func insertRetry(l *lane, o *op) {
	i, _ := slices.BinarySearchFunc(l.retry, o.seq, func(x *op, s uint64) int {
		if x.seq < s {
			return -1
		} else if x.seq > s {
			return 1
		}
		return 0
	})
	l.retry = slices.Insert(l.retry, i, o)
}

// logEntry is a log line prepared under the lock and written after it.
type logEntry struct {
	msg   string
	attrs []any
}

// complete takes ops whose every reply arrived on p, oldest first.
func (a *Applier) complete(ops []*op) {
	var logs []logEntry
	a.mu.Lock()
	for _, o := range ops {
		logs = a.completeLocked(o, logs)
	}
	a.wakeLocked()
	a.mu.Unlock()
	for _, e := range logs {
		a.log.Warn(e.msg, e.attrs...)
	}
}

func (a *Applier) completeLocked(o *op, logs []logEntry) []logEntry {
	l := o.lane
	l.inflight--
	stop, logs := a.policyLocked(o, logs)
	if stop {
		return logs
	}
	if o.retry {
		a.stats.retries[o.rk].Add(1)
		if !o.txn {
			if len(o.retryCmd) == o.sentCount() && o.failed == nil {
				o.failed = nil
			} else {
				o.failed = o.retryCmd
			}
		}
		logs = a.noteRetryLocked(o, logs)
		insertRetry(l, o)
	} else {
		if len(l.retry) > 0 && (len(o.Key) == 0 || len(l.retry[0].Key) == 0 || string(o.Key) == string(l.retry[0].Key)) {
			// The node ran o although an earlier op of its key failed and waits
			// for its retry (the condition cleared in between): o cannot be
			// taken back, the retry will run after it. Report it.
			n := a.stats.reordered.Add(1)
			if logSkip(n) {
				logs = append(logs, logEntry{"op applied before an earlier op of its key that is being retried",
					[]any{"key", string(o.Key), "command", o.cmdName(0), "earlier_failure", l.retry[0].rk.String(),
						"node", o.node, "count", n}})
			}
		}
		o.attempts = 0
		a.ackLocked(o)
	}
	if l.inflight == 0 {
		a.kickLocked(l)
	}
	return logs
}

// logSkip says whether the count-th skipped error of a kind is logged: the
// first 100, then every 1000th (each line carries the count), so that a full
// destination does not flood the log.
func logSkip(count uint64) bool { return count <= 100 || count%1000 == 0 }

// noteRetryLocked updates o's retry bookkeeping and ends Run when o has been
// retried for longer than Config.RetryTimeout.
func (a *Applier) noteRetryLocked(o *op, logs []logEntry) []logEntry {
	now := time.Now()
	if o.attempts == 0 {
		o.firstRetry = now
	}
	o.attempts++
	o.errEpoch = a.topoEpoch.Load()
	if o.attempts == 10 || o.attempts%100 == 0 {
		logs = append(logs, logEntry{"op retried many times", []any{"reason", o.rk.String(), "attempts", o.attempts,
			"key", string(o.Key), "slot", o.Slot, "node", o.node}})
	}
	if a.cfg.RetryTimeout > 0 && now.Sub(o.firstRetry) > a.cfg.RetryTimeout {
		a.failLocked(fmt.Errorf("xsync/apply: gave up on key %q (slot %d, source %d) after %d attempts in %v: last %s from %s",
			o.Key, o.Slot, o.Source, o.attempts, now.Sub(o.firstRetry).Round(time.Millisecond), o.rk, o.node))
	}
	return logs
}

// requeue takes back the ops of a pipe whose connection broke (or could not be
// made): written (lost replies) first, then never written, oldest first. The
// pipe's window and queue are emptied under Applier.mu, so that no op of their
// lanes can slip onto the pipe before them.
func (a *Applier) requeue(p *pipe) (written, unsent int) {
	var logs []logEntry
	a.mu.Lock()
	p.mu.Lock()
	w := p.infl.Reset(nil)
	p.inflN.Store(0)
	u := p.queue.Drain(nil)
	p.dead = false
	p.mu.Unlock()
	var touched []*lane
	for i, list := range [][]*op{w, u} {
		for _, o := range list {
			l := o.lane
			l.inflight--
			o.retry, o.rk, o.redirect = true, RetryConnLost, ""
			// Written and not fully answered: it may have run (for a
			// non-transaction op with several commands, some of them may have).
			o.lost = o.lost || (i == 0 && o.got < o.nrep)
			o.failed = nil
			a.stats.retries[RetryConnLost].Add(1)
			logs = a.noteRetryLocked(o, logs)
			insertRetry(l, o)
			if l.inflight == 0 {
				touched = append(touched, l)
			}
		}
	}
	for _, l := range touched {
		a.kickLocked(l)
	}
	a.mu.Unlock()
	for _, e := range logs {
		a.log.Warn(e.msg, e.attrs...)
	}
	return len(w), len(u)
}

// retrier sends lanes again once their backoff elapsed, refreshing the slot
// table first when their failure asks for it. One goroutine, owned by Run.
type retrier struct {
	a    *Applier
	mu   sync.Mutex
	h    laneHeap
	kick chan struct{}
}

type timedLane struct {
	at time.Time
	l  *lane
}

type laneHeap []timedLane

func (h laneHeap) Len() int           { return len(h) }
func (h laneHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h laneHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)        { *h = append(*h, x.(timedLane)) }
func (h *laneHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (r *retrier) init(a *Applier) {
	r.a = a
	r.kick = make(chan struct{}, 1)
}

func (r *retrier) add(l *lane, at time.Time) {
	r.mu.Lock()
	heap.Push(&r.h, timedLane{at, l})
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// due pops the lanes whose time has come and returns the wait until the next.
func (r *retrier) due(now time.Time, dst []*lane) ([]*lane, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.h) > 0 && !r.h[0].at.After(now) {
		dst = append(dst, heap.Pop(&r.h).(timedLane).l)
	}
	if len(r.h) == 0 {
		return dst, time.Hour
	}
	return dst, r.h[0].at.Sub(now)
}

func (r *retrier) run(ctx context.Context) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var lanes []*lane
	for {
		var wait time.Duration
		lanes, wait = r.due(time.Now(), lanes[:0])
		if len(lanes) > 0 {
			r.a.retryLanes(ctx, lanes)
			continue
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-r.kick:
		case <-t.C:
		}
	}
}

// retryLanes re-sends lanes whose backoff elapsed.
func (a *Applier) retryLanes(ctx context.Context, lanes []*lane) {
	epoch := a.topoEpoch.Load()
	var hint string
	refresh := false
	a.mu.Lock()
	var lost []*op
	for _, l := range lanes {
		for _, o := range l.retry {
			if o.rk.needsRefresh() && o.errEpoch == epoch {
				refresh = true
				if o.redirect != "" {
					hint = o.redirect
				}
			}
			if o.lost && a.cfg.Recheck != nil {
				lost = append(lost, o)
			}
		}
		if len(l.held) > 0 && a.pipeForSlot(int(l.slot)) == nil {
			refresh = true // uncovered slot
		}
	}
	a.mu.Unlock()
	if refresh {
		if err := a.refresh(ctx, hint); err != nil {
			a.log.Warn("slot table refresh failed", "err", err)
		}
	}
	applied, unknown := a.recheck(ctx, lost)
	a.mu.Lock()
	var logs []logEntry
	for _, l := range lanes {
		l.scheduled = false
		if len(applied) > 0 {
			inferApplied(l, applied)
			l.retry = slices.DeleteFunc(l.retry, func(o *op) bool {
				if applied[o] {
					a.stats.rechecked.Add(1)
					a.ackLocked(o)
					return true
				}
				return false
			})
		}
		// A lost op whose recheck failed (the network is still bad) may have
		// run: re-sending it could apply it twice. The lane waits and asks again.
		if i := slices.IndexFunc(l.retry, func(o *op) bool { return unknown[o] }); i >= 0 {
			o := l.retry[i]
			logs = a.noteRetryLocked(o, logs)
			a.scheduleLocked(l, a.backoff(o))
			continue
		}
		if l.inflight == 0 {
			a.dispatchLocked(l)
		}
	}
	a.wakeLocked()
	a.mu.Unlock()
	for _, e := range logs {
		a.log.Warn(e.msg, e.attrs...)
	}
}

// inferApplied marks applied every lost op of l that precedes an op found
// applied: the ops of a lane were written in order on one connection, which the
// destination runs in order, so a later op that ran means the earlier ones ran
// too. This is what makes ops without a checkpoint of their own (an idempotent
// SET or DEL, see Config.Recheck) safe between checkpointed ones: re-sending
// such an op after a later op of its slot ran would undo that later op.
func inferApplied(l *lane, applied map[*op]bool) {
	last := -1
	for i, o := range l.retry {
		if applied[o] {
			last = i
		}
	}
	for _, o := range l.retry[:max(last, 0)] {
		if o.lost {
			applied[o] = true
		}
	}
}

// recheck asks Config.Recheck about ops whose replies were lost: it returns those
// found applied, and those it could not ask about (an error: they stay lost).
func (a *Applier) recheck(ctx context.Context, lost []*op) (applied, unknown map[*op]bool) {
	if len(lost) == 0 {
		return nil, nil
	}
	applied, unknown = make(map[*op]bool), make(map[*op]bool)
	for _, o := range lost {
		ok, err := a.cfg.Recheck(ctx, a, o.Op)
		if err != nil {
			a.log.Warn("recheck failed; asking again after a backoff", "key", string(o.Key), "err", err)
			unknown[o] = true
			continue
		}
		if ok {
			applied[o] = true
		}
	}
	return applied, unknown
}
