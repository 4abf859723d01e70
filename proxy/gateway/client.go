package gateway

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/xsync/xsync/resp"
)

// request is one command (or one MULTI..EXEC group) of a client on its way to a
// backend, and then its reply waiting for its turn in the client's reply order.
type request struct {
	cl    *client
	be    *backend // where it was dispatched (set by backend.dispatch)
	raw   []byte   // the command(s) as RESP, sent as they are
	n     int      // commands in raw: replies the backend sends
	slot  int      // -1: no key
	write bool     // held during a cutover
	block bool     // a blocking command: runs on a dedicated connection
	proto int      // 2 or 3: the pipe set it uses

	counted   bool // counted in be.writes (under the owner of r)
	fan       fanKind
	onReply   func(raw []byte) // set on the parts of a fan-out
	asking    bool             // send ASKING first (redirected by -ASK)
	addr      string           // node to use instead of the slot's owner ("" = the slot's)
	redirects int
	ws        *watchSession // sent on a watching client's own connection (watch.go)
	wkind     uint8         // what it is to the watch session (wkWatch, wkExec, ...)

	// Under cl.mu:
	done bool
	out  []byte // the reply, when it finished before its turn
	next *request
}

func (r *request) replies() int {
	if r.asking {
		return r.n + 1
	}
	return r.n
}

// finish records the raw reply (copied) and returns the client to flush.
func (r *request) finish(raw []byte) *client {
	r.uncount()
	if r.onReply != nil { // a part of a fan-out: the merge finishes the parent
		r.onReply(raw)
		return nil
	}
	r.cl.complete(r, raw)
	return r.cl
}

// finishError finishes r with an error reply and flushes its client.
func (r *request) finishError(msg string) {
	if cl := r.finish(resp.AppendError(nil, msg)); cl != nil {
		cl.flush()
	}
}

// client is one client connection. Fields above mu belong to the event loop.
type client struct {
	g  *Server
	c  gnet.Conn
	id uint64

	authed bool
	proto  int
	name   string
	args   [][]byte
	tx     *txState
	ps     *pubsubSession

	mu       sync.Mutex
	head     *request
	tail     *request
	pending  int
	out      []byte
	push     []byte // pub/sub messages waiting behind pending replies
	closed   bool
	quitting bool       // close after the replies queued (QUIT, protocol error)
	blocking *request   // an outstanding blocking command: later commands wait
	waiting  []*request // behind blocking
	paused   atomic.Bool
	held     int // requests held by the cutover (under g.hold.mu)
	queued   int // bytes of replies stored and not handed to the event loop yet

	need       int          // event loop: inbound bytes needed before parsing again (0: any)
	softSince  time.Time    // event loop: since when the output is over the soft limit
	outbound   atomic.Int64 // the connection's outbound buffer, as the event loop last saw it
	async      atomic.Int64 // bytes handed to AsyncWrite that the event loop has not taken yet
	dropping   atomic.Bool  // being closed for its output
	lastActive atomic.Int64 // unix ns of the last input
	subscribed atomic.Bool  // in pub/sub mode (spared by the idle timeout)

	created time.Time     // set before the client is published in Server.clients (CLIENT LIST age)
	watch   *watchSession // event loop: WATCH in effect (watch.go)
}

func newClient(g *Server, c gnet.Conn, id uint64) *client {
	cl := &client{g: g, c: c, id: id, authed: g.cfg.Password == "", proto: 2}
	cl.lastActive.Store(time.Now().UnixNano())
	return cl
}

// onTraffic parses every complete command in the inbound buffer (zero copy) and
// hands each to the backend; it stops early when too many replies are pending
// (Wake resumes it).
func (cl *client) onTraffic() gnet.Action {
	cl.mu.Lock()
	quitting := cl.quitting
	cl.mu.Unlock()
	if quitting {
		_, _ = cl.c.Discard(-1)
		return gnet.None
	}
	cl.lastActive.Store(time.Now().UnixNano())
	if cl.need > 0 && cl.c.InboundBuffered() < cl.need {
		// The command under way declared more bytes than have come: looking at
		// (and gnet copying) the buffer again would make a large bulk quadratic.
		return gnet.None
	}
	cl.need = 0
	cl.g.stats.peeks.Add(1)
	buf, _ := cl.c.Peek(-1)
	pos := 0
	action := gnet.None
	for pos < len(buf) {
		if cl.over() {
			cl.paused.Store(true)
			if !cl.over() { // replies drained meanwhile
				cl.paused.Store(false)
			} else {
				break
			}
		}
		args, n, need, err := resp.ParseCommandNeed(buf[pos:], cl.args[:0], cl.limits())
		if errors.Is(err, resp.ErrIncomplete) {
			cl.need = need // relative to pos, which is discarded below
			break
		}
		if err != nil {
			cl.g.dropped(dropProtocol)
			cl.local(resp.AppendError(nil, "ERR Protocol error: "+protocolText(err, cl.authed)))
			pos = len(buf)
			action = gnet.Close
			break
		}
		raw := buf[pos : pos+n]
		pos += n
		cl.args = args
		if len(args) == 0 {
			continue
		}
		cl.g.stats.commands.Add(1)
		if cl.command(args, raw) {
			pos = len(buf)
			action = gnet.Close
			break
		}
	}
	if pos > 0 { // gnet's Discard(0) would drop the whole buffer
		_, _ = cl.c.Discard(pos)
	}
	if action == gnet.Close {
		// Let the replies already queued go out first.
		cl.flushThenClose()
		return gnet.None
	}
	cl.subscribed.Store(cl.ps != nil)
	cl.flush()
	return action
}

func (cl *client) over() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.pending >= cl.g.cfg.MaxPending
}

// enqueue appends r to the reply order.
func (cl *client) enqueue(r *request) {
	cl.mu.Lock()
	if cl.tail == nil {
		cl.head, cl.tail = r, r
	} else {
		cl.tail.next, cl.tail = r, r
	}
	cl.pending++
	cl.mu.Unlock()
}

// local queues a reply made by the gateway itself.
func (cl *client) local(reply []byte) {
	r := &request{cl: cl}
	cl.enqueue(r)
	cl.complete(r, reply)
}

// complete stores r's reply and moves every finished reply at the head of the
// order into the output buffer.
func (cl *client) complete(r *request, raw []byte) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	r.done = true
	if cl.dropping.Load() {
		raw = nil // closed for its output: the reply is dropped
	}
	if cl.head != r {
		r.out = append([]byte(nil), raw...)
		cl.queued += len(raw)
		cl.checkQueuedLocked()
		return
	}
	cl.out = append(cl.out, raw...)
	cl.popLocked(r)
	for h := cl.head; h != nil && h.done; h = cl.head {
		cl.out = append(cl.out, h.out...)
		cl.queued -= len(h.out)
		h.out = nil
		cl.popLocked(h)
	}
	if cl.head == nil && len(cl.push) > 0 {
		cl.out = append(cl.out, cl.push...)
		cl.push = cl.push[:0]
	}
}

func (cl *client) popLocked(h *request) {
	cl.head = h.next
	if cl.head == nil {
		cl.tail = nil
	}
	h.next = nil
	cl.pending--
}

// pushRaw forwards a message that is no reply (pub/sub) in order after every
// pending reply.
func (cl *client) pushRaw(raw []byte) {
	cl.mu.Lock()
	if cl.head == nil {
		cl.out = append(cl.out, raw...)
	} else {
		cl.push = append(cl.push, raw...)
		cl.checkQueuedLocked()
	}
	cl.mu.Unlock()
	cl.flush()
}

// flush hands the output to gnet (AsyncWrite keeps the order of the calls, made
// under mu) and resumes reading when the client was paused. A quitting client is
// closed once its last reply is written.
func (cl *client) flush() {
	cl.mu.Lock()
	if cl.quitting && cl.head == nil && !cl.closed {
		out := cl.out
		cl.out = nil
		cl.closed = true // nothing more for this client
		cl.mu.Unlock()
		_ = cl.c.AsyncWrite(out, func(c gnet.Conn, _ error) error { return c.Close() })
		return
	}
	if cl.dropping.Load() {
		cl.out, cl.push = nil, nil // closed for its output: nothing more is queued
	}
	if len(cl.out) > 0 && !cl.closed {
		out := cl.out
		cl.out = nil
		n := int64(len(out))
		cl.async.Add(n)
		_ = cl.c.AsyncWrite(out, func(c gnet.Conn, err error) error {
			cl.async.Add(-n)
			return cl.outputCheck(c, err)
		})
		cl.checkQueuedLocked()
	}
	resume := cl.pending < cl.g.cfg.MaxPending/2 && !cl.closed
	cl.mu.Unlock()
	if resume && cl.paused.CompareAndSwap(true, false) {
		_ = cl.c.Wake(nil)
	}
}

// flushThenClose closes the connection after every reply queued so far (QUIT, a
// protocol error); later input is ignored.
func (cl *client) flushThenClose() {
	cl.mu.Lock()
	cl.quitting = true
	cl.mu.Unlock()
	cl.flush()
}

// closeClient runs when the connection is gone: replies still to come are dropped.
func (cl *client) closeClient() {
	cl.mu.Lock()
	cl.closed = true
	cl.out, cl.push = nil, nil
	cl.mu.Unlock()
	cl.endWatch()
	if cl.ps != nil {
		cl.ps.close()
		cl.g.hold.removePubsub(cl)
	}
}

// submit sends r to the backend, after the client's outstanding blocking command.
func (cl *client) submit(r *request) {
	if cl.watch != nil && r.ws == nil && !r.block && r.fan == fanNone {
		r.ws = cl.watch // in order on the watching connection
	}
	cl.enqueue(r)
	cl.mu.Lock()
	if cl.blocking != nil {
		cl.waiting = append(cl.waiting, r)
		cl.mu.Unlock()
		return
	}
	if r.block {
		cl.blocking = r
	}
	cl.mu.Unlock()
	cl.g.route(r)
}

// unblocked is called when the blocking command r finished: the commands that
// waited behind it go now, up to the next blocking one.
func (cl *client) unblocked(r *request) {
	cl.mu.Lock()
	if cl.blocking != r {
		cl.mu.Unlock()
		return
	}
	cl.blocking = nil
	var go_ []*request
	for i, w := range cl.waiting {
		go_ = append(go_, w)
		if w.block {
			cl.blocking = w
			cl.waiting = append(cl.waiting[:0], cl.waiting[i+1:]...)
			break
		}
		if i == len(cl.waiting)-1 {
			cl.waiting = cl.waiting[:0]
		}
	}
	cl.mu.Unlock()
	for _, w := range go_ {
		cl.g.route(w)
	}
}
