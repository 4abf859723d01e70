package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/internal/sleep"
	"github.com/xsync/xsync/replicator/conn"
)

// node is one destination server: its pipelined connections (pipes) and a
// control connection for synchronous commands (topology, barriers).
type node struct {
	a     *Applier
	addr  string
	pipes []*pipe

	ctlMu sync.Mutex
	ctl   *conn.Conn
	// ctlLive is ctl, readable without ctlMu (held by a command waiting on
	// it); ctlStale says that ctl shared the fate of a lost pipe.
	ctlLive  atomic.Pointer[conn.Conn]
	ctlStale atomic.Bool
}

// nodeFor returns the node for addr, creating it (and starting its pipes when
// Run is running). Callers hold Applier.mu or not: it takes nodesMu (then runMu).
func (a *Applier) nodeFor(addr string) *node {
	a.nodesMu.Lock()
	defer a.nodesMu.Unlock()
	if n := a.nodes[addr]; n != nil {
		return n
	}
	n := &node{a: a, addr: addr}
	for i := 0; i < a.cfg.ConnsPerNode; i++ {
		p := &pipe{a: a, n: n, idx: i, infl: newInflights(a.cfg.InflightCommands, a.cfg.InflightBytes)}
		p.cond = sync.NewCond(&p.mu)
		n.pipes = append(n.pipes, p)
	}
	a.nodes[addr] = n
	a.runMu.Lock()
	if a.group != nil {
		for _, p := range n.pipes {
			a.group.Go(func() error { return p.run(a.gctx) })
		}
	}
	a.runMu.Unlock()
	return n
}

// pipeFor returns the pipe that carries slot on this node.
func (n *node) pipeFor(slot int) *pipe {
	return n.pipes[slot%len(n.pipes)]
}

// control returns the node's control connection, dialing it when needed. The
// caller holds n.ctlMu.
func (n *node) control(ctx context.Context) (*conn.Conn, error) {
	if n.ctlStale.Swap(false) {
		n.dropControl()
	}
	if n.ctl != nil {
		return n.ctl, nil
	}
	o := n.a.cfg.Conn
	o.Addr = n.addr
	c, err := conn.Dial(ctx, o)
	if err != nil {
		if errors.Is(err, conn.ErrFenced) {
			n.a.fail(err)
		}
		return nil, err
	}
	n.ctl = c
	n.ctlLive.Store(c)
	return c, nil
}

// dropControl closes a control connection after an I/O error. Caller holds ctlMu.
func (n *node) dropControl() {
	if n.ctl != nil {
		n.ctl.Close()
		n.ctl = nil
		n.ctlLive.Store(nil)
	}
}

// pipeLost tells the node that a pipe lost its connection. Whatever broke it
// (a restart, a partition, CLIENT KILL) most likely broke the control
// connection too: it is closed now, failing at once a command that waits on it
// (the recheck of the pipe's lost ops comes next), and dialed again when next
// needed, instead of each connection waiting out a timeout of its own.
func (n *node) pipeLost() {
	n.ctlStale.Store(true)
	if c := n.ctlLive.Load(); c != nil {
		c.Close()
	}
}

func (n *node) close() {
	n.ctlMu.Lock()
	n.dropControl()
	n.ctlMu.Unlock()
}

// pipe is one pipelined connection to a node: a queue of ops to write, written
// in batches by its writer, and the window of ops written and not yet answered,
// whose replies its reader matches in order.
//
// Locks: mu guards the queue, the window and the flags; dlMu only orders the
// read-deadline updates of the writer and the reader. The two are never held
// together, and mu comes after Applier.mu (see Applier).
type pipe struct {
	a   *Applier
	n   *node
	idx int

	mu      sync.Mutex
	cond    *sync.Cond // p.mu: queue not empty, window room, connection dead
	queue   opQueue
	infl    *inflights
	stopped bool // Run is over
	dead    bool // the current connection failed

	inflN atomic.Int64 // infl.Count(), for the read deadline
	dlMu  sync.Mutex   // orders read-deadline updates of writer and reader

	staged []*op // SubmitBatch's ops for this pipe, not yet queued (Applier.mu)
}

// push queues o for writing (Applier.mu held; takes p.mu).
func (p *pipe) push(o *op) {
	p.mu.Lock()
	p.queue.Push(o)
	if p.queue.Len() == 1 { // the writer (or run) only waits on an empty queue or a full window
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

// stage sets o aside for flushStaged (Applier.mu held). Staged ops count as
// queued for their lane (l.inflight): flushStaged runs before Applier.mu is let
// go, so no reply or requeue can see a lane whose op is only staged.
func (p *pipe) stage(o *op) { p.staged = append(p.staged, o) }

// flushStaged queues the staged ops, waking the writer once (Applier.mu held).
func (p *pipe) flushStaged() {
	if len(p.staged) == 0 {
		return
	}
	p.pushAll(p.staged)
	clear(p.staged)
	p.staged = p.staged[:0]
}

func (p *pipe) pushAll(ops []*op) {
	p.mu.Lock()
	for _, o := range ops {
		p.queue.Push(o)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

var errPipeDead = errors.New("xsync/apply: connection closed")

// run keeps a connection up while there is work and gives the ops of a broken
// connection back to their lanes.
func (p *pipe) run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.stopped = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	failures := 0
	for {
		p.mu.Lock()
		for p.queue.Len() == 0 && !p.stopped {
			p.cond.Wait()
		}
		stopped := p.stopped
		p.mu.Unlock()
		if stopped {
			return nil
		}
		o := p.a.cfg.Conn
		o.Addr = p.n.addr
		c, err := conn.Dial(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, conn.ErrFenced) {
				// Another xsync process leads now: never write again.
				p.a.fail(err)
				return nil
			}
			failures++
			p.a.log.Warn("destination node unreachable", "node", p.n.addr, "err", err, "failures", failures)
			p.a.requeue(p)
			if err := sleep.For(ctx, p.a.dialBackoff(failures)); err != nil {
				return nil
			}
			continue
		}
		p.a.stats.connects.Add(1)
		failures = 0
		if err := p.a.scripts.preload(ctx, c); err != nil {
			p.a.log.Warn("loading known scripts on a new connection failed", "node", p.n.addr, "err", err)
		}
		err = p.serve(ctx, c)
		c.Close()
		if ctx.Err() == nil {
			p.n.pipeLost()
		}
		written, unsent := p.a.requeue(p)
		if ctx.Err() != nil {
			return nil
		}
		failures++
		p.a.log.Warn("destination connection lost", "node", p.n.addr, "err", err,
			"in_flight", written, "queued", unsent)
		if err := sleep.For(ctx, p.a.dialBackoff(failures)); err != nil {
			return nil
		}
	}
}

func (a *Applier) dialBackoff(failures int) time.Duration {
	d := a.cfg.BackoffMin
	for i := 1; i < failures && d < a.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, a.cfg.BackoffMax)
}

// serve runs the writer and the reader of one connection until the reader
// fails. A failed write only stops the writer: replies already on their way are
// still read, so that fewer ops end with a lost reply.
func (p *pipe) serve(ctx context.Context, c *conn.Conn) error {
	c.NetConn().SetDeadline(time.Time{}) //nolint:errcheck // Dial's handshake left one
	kill := func() {
		c.NetConn().Close() //nolint:errcheck // unblocks the reader and the writer's Write
		p.mu.Lock()
		p.dead = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, kill)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() { // owned: serve waits for it
		defer wg.Done()
		werr = p.writeLoop(c)
		if werr != nil && !errors.Is(werr, errPipeDead) {
			p.a.log.Debug("write failed; reading the replies still coming", "node", p.n.addr, "err", werr)
		}
	}()
	err := p.readLoop(c)
	kill()
	wg.Wait()
	if err == nil {
		err = werr
	}
	return err
}

// readLoop matches replies to the window in order. Completed ops are handed to
// the applier in groups, whenever no further reply is buffered.
func (p *pipe) readLoop(c *conn.Conn) error {
	r := c.Reader()
	nc := c.NetConn()
	var done []*op
	defer func() {
		if len(done) > 0 {
			p.a.complete(done)
		}
	}()
	var now int64 // when the replies buffered now were read (0: not asked yet)
	for {
		if r.Buffered() == 0 {
			now = 0
			if len(done) > 0 {
				p.a.complete(done)
				done = done[:0]
			}
			p.dlMu.Lock()
			if p.inflN.Load() > 0 {
				nc.SetReadDeadline(time.Now().Add(p.a.cfg.ReplyTimeout)) //nolint:errcheck
			} else {
				nc.SetReadDeadline(time.Time{}) //nolint:errcheck
			}
			p.dlMu.Unlock()
		}
		v, _, err := r.ReadValue()
		if err != nil {
			return fmt.Errorf("xsync/apply: read from %s: %w", p.n.addr, err)
		}
		p.mu.Lock()
		o := p.infl.Front()
		p.mu.Unlock()
		if o == nil {
			return fmt.Errorf("%w: %s sent %s", errUnexpectedReply, p.n.addr, v.String())
		}
		if !o.feed(v) {
			continue
		}
		p.mu.Lock()
		full := p.infl.Full()
		p.infl.FreeFirst()
		p.inflN.Store(int64(p.infl.Count()))
		if full {
			p.cond.Broadcast()
		}
		p.mu.Unlock()
		if obs := p.a.cfg.OnReply; obs != nil && o.sentAt != 0 {
			// Replies that arrived in one read share its time: one clock read
			// per read, not per op.
			if now == 0 {
				now = time.Now().UnixNano()
			}
			obs(p.n.addr, time.Duration(now-o.sentAt))
		}
		done = append(done, o)
		if len(done) >= 256 {
			p.a.complete(done)
			done = done[:0]
		}
	}
}
