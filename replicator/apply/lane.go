package apply

import "time"

// lane is the order of one (Source, Slot): its ops are applied in submit order.
// All the ops of a lane that are queued or in flight sit on one pipe (l.pipe), so
// their replies come back in order. When an op needs a retry, it and every later
// op of the lane that also failed wait in l.retry (sorted by seq) until every
// earlier reply of the lane is in (l.inflight == 0); ops submitted meanwhile wait
// in l.held behind them. Guarded by Applier.mu.
//
// Every op reads and writes its lane, and with keys spread over the slots every
// op's lane is another one: a lane is one cache line (64 bytes, checked by
// TestLaneSize), and the lanes of a source sit in arrays of laneChunk (see
// Applier.laneLocked), so that an op costs one cache miss for its lane, not two
// or three.
type lane struct {
	scheduled bool  // the retrier owns the lane until its timer fires
	slot      int16 // < slots.NumSlots
	inflight  int32 // ops queued on or written to pipe, not yet answered (<= MaxPendingOps)
	pipe      *pipe // where the in-flight ops are (when inflight > 0)
	retry     []*op // failed ops to send again, oldest first
	held      []*op // ops not sent yet, after those in retry
}

// laneChunk is the number of lanes allocated together (16 KiB).
const laneChunk = 256

// enqueueLocked hands a newly submitted op to its lane. With staged nil the op
// is pushed to its pipe at once; otherwise it is staged on the pipe (see
// pipe.stage), which is added to *staged the first time, and the caller
// flushes the pipes of *staged before it lets go of Applier.mu.
func (a *Applier) enqueueLocked(l *lane, o *op, staged *[]*pipe) {
	if l.scheduled || len(l.retry) > 0 || len(l.held) > 0 {
		l.held = append(l.held, o)
		a.kickLocked(l)
		return
	}
	p := a.pipeForSlot(int(l.slot))
	if p == nil || (l.inflight > 0 && p != l.pipe) {
		// Uncovered slot, or the table changed under in-flight ops of the lane:
		// wait until they are answered, then route.
		l.held = append(l.held, o)
		a.kickLocked(l)
		return
	}
	l.pipe = p
	l.inflight++
	if staged == nil {
		p.push(o)
		return
	}
	if len(p.staged) == 0 {
		*staged = append(*staged, p)
	}
	p.stage(o)
}

// kickLocked moves a lane forward once its in-flight ops are all answered:
// failed ops are re-sent (now, or after a backoff or a topology refresh by the
// retrier), then held ops are routed.
func (a *Applier) kickLocked(l *lane) {
	if l.scheduled || l.inflight > 0 {
		return
	}
	if len(l.retry) > 0 {
		head := l.retry[0]
		d := a.backoff(head)
		if d == 0 && !(head.rk.needsRefresh() && head.errEpoch == a.topoEpoch.Load()) {
			a.dispatchLocked(l)
			return
		}
		a.scheduleLocked(l, d)
		return
	}
	if len(l.held) > 0 {
		a.dispatchLocked(l)
	}
}

// backoff is the delay before o is sent again.
func (a *Applier) backoff(o *op) time.Duration {
	if o.rk.immediate() && o.attempts <= 3 {
		return 0
	}
	d := a.cfg.BackoffMin
	for i := 1; i < o.attempts && d < a.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, a.cfg.BackoffMax)
}

func (a *Applier) scheduleLocked(l *lane, d time.Duration) {
	l.scheduled = true
	a.retrier.add(l, time.Now().Add(d))
}

// dispatchLocked sends the lane's failed ops, then its held ops, in order, as
// long as they go to one pipe. It needs inflight == 0 or ops going to l.pipe.
func (a *Applier) dispatchLocked(l *lane) {
	for len(l.retry) > 0 {
		o := l.retry[0]
		ask := o.rk == RetryAsk && o.redirect != ""
		var p *pipe
		if ask {
			p = a.nodeFor(o.redirect).pipeFor(int(l.slot))
		} else {
			p = a.pipeForSlot(int(l.slot))
			if o.rk == RetryMoved && o.redirect != "" && (p == nil || p.n.addr == o.node) {
				// The table still names the node that said MOVED: trust the redirect.
				p = a.nodeFor(o.redirect).pipeFor(int(l.slot))
			}
		}
		if p == nil {
			a.scheduleLocked(l, a.cfg.BackoffMax)
			return
		}
		if l.inflight > 0 && p != l.pipe {
			return // after the earlier ones are answered
		}
		var preload [][]byte
		if o.rk == RetryNoScript {
			preload = a.scripts.bodiesFor(o)
		}
		if err := o.prepare(ask, preload); err != nil {
			a.failLocked(err)
			return
		}
		if o.lost {
			a.stats.resent.Add(1)
			o.lost = false
		}
		l.retry = l.retry[1:]
		l.pipe = p
		l.inflight++
		p.push(o)
	}
	if len(l.held) == 0 {
		return
	}
	p := a.pipeForSlot(int(l.slot))
	if p == nil {
		a.scheduleLocked(l, a.cfg.BackoffMax)
		return
	}
	if l.inflight > 0 && p != l.pipe {
		return
	}
	l.pipe = p
	l.inflight += int32(len(l.held))
	p.pushAll(l.held)
	clear(l.held)
	l.held = l.held[:0]
}
