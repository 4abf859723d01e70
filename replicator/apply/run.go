package apply

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Run connects to the destination (version, cluster or standalone, slot table),
// then applies submitted ops until ctx is cancelled or a fatal error (an error
// reply under PolicyStop, a retry over RetryTimeout, a failed barrier). When ctx
// is cancelled it stops taking ops, waits up to Config.DrainTimeout for those
// already submitted to be acknowledged, and returns nil if they all were.
func (a *Applier) Run(ctx context.Context) error {
	g, gctx, cancel, err := a.start()
	if err != nil {
		return err
	}
	defer close(a.runDone)
	defer a.closeNodes()

	dctx, stopD := ctxOr(ctx, gctx)
	err = a.discover(dctx)
	stopD()
	if err != nil {
		cancel(err)
		g.Wait() //nolint:errcheck // the goroutines return nil
		a.mu.Lock()
		a.failLocked(err)
		a.stopped = true
		a.mu.Unlock()
		return err
	}
	a.mu.Lock()
	a.ready = true
	a.cond.Broadcast()
	a.mu.Unlock()

	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case <-ctx.Done():
		}
		a.drain(gctx)
		cancel(nil)
		return nil
	})
	g.Wait() //nolint:errcheck // fatal errors are recorded in a.err
	cancel(nil)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closing, a.stopped = true, true
	a.cond.Broadcast()
	if a.err != nil {
		return a.err
	}
	if a.pending > 0 {
		return fmt.Errorf("xsync/apply: stopped with %d ops not acknowledged", a.pending)
	}
	return nil
}

// start sets up Run's goroutine group: the pipes of the nodes known so far, the
// retrier, and a keeper that holds the group open until no node can join it.
func (a *Applier) start() (*errgroup.Group, context.Context, context.CancelCauseFunc, error) {
	a.runMu.Lock()
	if a.running {
		a.runMu.Unlock()
		return nil, nil, nil, ErrRunning
	}
	select {
	case <-a.closed:
		a.runMu.Unlock()
		return nil, nil, nil, ErrClosed
	default:
	}
	a.running = true
	workCtx, cancel := context.WithCancelCause(context.Background())
	g, gctx := errgroup.WithContext(workCtx)
	a.group, a.gctx = g, gctx
	a.runMu.Unlock()
	a.mu.Lock()
	a.cancel = cancel
	select {
	case <-a.closed:
		cancel(ErrClosed)
	default:
	}
	a.mu.Unlock()

	a.nodesMu.Lock()
	for _, n := range a.nodes {
		for _, p := range n.pipes {
			g.Go(func() error { return p.run(gctx) })
		}
	}
	a.nodesMu.Unlock()
	g.Go(func() error { return a.retrier.run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		a.runMu.Lock()
		a.group = nil
		a.runMu.Unlock()
		return nil
	})
	return g, gctx, cancel, nil
}

// drain stops Submit and waits up to DrainTimeout for pending ops.
func (a *Applier) drain(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closing = true
	a.cond.Broadcast()
	dctx, cancel := context.WithTimeout(ctx, a.cfg.DrainTimeout)
	defer cancel()
	if err := a.waitLocked(dctx, true, func() bool { return a.pending == 0 }); err != nil && a.err == nil {
		a.log.Warn("stopping with ops not acknowledged", "pending", a.pending, "err", err)
	}
}

// ctxOr returns a context done when either is, and its release function.
func ctxOr(a, b context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// Close stops Run (without draining) and closes every connection. It is
// idempotent and waits for Run to return when Run was started.
func (a *Applier) Close() error {
	a.closeOnce.Do(func() {
		close(a.closed)
		a.mu.Lock()
		a.closing = true
		if a.cancel != nil {
			a.cancel(ErrClosed)
		}
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	a.runMu.Lock()
	running := a.running
	a.runMu.Unlock()
	if running {
		<-a.runDone
	} else {
		a.closeNodes()
	}
	return nil
}

func (a *Applier) closeNodes() {
	a.nodesMu.Lock()
	nodes := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		nodes = append(nodes, n)
	}
	a.nodesMu.Unlock()
	for _, n := range nodes { // n.close takes n.ctlMu, which comes before nodesMu
		n.close()
	}
}
