package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xsync/xsync/resp"
)

// WATCH: a watching client gets a backend connection of its own to the node of
// its watched slot (a pipe outside the pools). WATCH, the client's later
// commands and the MULTI ... EXEC group go there in order, so that the node
// sees the client's reads after its WATCH and runs the EXEC on the connection
// that watches (Redis keeps WATCH state per connection: watchCommand and
// execCommand in Redis's multi.c). EXEC, DISCARD and UNWATCH end the session:
// the connection closes once the replies before them are in.
//
// A cutover hold that begins after the WATCH breaks the session: the EXEC then
// answers a null reply, as when a watched key changed, and never reaches the
// old backend; the client's other commands are routed (and held) as usual.

// Kinds of the requests of a watch session.
const (
	wkNone  uint8 = iota
	wkWatch       // the WATCH command: only ever on the session's connection
	wkExec        // MULTI ... EXEC of a watched transaction
	wkEnd         // the session's last request (UNWATCH): its reply closes the connection
)

type watchSession struct {
	g    *Server
	be   *backend
	slot int
	gen  uint64 // g.hold.gen at the WATCH

	mu    sync.Mutex
	p     *pipe      // nil while dialing
	queue []*request // sent before the pipe was up
	err   error      // the dial failed
	dead  bool       // broken by a hold (or a failed WATCH): EXEC answers null
	done  sync.Once  // the session's connection is closed (or never was)
	// released: closed; a pipe dialed after it is closed at once
	released bool
}

// release closes the session's connection once, after its last reply.
func (ws *watchSession) release() {
	ws.done.Do(func() {
		ws.mu.Lock()
		p := ws.p
		ws.released = true
		ws.mu.Unlock()
		if p != nil {
			go p.close()
		}
		ws.g.stats.watching.Add(-1)
		ws.g.watches.Delete(ws)
	})
}

// closeWatches closes the connections of the watch sessions (Close).
func (g *Server) closeWatches() {
	g.watches.Range(func(k, _ any) bool {
		k.(*watchSession).release()
		return true
	})
}

// watchCommand handles WATCH key [key ...] outside MULTI.
func (cl *client) watchCommand(args [][]byte, raw []byte) {
	if len(args) < 2 {
		cl.local(arityError("watch"))
		return
	}
	_, slot, errReply := classify(args)
	if errReply != nil {
		cl.local(errReply)
		return
	}
	if cl.watch != nil && cl.watch.slot != slot {
		cl.local(resp.AppendError(nil, errCrossSlot))
		return
	}
	if cl.watch == nil {
		cl.watch = cl.g.newWatch(cl, slot)
	}
	cl.submit(&request{cl: cl, raw: wire(raw, args), n: 1, slot: slot, proto: cl.proto, ws: cl.watch, wkind: wkWatch})
}

func (g *Server) newWatch(cl *client, slot int) *watchSession {
	h := &g.hold
	h.mu.RLock()
	ws := &watchSession{g: g, be: g.cur.Load(), slot: slot, gen: h.gen, dead: h.holding}
	h.mu.RUnlock()
	g.stats.watching.Add(1)
	g.watches.Store(ws, struct{}{})
	addr, err := ws.be.addrOf(&request{cl: cl, slot: slot})
	if err != nil {
		ws.err = err
		return ws
	}
	proto := cl.proto
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
		defer cancel()
		p, err := newPipe(ctx, ws.be.node(addr), proto)
		if err != nil {
			err = fmt.Errorf("ERR xsync gateway: the WATCH connection to %s failed: %w", addr, err)
		}
		ws.mu.Lock()
		ws.p, ws.err = p, err
		q := ws.queue
		ws.queue = nil
		late := ws.released && p != nil
		ws.mu.Unlock()
		if late { // the gateway closed meanwhile
			p.close()
		}
		for _, r := range q {
			ws.sendNow(r)
		}
	}()
	return ws
}

// endWatch ends the client's watch session (EXEC, DISCARD, UNWATCH, close):
// an UNWATCH goes after the session's requests, and its reply closes the
// connection.
func (cl *client) endWatch() {
	ws := cl.watch
	if ws == nil {
		return
	}
	cl.watch = nil
	end := &request{cl: cl, be: ws.be, raw: resp.AppendCommandString(nil, "UNWATCH"), n: 1, slot: -1, proto: cl.proto, ws: ws, wkind: wkEnd}
	end.onReply = func([]byte) { ws.release() }
	// In order after the client's earlier commands, even those waiting behind a
	// blocking one; not in the reply order (the client sent no such command).
	cl.mu.Lock()
	if cl.blocking != nil {
		cl.waiting = append(cl.waiting, end)
		cl.mu.Unlock()
		return
	}
	cl.mu.Unlock()
	cl.g.route(end)
}

// execWatched runs EXEC of a transaction while the client watches.
func (cl *client) execWatched(tx *txState) {
	ws := cl.watch
	defer cl.endWatch()
	switch {
	case tx.bad:
		cl.local(resp.AppendError(nil, "EXECABORT Transaction discarded because of previous errors."))
		return
	case tx.slot >= 0 && tx.slot != ws.slot:
		cl.local(resp.AppendError(nil, errCrossSlot))
		return
	}
	cl.submit(&request{cl: cl, raw: resp.AppendCommandString(tx.raw, "EXEC"), n: tx.n + 2, slot: ws.slot, write: tx.write, proto: cl.proto, ws: ws, wkind: wkExec})
}

// routeWatch routes a request of a watch session (route calls it).
func (g *Server) routeWatch(r *request) {
	ws := r.ws
	if r.wkind == wkEnd {
		ws.send(r)
		return
	}
	h := &g.hold
	h.mu.RLock()
	ws.mu.Lock()
	if h.holding || h.gen != ws.gen || g.cur.Load() != ws.be || ws.err != nil {
		ws.dead = true
	}
	dead, werr := ws.dead, ws.err
	ws.mu.Unlock()
	if !dead {
		r.be = ws.be
		if r.write && !r.counted { // counted before the hold can look: it waits for it
			r.counted = true
			ws.be.writes.Add(1)
		}
		ws.send(r)
		h.mu.RUnlock()
		return
	}
	h.mu.RUnlock()
	switch r.wkind {
	case wkExec: // as if a watched key had changed: nothing ran
		r.cl.complete(r, nullArray(r.proto))
		r.cl.flush()
	case wkWatch: // never on a shared connection: its EXEC answers null anyway
		if werr != nil {
			r.fail(errString(werr)) // no node for the slot (CLUSTERDOWN ...), or the dial failed
			return
		}
		r.cl.complete(r, replyOK)
		r.cl.flush()
	default:
		r.ws = nil
		g.route(r)
	}
}

// send hands r to the session's pipe, or queues it while the pipe is dialed.
func (ws *watchSession) send(r *request) {
	ws.mu.Lock()
	if ws.p == nil && ws.err == nil {
		ws.queue = append(ws.queue, r)
		ws.mu.Unlock()
		return
	}
	ws.mu.Unlock()
	ws.sendNow(r)
}

func (ws *watchSession) sendNow(r *request) {
	ws.mu.Lock()
	p, err := ws.p, ws.err
	ws.mu.Unlock()
	if err == nil && p.send(r) {
		return
	}
	if err == nil {
		err = errors.New("ERR xsync gateway: the WATCH connection was lost")
	}
	ws.lost(r, err)
}

// lost finishes a request of the session whose connection failed (before it
// was written): the WATCH and EXEC fail, the others go the usual way.
func (ws *watchSession) lost(r *request, err error) {
	ws.mu.Lock()
	ws.dead = true
	ws.mu.Unlock()
	switch r.wkind {
	case wkEnd:
		ws.release()
	case wkWatch, wkExec:
		r.fail(errString(err))
	default:
		r.ws = nil
		ws.g.route(r)
	}
}

// redirectedWatched handles a -MOVED/-ASK of a session's WATCH or EXEC: the
// watched slot is not (or no more) on the session's node. The WATCH fails with
// the redirection (the topology is reloaded) and the EXEC answers null, as for
// a concurrent change: nothing of it ran.
func (ws *watchSession) redirected(r *request, msg []byte) {
	ws.mu.Lock()
	ws.dead = true
	ws.mu.Unlock()
	ws.be.refreshAsync()
	if r.wkind == wkExec {
		if cl := r.finish(nullArray(r.proto)); cl != nil {
			cl.flush()
		}
		return
	}
	r.fail(string(msg))
}

func nullArray(proto int) []byte {
	if proto == 3 {
		return []byte("_\r\n")
	}
	return []byte("*-1\r\n")
}
