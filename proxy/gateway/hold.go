package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// holdState is the cutover side of the gateway: while holding, writes (and every
// later command of a client with a held write, to keep its order) wait in held;
// reads of other clients go on to the current backend.
type holdState struct {
	mu      sync.RWMutex
	holding bool
	since   time.Time
	gen     uint64 // holds begun: a watch session from before a hold is broken (watch.go)
	held    []*request
	pubsubs map[*client]struct{} // clients with a pub/sub session, closed at a switch
}

func (h *holdState) init() { h.pubsubs = map[*client]struct{}{} }

// route hands r to the current backend, or holds it.
func (g *Server) route(r *request) {
	if r.ws != nil {
		g.routeWatch(r)
		return
	}
	h := &g.hold
	h.mu.RLock()
	if !h.holding {
		g.cur.Load().dispatch(r)
		h.mu.RUnlock()
		return
	}
	h.mu.RUnlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding && (r.write || r.cl.held > 0) {
		h.held = append(h.held, r)
		r.cl.held++
		return
	}
	g.cur.Load().dispatch(r)
}

// Hold makes the gateway hold every new write, unblocks the blocking commands in
// flight and returns once every write already sent has been answered: from then
// on the current backend receives no write until Switch or Rollback. With a
// Target, it first loads the target's topology and opens its connections.
func (g *Server) Hold(ctx context.Context) error {
	if !g.prepared.Load() {
		// Before the hold, so that it does not lengthen the pause.
		if err := g.Prepare(ctx); err != nil {
			return err
		}
	}
	h := &g.hold
	h.mu.Lock()
	if h.holding {
		h.mu.Unlock()
		return errors.New("xsync/gateway: the gateway already holds writes")
	}
	if g.ctx.Err() != nil {
		h.mu.Unlock()
		return ErrClosed
	}
	h.holding, h.since = true, time.Now()
	h.gen++
	h.mu.Unlock()
	be := g.cur.Load()
	g.log.Info("gateway: holding writes", "backend", be.name)
	be.unblockAll(ctx)
	return be.waitWrites(ctx)
}

// Prepare loads the Target's topology and opens its connections, so that a
// later Hold and Switch do not wait for them. Hold calls it when it was not
// called before.
func (g *Server) Prepare(ctx context.Context) error {
	if g.dst == nil || g.cur.Load() == g.dst {
		return nil
	}
	if err := g.dst.refresh(ctx); err != nil {
		return err
	}
	if err := g.dst.prewarm(ctx); err != nil {
		return fmt.Errorf("xsync/gateway: connecting to the destination: %w", err)
	}
	g.prepared.Store(true)
	return nil
}

// Holding reports whether writes are held, and since when.
func (g *Server) Holding() (bool, time.Time) {
	h := &g.hold
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.holding, h.since
}

// Held returns the number of commands held.
func (g *Server) Held() int {
	h := &g.hold
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.held)
}

// Switch makes the Target the backend and releases the held commands to it, in
// the order they came. Pub/sub clients are disconnected so that they subscribe
// again, on the Target.
func (g *Server) Switch() error {
	if g.dst == nil {
		return errors.New("xsync/gateway: the gateway has no target to switch to")
	}
	return g.release(g.dst)
}

// Rollback releases the held commands to the current backend (the cutover did
// not happen).
func (g *Server) Rollback() error { return g.release(nil) }

func (g *Server) release(to *backend) error {
	h := &g.hold
	h.mu.Lock()
	if !h.holding {
		h.mu.Unlock()
		return ErrNotHolding
	}
	if to != nil {
		g.cur.Store(to)
	}
	held := h.held
	h.held, h.holding = nil, false
	for _, r := range held {
		r.cl.held = 0
	}
	be := g.cur.Load()
	for _, r := range held {
		be.dispatch(r)
	}
	var ps []*client
	if to != nil {
		for cl := range h.pubsubs {
			ps = append(ps, cl)
		}
	}
	pause := time.Since(h.since)
	h.mu.Unlock()
	for _, cl := range ps {
		_ = cl.c.Close()
	}
	g.log.Info("gateway: writes released", "backend", be.name, "held", len(held), "pause", pause)
	return nil
}

// SwitchNow holds and switches at once, for a gateway that starts after the
// cutover is done.
func (g *Server) SwitchNow(ctx context.Context) error {
	if held, _ := g.Holding(); !held {
		if err := g.Hold(ctx); err != nil {
			return err
		}
	}
	return g.Switch()
}

func (h *holdState) addPubsub(cl *client) {
	h.mu.Lock()
	h.pubsubs[cl] = struct{}{}
	h.mu.Unlock()
}

func (h *holdState) removePubsub(cl *client) {
	h.mu.Lock()
	delete(h.pubsubs, cl)
	h.mu.Unlock()
}

// closeAll fails the held commands when the gateway closes.
func (h *holdState) closeAll() {
	h.mu.Lock()
	held := h.held
	h.held, h.holding = nil, false
	h.mu.Unlock()
	for _, r := range held {
		r.fail("ERR xsync gateway: shutting down")
	}
}
