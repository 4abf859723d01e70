package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// backend is one cluster (or standalone server) the gateway forwards to: its slot
// table and a pool of pipelined connections per node.
type backend struct {
	gw    *Server
	name  string // "source" or "destination"
	seeds []string
	opts  conn.Options

	table       atomic.Pointer[slots.Table]
	refreshing  atomic.Bool
	lastRefresh atomic.Int64 // unix nanos

	writes  atomic.Int64  // writes dispatched and not yet answered
	drained chan struct{} // cap 1: writes reached 0

	mu       sync.Mutex
	nodes    map[string]*nodePool
	blocking map[*blockingConn]struct{}
	closed   bool
}

func newBackend(g *Server, name string, b Backend) *backend {
	return &backend{gw: g, name: name, seeds: b.Seeds, opts: b.Conn, drained: make(chan struct{}, 1),
		nodes: map[string]*nodePool{}, blocking: map[*blockingConn]struct{}{}}
}

// dispatch sends a request routed to this backend for the first time.
func (be *backend) dispatch(r *request) {
	r.be = be
	if r.write && !r.counted {
		r.counted = true
		be.writes.Add(1)
	}
	be.send(r)
}

// writeDone is called once per counted write when it is answered.
func (be *backend) writeDone() {
	if be.writes.Add(-1) == 0 {
		select {
		case be.drained <- struct{}{}:
		default:
		}
	}
}

// waitWrites returns when no write is in flight.
func (be *backend) waitWrites(ctx context.Context) error {
	for be.writes.Load() > 0 {
		select {
		case <-be.drained:
		case <-ctx.Done():
			return fmt.Errorf("xsync/gateway: %d writes to the %s still unanswered: %w", be.writes.Load(), be.name, ctx.Err())
		}
	}
	return nil
}

// send routes r by its slot (or its redirection) to a node.
func (be *backend) send(r *request) {
	addr, err := be.addrOf(r)
	if err != nil {
		r.fail(err.Error())
		return
	}
	if be.gw.ctx.Err() != nil {
		r.fail("ERR xsync gateway: shutting down")
		return
	}
	if r.block {
		be.runBlocking(r, addr)
		return
	}
	if r.fan != fanNone {
		be.fanout(r)
		return
	}
	be.node(addr).send(r)
}

func (be *backend) addrOf(r *request) (string, error) {
	if r.addr != "" {
		return r.addr, nil
	}
	t := be.table.Load()
	if t == nil {
		return "", errors.New("CLUSTERDOWN xsync gateway: no topology yet")
	}
	if r.slot < 0 {
		sh := t.Topology().Shards
		if len(sh) == 0 {
			return "", errors.New("CLUSTERDOWN xsync gateway: the backend has no shard")
		}
		return sh[int(r.cl.id%uint64(len(sh)))].Primary.Addr, nil
	}
	n, ok := t.Primary(r.slot)
	if !ok || n.Addr == "" {
		be.refreshAsync()
		return "", errors.New("CLUSTERDOWN Hash slot not served")
	}
	return n.Addr, nil
}

// anyNode returns a primary of the backend.
func (be *backend) anyNode() (string, error) {
	t := be.table.Load()
	if t == nil || len(t.Topology().Shards) == 0 {
		return "", errors.New("xsync/gateway: no topology")
	}
	return t.Topology().Shards[0].Primary.Addr, nil
}

func (be *backend) node(addr string) *nodePool {
	be.mu.Lock()
	defer be.mu.Unlock()
	np := be.nodes[addr]
	if np == nil {
		np = &nodePool{be: be, addr: addr}
		for i := range np.slots {
			np.slots[i] = make([]pipeSlot, be.gw.cfg.ConnsPerNode)
		}
		be.nodes[addr] = np
	}
	return np
}

// redirected retries r after -MOVED, -ASK, -TRYAGAIN or -CLUSTERDOWN (msg is
// the error text, only valid during the call).
func (be *backend) redirected(r *request, msg []byte) {
	if r.wkind == wkWatch || r.wkind == wkExec {
		r.ws.redirected(r, msg) // watch.go: never re-sent without the WATCH
		return
	}
	r.redirects++
	st := &be.gw.stats
	if r.redirects > be.gw.cfg.MaxRedirects || be.gw.ctx.Err() != nil {
		st.redirFail.Add(1)
		r.fail(string(msg))
		return
	}
	kind := redirect(msg)
	f := strings.Fields(string(msg))
	switch {
	case kind == "MOVED" && len(f) == 3:
		st.moved.Add(1)
		r.asking, r.addr = false, be.fixHost(f[2])
		be.refreshAsync()
		be.send(r)
	case kind == "ASK" && len(f) == 3 && r.n == 1:
		st.ask.Add(1)
		r.asking, r.addr = true, be.fixHost(f[2])
		be.send(r)
	default: // TRYAGAIN, CLUSTERDOWN, ASK inside a transaction: a slot is moving
		st.tryagain.Add(1)
		r.asking, r.addr = false, ""
		be.refreshAsync()
		time.AfterFunc(time.Duration(r.redirects)*10*time.Millisecond, func() { be.send(r) })
	}
}

// fixHost fills the host of "host:port" when a node sent ":port".
func (be *backend) fixHost(addr string) string {
	if strings.HasPrefix(addr, ":") && len(be.seeds) > 0 {
		if h, _, err := net.SplitHostPort(be.seeds[0]); err == nil {
			return net.JoinHostPort(h, addr[1:])
		}
	}
	return addr
}

// retry sends r again after its connection broke before r was written.
func (be *backend) retry(r *request, _ time.Duration) {
	if r.ws != nil && r.wkind != wkNone {
		r.ws.lost(r, errors.New("ERR xsync gateway: the WATCH connection was lost")) // watch.go
		return
	}
	if be.gw.ctx.Err() != nil {
		r.fail("ERR xsync gateway: shutting down")
		return
	}
	be.send(r)
}

// refreshAsync reloads the topology in the background, at most every 100ms.
func (be *backend) refreshAsync() {
	if time.Since(time.Unix(0, be.lastRefresh.Load())) < 100*time.Millisecond {
		return
	}
	if !be.refreshing.CompareAndSwap(false, true) {
		return
	}
	be.gw.wg.Add(1)
	go func() {
		defer be.gw.wg.Done()
		defer be.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(be.gw.ctx, 5*time.Second)
		defer cancel()
		if err := be.refresh(ctx); err != nil && be.gw.ctx.Err() == nil {
			be.gw.log.Warn("gateway: topology refresh failed", "backend", be.name, "err", err)
		}
	}()
}

// refresh reads the topology from the first node that answers: CLUSTER SHARDS,
// CLUSTER SLOTS before 7.0; a server without cluster support is one shard.
func (be *backend) refresh(ctx context.Context) error {
	be.lastRefresh.Store(time.Now().UnixNano())
	var addrs []string
	if t := be.table.Load(); t != nil {
		for _, sh := range t.Topology().Shards {
			addrs = append(addrs, sh.Primary.Addr)
		}
	}
	addrs = append(addrs, be.seeds...)
	var errs []error
	for _, addr := range addrs {
		topo, err := be.topologyFrom(ctx, addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		be.table.Store(slots.NewTable(topo))
		return nil
	}
	return fmt.Errorf("xsync/gateway: %s topology: %w", be.name, errors.Join(errs...))
}

func (be *backend) topologyFrom(ctx context.Context, addr string) (slots.Topology, error) {
	o := be.opts
	o.Addr = addr
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return slots.Topology{}, err
	}
	defer c.Close()
	var topo slots.Topology
	v, err := c.Do(ctx, "CLUSTER", "SHARDS")
	switch {
	case err == nil:
		topo, err = slots.ParseClusterShards(v)
	case strings.Contains(err.Error(), "cluster support disabled"):
		return slots.Topology{Shards: []slots.Shard{{Primary: slots.Node{Addr: addr, Primary: true}, Ranges: []slots.Range{{Start: 0, End: slots.NumSlots - 1}}}}}, nil
	case conn.HasCode(err, "ERR"):
		if v, err = c.Do(ctx, "CLUSTER", "SLOTS"); err == nil {
			topo, err = slots.ParseClusterSlots(v)
		}
	}
	if err != nil {
		return slots.Topology{}, fmt.Errorf("%s: %w", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	for i := range topo.Shards {
		p := &topo.Shards[i].Primary
		if strings.HasPrefix(p.Addr, ":") {
			p.Addr = net.JoinHostPort(host, p.Addr[1:])
		}
	}
	return topo, nil
}

// prewarm dials the pipes of every primary, so that the first commands after a
// switch do not wait for connections.
func (be *backend) prewarm(ctx context.Context) error {
	t := be.table.Load()
	if t == nil {
		return errors.New("xsync/gateway: no topology")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 4) // a few dials at a time: the clients keep the CPU
	for _, sh := range t.Topology().Shards {
		np := be.node(sh.Primary.Addr)
		for proto := 2; proto <= 3; proto++ {
			for i := range np.slots[proto-2] {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					if err := np.ensure(ctx, proto, i); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}()
			}
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (be *backend) close() {
	be.mu.Lock()
	be.closed = true
	nodes := be.nodes
	be.mu.Unlock()
	for _, np := range nodes {
		np.close()
	}
}

// nodePool holds ConnsPerNode pipes per protocol to one node.
type nodePool struct {
	be    *backend
	addr  string
	mu    sync.Mutex
	slots [2][]pipeSlot // [proto-2][client id % ConnsPerNode]
}

type pipeSlot struct {
	p       *pipe
	dialing bool
	waiting []*request
}

func (np *nodePool) send(r *request) {
	proto := r.proto
	if proto != 3 {
		proto = 2
	}
	idx := int(r.cl.id % uint64(len(np.slots[0])))
	np.mu.Lock()
	sl := &np.slots[proto-2][idx]
	if sl.p != nil && sl.p.send(r) {
		np.mu.Unlock()
		return
	}
	sl.p = nil
	sl.waiting = append(sl.waiting, r)
	if !sl.dialing {
		sl.dialing = true
		np.be.gw.wg.Add(1)
		go func() {
			defer np.be.gw.wg.Done()
			ctx, cancel := context.WithTimeout(np.be.gw.ctx, 10*time.Second)
			defer cancel()
			_ = np.ensure(ctx, proto, idx)
		}()
	}
	np.mu.Unlock()
}

// ensure dials the pipe of (proto, idx) when it has none, then sends what waits.
func (np *nodePool) ensure(ctx context.Context, proto, idx int) error {
	np.mu.Lock()
	sl := &np.slots[proto-2][idx]
	if sl.p != nil && !sl.p.broken() {
		np.mu.Unlock()
		return nil
	}
	sl.dialing = true
	np.mu.Unlock()
	p, err := newPipe(ctx, np, proto)
	np.be.mu.Lock()
	closed := np.be.closed
	np.be.mu.Unlock()
	var drop *pipe // closed after the lock: its fail may re-route into this pool
	np.mu.Lock()
	sl.dialing = false
	waiting := sl.waiting
	sl.waiting = nil
	switch {
	case err == nil && closed:
		drop, err = p, ErrClosed
	case err == nil && sl.p != nil && !sl.p.broken():
		drop, p = p, sl.p // another dial won: keep its pipe
	case err == nil:
		sl.p = p
	}
	rest := waiting
	if err == nil {
		rest = nil
		for i, r := range waiting {
			if !p.send(r) { // broke meanwhile: never written, route again
				rest = waiting[i:]
				break
			}
		}
	}
	np.mu.Unlock()
	if drop != nil {
		drop.close()
	}
	for _, r := range rest {
		if err == nil {
			np.be.retry(r, 0)
		} else {
			r.fail("ERR xsync gateway: " + np.addr + ": " + errString(err))
		}
	}
	if err != nil {
		np.be.refreshAsync()
	}
	return err
}

func errString(err error) string {
	if err == nil {
		return "connection failed"
	}
	return strings.Map(noCRLF, err.Error())
}

func (np *nodePool) close() {
	np.mu.Lock()
	var ps []*pipe
	for i := range np.slots {
		for j := range np.slots[i] {
			if p := np.slots[i][j].p; p != nil {
				ps = append(ps, p)
			}
		}
	}
	np.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
}

// fail finishes r with an error reply (msg without '-').
func (r *request) fail(msg string) {
	if r.onReply != nil {
		r.finish(resp.AppendError(nil, msg))
		return
	}
	r.cl.complete(r, resp.AppendError(nil, msg))
	r.uncount()
	r.cl.flush()
	if r.block {
		r.cl.unblocked(r)
	}
}

// uncount ends r's place among the writes in flight.
func (r *request) uncount() {
	if r.counted {
		r.counted = false
		r.be.writeDone()
	}
}
