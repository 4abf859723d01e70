package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// rawReader reads whole RESP values from a connection and returns their wire
// bytes; the slice is valid until the next call.
type rawReader struct {
	nc  net.Conn
	buf []byte
	pos int
}

// backendLimits bound the replies of the backend (the defaults).
var backendLimits = &resp.Limits{}

func newRawReader(nc net.Conn) *rawReader { return &rawReader{nc: nc, buf: make([]byte, 0, 4096)} }

func (rr *rawReader) next() ([]byte, resp.Value, error) {
	if rr.pos > 0 {
		rr.buf = rr.buf[:copy(rr.buf, rr.buf[rr.pos:])]
		rr.pos = 0
	}
	for {
		v, n, err := resp.ParseValue(rr.buf, backendLimits)
		if err == nil {
			rr.pos = n
			return rr.buf[:n], v, nil
		}
		if !errors.Is(err, resp.ErrIncomplete) {
			return nil, resp.Value{}, err
		}
		if len(rr.buf) == cap(rr.buf) {
			nb := make([]byte, len(rr.buf), 2*cap(rr.buf))
			copy(nb, rr.buf)
			rr.buf = nb
		}
		m, err := rr.nc.Read(rr.buf[len(rr.buf):cap(rr.buf)])
		rr.buf = rr.buf[:len(rr.buf)+m]
		if err != nil && m == 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, resp.Value{}, err
		}
	}
}

// dedicated is a backend connection owned by one blocking command at a time.
type dedicated struct {
	c  *conn.Conn
	rr *rawReader
	id string // CLIENT ID on the node, for CLIENT UNBLOCK
}

func dialDedicated(ctx context.Context, be *backend, addr string, proto int) (*dedicated, error) {
	o := be.opts
	o.Addr = addr
	o.ReadTimeout = 10 * time.Second
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	if proto == 3 {
		if _, err := c.Do(ctx, "HELLO", "3"); err != nil {
			c.Close()
			return nil, err
		}
	}
	v, err := c.Do(ctx, "CLIENT", "ID")
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.NetConn().SetDeadline(time.Time{})
	return &dedicated{c: c, rr: newRawReader(c.NetConn()), id: fmt.Sprint(v.Int)}, nil
}

// runBlocking runs a blocking command on a dedicated connection, off the event
// loop. A cutover hold unblocks it (CLIENT UNBLOCK): when it was unblocked with
// nothing done it is routed again (and held like any write).
func (be *backend) runBlocking(r *request, addr string) {
	be.gw.wg.Add(1)
	go func() {
		defer be.gw.wg.Done()
		ctx := be.gw.ctx
		d, err := dialDedicated(ctx, be, addr, r.proto)
		if err != nil {
			r.fail("ERR xsync gateway: " + errString(err))
			return
		}
		defer d.c.Close()
		tok := be.trackBlocking(r.cl, addr, d.id)
		stop := context.AfterFunc(ctx, func() { d.c.Close() })
		defer stop()
		w := d.c.Writer()
		if r.asking {
			w.WriteRaw(askingCmd)
		}
		w.WriteRaw(r.raw)
		err = w.Flush()
		var raw []byte
		var v resp.Value
		if err == nil && r.asking {
			_, _, err = d.rr.next()
		}
		if err == nil {
			raw, v, err = d.rr.next()
		}
		unblocked := be.untrackBlocking(tok)
		switch {
		case err != nil:
			r.uncount()
			r.cl.complete(r, resp.AppendError(nil, "ERR xsync gateway: connection lost during a blocking command: "+err.Error()))
		case v.Null && unblocked:
			// Unblocked by a cutover hold before anything happened: run it again
			// once the hold ends (route holds it: it is a write).
			r.uncount()
			r.asking, r.addr = false, ""
			be.gw.route(r)
			return
		case v.Type == resp.TypeError && redirect(v.Str) != "":
			be.redirected(r, v.Str) // keeps the write count: the retry finishes it
			return
		default:
			r.uncount()
			r.cl.complete(r, raw)
		}
		r.cl.flush()
		r.cl.unblocked(r)
	}()
}

// blockingConn is a blocking command in flight, for CLIENT UNBLOCK at a hold.
type blockingConn struct {
	cl        *client // whose command it is (CLIENT UNBLOCK, INFO blocked_clients, CLIENT LIST flag b)
	addr, id  string
	unblocked bool
}

func (be *backend) trackBlocking(cl *client, addr, id string) *blockingConn {
	b := &blockingConn{cl: cl, addr: addr, id: id}
	be.mu.Lock()
	be.blocking[b] = struct{}{}
	be.mu.Unlock()
	return b
}

func (be *backend) untrackBlocking(b *blockingConn) (unblocked bool) {
	be.mu.Lock()
	defer be.mu.Unlock()
	delete(be.blocking, b)
	return b.unblocked
}

// unblockAll ends every blocking command in flight with CLIENT UNBLOCK (they
// return a null reply and are routed again).
func (be *backend) unblockAll(ctx context.Context) {
	be.mu.Lock()
	list := make([]*blockingConn, 0, len(be.blocking))
	for b := range be.blocking {
		b.unblocked = true
		list = append(list, b)
	}
	be.mu.Unlock()
	for _, b := range list {
		o := be.opts
		o.Addr = b.addr
		c, err := conn.Dial(ctx, o)
		if err != nil {
			be.gw.log.Warn("gateway: cannot unblock a blocking command for the hold", "node", b.addr, "err", err)
			continue
		}
		_, _ = c.Do(ctx, "CLIENT", "UNBLOCK", b.id)
		c.Close()
	}
}

// pubsubSession is a client in pub/sub mode: its own backend connection; every
// value the backend sends is forwarded to the client as it comes.
type pubsubSession struct {
	cl     *client
	addr   string                    // the node; "" for any (SUBSCRIBE, PSUBSCRIBE)
	shards map[string]*pubsubSession // event loop: SSUBSCRIBE sessions by node (ssubscribe.go)

	mu     sync.Mutex
	out    []byte // commands not yet sent
	wake   chan struct{}
	closed bool
	d      *dedicated
	done   chan struct{}
}

// pubsubCommand handles a command of a client in (or entering) pub/sub mode.
func (cl *client) pubsubCommand(name string, args [][]byte, raw []byte) bool {
	switch name {
	case "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "PING":
	case "QUIT":
		cl.local(replyOK)
		return true
	case "SSUBSCRIBE", "SUNSUBSCRIBE":
		cl.shardPubsub(name, args) // ssubscribe.go
		return false
	default:
		if cl.proto == 3 && cl.ps != nil {
			cl.ps = cl.ps.inRESP3(cl, name, args, raw)
			return false
		}
		cl.local(resp.AppendError(nil, "ERR Can't execute '"+strings.ToLower(name)+"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
		return false
	}
	if len(args) < 2 && (name == "SUBSCRIBE" || name == "PSUBSCRIBE") {
		cl.local(arityError(strings.ToLower(name)))
		return false
	}
	if cl.ps == nil {
		cl.ps = startPubsub(cl)
	}
	cl.ps.send(wire(raw, args))
	return false
}

// inRESP3 runs a regular command of a RESP3 client that is subscribed: its reply
// is ordered with the other replies, pushes go as they come.
func (ps *pubsubSession) inRESP3(cl *client, _ string, args [][]byte, raw []byte) *pubsubSession {
	saved := cl.ps
	cl.ps = nil
	cl.command(args, raw)
	cl.ps = saved
	return saved
}

func startPubsub(cl *client) *pubsubSession { return startPubsubAt(cl, "") }

// startPubsubAt starts a session on the node addr ("": any node).
func startPubsubAt(cl *client, addr string) *pubsubSession {
	ps := &pubsubSession{cl: cl, addr: addr, wake: make(chan struct{}, 1), done: make(chan struct{})}
	cl.g.hold.addPubsub(cl)
	be := cl.g.cur.Load()
	g := cl.g
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer close(ps.done)
		err := ps.run(g.ctx, be)
		if err != nil && g.ctx.Err() == nil {
			ps.mu.Lock()
			closed := ps.closed
			ps.mu.Unlock()
			if !closed {
				cl.pushRaw(resp.AppendError(nil, "ERR xsync gateway: pub/sub connection lost: "+err.Error()))
				_ = cl.c.Close()
			}
		}
	}()
	return ps
}

func (ps *pubsubSession) send(cmd []byte) {
	ps.mu.Lock()
	ps.out = append(ps.out, cmd...)
	ps.mu.Unlock()
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

func (ps *pubsubSession) close() {
	for _, s := range ps.shards {
		s.close()
	}
	ps.mu.Lock()
	ps.closed = true
	d := ps.d
	ps.mu.Unlock()
	if d != nil {
		d.c.Close()
	}
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

func (ps *pubsubSession) run(ctx context.Context, be *backend) error {
	addr := ps.addr
	if addr == "" {
		var err error
		if addr, err = be.anyNode(); err != nil {
			return err
		}
	}
	d, err := dialDedicated(ctx, be, addr, ps.cl.proto)
	if err != nil {
		return err
	}
	ps.mu.Lock()
	ps.d = d
	closed := ps.closed
	ps.mu.Unlock()
	defer d.c.Close()
	if closed {
		return nil
	}
	stop := context.AfterFunc(ctx, func() { d.c.Close() })
	defer stop()
	errc := make(chan error, 1)
	go func() {
		for {
			raw, _, err := d.rr.next()
			if err != nil {
				errc <- err
				return
			}
			ps.cl.pushRaw(raw)
		}
	}()
	w := d.c.Writer()
	for {
		select {
		case err := <-errc:
			ps.mu.Lock()
			closed := ps.closed
			ps.mu.Unlock()
			if closed {
				return nil
			}
			return err
		case <-ps.wake:
		}
		ps.mu.Lock()
		out, closed := ps.out, ps.closed
		ps.out = nil
		ps.mu.Unlock()
		if closed {
			d.c.Close()
			<-errc
			return nil
		}
		w.WriteRaw(out)
		if err := w.Flush(); err != nil {
			d.c.Close()
			<-errc
			return err
		}
	}
}

// unsubscribedNothing is Redis's reply to UNSUBSCRIBE outside pub/sub mode.
func unsubscribedNothing(name string, proto int) []byte {
	var b []byte
	if proto == 3 {
		b = append(b, ">3\r\n"...)
	} else {
		b = resp.AppendArray(b, 3)
	}
	b = resp.AppendBulkString(b, strings.ToLower(name))
	b = append(b, nullReply(proto)...)
	return resp.AppendInt(b, 0)
}
