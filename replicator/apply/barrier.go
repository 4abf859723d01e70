package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xsync/xsync/internal/sleep"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// submitBarrier runs a Barrier op (or an AllMasters op) inside Submit: it waits
// until every earlier op of the source is acknowledged, runs, and only then
// lets Submit return, so no later op of the source can start before it ends.
func (a *Applier) submitBarrier(ctx context.Context, in Op) error {
	if in.Barrier == nil && (in.N <= 0 || len(in.Cmd) == 0) {
		return fmt.Errorf("%w: AllMasters op of source %d without commands", ErrBadOp, in.Source)
	}
	a.mu.Lock()
	if err := a.waitLocked(ctx, false, func() bool { return a.ready }); err != nil {
		a.mu.Unlock()
		return err
	}
	src := a.sourceLocked(in.Source)
	seq := src.push(in.Offset)
	a.pending++
	a.stats.submitted.Add(1)
	err := a.waitLocked(ctx, false, func() bool { return src.base == seq })
	a.mu.Unlock()
	if err == nil {
		if in.Barrier != nil {
			err = in.Barrier(ctx, a)
		} else {
			err = a.runAllMasters(ctx, in)
		}
	}
	a.mu.Lock()
	var logSkipped func()
	if err != nil && ctx.Err() == nil {
		logSkipped, err = a.barrierFailedLocked(in, err)
	}
	defer func() {
		a.mu.Unlock()
		if logSkipped != nil {
			logSkipped()
		}
	}()
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled (its caller stopped): it leaves the source's order, or no
			// later op of the source, nor a Flush, could ever pass it; its offset
			// does not count as applied.
			src.abandon(seq)
			a.pending--
			a.wakeLocked()
		}
		return err
	}
	src.done(seq)
	a.pending--
	a.stats.applied.Add(1)
	a.wakeLocked()
	return nil
}

// barrierFailedLocked puts a failed barrier through the policy when the
// destination answered it with an error reply a retry cannot fix (an
// emulated command the destination refuses, WRONGTYPE, OOM...): under
// PolicySkip it is counted and logged, and the stream goes on (nil); under
// PolicyStop Run ends with an error that says what to do. Any other error
// (a connection that stays lost) ends Run. The log line, if any, is for the
// caller to write once the lock is released.
func (a *Applier) barrierFailedLocked(in Op, err error) (func(), error) {
	what := in.What
	if what == "" {
		what = "barrier"
	}
	var re *conn.ReplyError
	if !errors.As(err, &re) {
		err = fmt.Errorf("xsync/apply: %s of source %d (key %q) failed: %w", what, in.Source, in.Key, err)
		a.failLocked(err)
		return nil, err
	}
	c := classify([]byte(re.Msg))
	kind := c.kind()
	count := a.stats.errors[kind].Add(1)
	a.stats.barrierErrors.Add(1)
	if a.cfg.policy(kind) == PolicySkip {
		if !logSkip(count) {
			return nil, nil
		}
		key := string(in.Key)
		return func() {
			a.log.Warn("destination error skipped", "kind", kind.String(), "key", key, "command", what,
				"reply", re.Msg, "source", in.Source, "count", count, "err", err)
		}, nil
	}
	if kind != KindOOM && a.holdLocked(kind, in.Slot, in.Source, in.Key, what, re.Addr, re.Msg) {
		key := string(in.Key)
		return func() {
			a.log.Warn("destination error held: checking the destination for data loss", "kind", kind.String(),
				"key", key, "command", what, "reply", re.Msg, "source", in.Source)
		}, nil
	}
	if kind == KindOOM {
		err = oomMessage(re.Addr, in.Key, what, re.Msg)
	} else {
		err = fmt.Errorf("xsync/apply: %s of source %d (key %q) failed (policy stop): %w; "+
			"the source's effect is not on the destination: fix the cause and restart the sync (it resumes from the last checkpoint), "+
			"or run with --on-error skip to log and count such errors and go on", what, in.Source, in.Key, err)
	}
	a.failLocked(err)
	return nil, err
}

// runAllMasters runs each command of an AllMasters op on every master.
func (a *Applier) runAllMasters(ctx context.Context, in Op) error {
	sp, err := splitCommands(in.Cmd)
	if err != nil {
		return err
	}
	for _, s := range sp {
		args, _, err := resp.ParseCommand(in.Cmd[s.start:s.end], nil, nil)
		if err != nil {
			return err
		}
		if err := a.DoAll(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Do runs one command on the master that owns slot (see Dest).
func (a *Applier) Do(ctx context.Context, slot int, args ...[]byte) (resp.Value, error) {
	if slot < 0 || slot >= slots.NumSlots || len(args) == 0 {
		return resp.Value{}, fmt.Errorf("%w: Do on slot %d with %d args", ErrBadOp, slot, len(args))
	}
	sargs := make([]string, len(args))
	for i, b := range args {
		sargs[i] = string(b)
	}
	var addr string
	ask := false
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if addr == "" {
			r := a.routes.Load()
			if r != nil && r.bySlot[slot] != nil {
				addr = r.bySlot[slot].addr
			}
		}
		var v resp.Value
		var err error
		if addr == "" {
			err = &conn.ReplyError{Msg: "CLUSTERDOWN slot not served"}
		} else {
			v, err = a.nodeFor(addr).do(ctx, ask, sargs)
		}
		if err == nil {
			return v, nil
		}
		if body := a.noScriptBody(err, args); body != nil && attempt < 3 {
			// EVALSHA of a script known here but not there: load it, run again.
			if _, err := a.nodeFor(addr).do(ctx, false, []string{"SCRIPT", "LOAD", string(body)}); err != nil {
				return resp.Value{}, err
			}
			a.stats.retries[RetryNoScript].Add(1)
			continue
		}
		rk, target, retryable := retryableErr(err)
		if !retryable {
			return resp.Value{}, err
		}
		if a.cfg.RetryTimeout > 0 && time.Since(start) > a.cfg.RetryTimeout {
			return resp.Value{}, fmt.Errorf("xsync/apply: %s on slot %d: still failing after %v: %w", sargs[0], slot, a.cfg.RetryTimeout, err)
		}
		a.stats.retries[rk].Add(1)
		ask = false
		switch rk {
		case RetryAsk:
			addr, ask = target, true
			continue
		case RetryMoved:
			if err := a.refresh(ctx, target); err != nil {
				a.log.Warn("slot table refresh failed", "err", err)
			}
			addr = target
			continue
		}
		if rk.needsRefresh() {
			if err := a.refresh(ctx, ""); err != nil {
				a.log.Warn("slot table refresh failed", "err", err)
			}
		}
		addr = ""
		if err := sleep.For(ctx, a.dialBackoff(attempt)); err != nil {
			return resp.Value{}, err
		}
	}
}

// retryableErr sorts an error of a synchronous command.
func retryableErr(err error) (RetryKind, string, bool) {
	var re *conn.ReplyError
	if errors.As(err, &re) {
		c := classify([]byte(re.Msg))
		if c.retry && c.rk != RetryNoScript {
			return c.rk, c.addr, true
		}
		return 0, "", false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, "", false
	}
	return RetryConnLost, "", true
}

// do runs one command on the node's control connection (ASKING first when
// ask), returning a copy of the reply.
func (n *node) do(ctx context.Context, ask bool, args []string) (resp.Value, error) {
	n.ctlMu.Lock()
	defer n.ctlMu.Unlock()
	c, err := n.control(ctx)
	if err != nil {
		return resp.Value{}, err
	}
	if ask {
		if _, err := c.Do(ctx, "ASKING"); err != nil {
			var re *conn.ReplyError
			if !errors.As(err, &re) {
				n.dropControl()
			}
			return resp.Value{}, err
		}
	}
	v, err := c.Do(ctx, args...)
	if err != nil {
		var re *conn.ReplyError
		if !errors.As(err, &re) {
			n.dropControl()
		}
		return resp.Value{}, err
	}
	return v, nil // conn.Do returns a copy
}

// DoAll runs one command on every master of the current table (see Dest).
func (a *Applier) DoAll(ctx context.Context, args ...[]byte) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: DoAll without a command", ErrBadOp)
	}
	sargs := make([]string, len(args))
	for i, b := range args {
		sargs[i] = string(b)
	}
	t := a.holder.Load()
	if t == nil {
		return ErrNotRunning
	}
	for _, s := range t.Topology().Shards {
		if len(s.Ranges) == 0 && !a.standalone.Load() {
			continue
		}
		n := a.nodeFor(s.Primary.Addr)
		for attempt := 1; ; attempt++ {
			_, err := n.do(ctx, false, sargs)
			if err == nil {
				break
			}
			rk, _, retryable := retryableErr(err)
			if !retryable || rk == RetryMoved || rk == RetryAsk || attempt > 50 {
				return fmt.Errorf("xsync/apply: %s on %s: %w", sargs[0], n.addr, err)
			}
			if err := sleep.For(ctx, a.dialBackoff(attempt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// noScriptBody returns the body of the script that args (EVALSHA sha ...)
// names when err is NOSCRIPT and the body is known.
func (a *Applier) noScriptBody(err error, args [][]byte) []byte {
	if !conn.HasCode(err, "NOSCRIPT") || len(args) < 2 {
		return nil
	}
	if !bytes.EqualFold(args[0], []byte("EVALSHA")) && !bytes.EqualFold(args[0], []byte("EVALSHA_RO")) {
		return nil
	}
	return a.scripts.get(args[1])
}
