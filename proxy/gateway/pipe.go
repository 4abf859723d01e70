package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// askingCmd is sent before a command redirected by -ASK.
var askingCmd = resp.AppendCommandString(nil, "ASKING")

// pipe is one pipelined connection to one backend node, shared by many clients: a
// writer goroutine sends queued requests in batches, a reader goroutine matches the
// replies in order. A broken pipe fails what it holds and is replaced by its pool.
type pipe struct {
	node *nodePool
	c    *conn.Conn

	mu      sync.Mutex
	queue   []*request // accepted, not yet written
	closed  bool
	err     error
	wake    chan struct{} // cap 1: the writer has work
	sent    chan *request // written, reply not yet read (reader's FIFO)
	stopped chan struct{} // closed when both goroutines returned
	dead    chan struct{} // closed by fail
}

const pipeWindow = 1 << 14 // requests written and not yet answered, per pipe

func newPipe(ctx context.Context, np *nodePool, proto int) (*pipe, error) {
	o := np.be.opts
	o.Addr = np.addr
	o.ReadTimeout = -1
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	if proto == 3 {
		if _, err := c.Do(ctx, "HELLO", "3"); err != nil {
			c.Close()
			return nil, fmt.Errorf("xsync/gateway: %s: HELLO 3: %w", np.addr, err)
		}
	}
	_ = c.NetConn().SetDeadline(time.Time{})
	p := &pipe{node: np, c: c, wake: make(chan struct{}, 1), sent: make(chan *request, pipeWindow), stopped: make(chan struct{}), dead: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.fail(p.writeLoop()) }()
	go func() { defer wg.Done(); p.fail(p.readLoop()) }()
	go func() { wg.Wait(); p.drainSent(); close(p.stopped) }()
	return p, nil
}

// send queues r; false when the pipe is broken (the caller picks another).
func (p *pipe) send(r *request) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, r)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

func (p *pipe) broken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// fail breaks the pipe with err: queued requests are re-routed (never written),
// written ones fail (they may have run).
func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed, p.err = true, err
	close(p.dead)
	q := p.queue
	p.queue = nil
	p.mu.Unlock()
	p.c.Close()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	for _, r := range q {
		r.be.retry(r, 0)
	}
}

func (p *pipe) close() { p.fail(errors.New("xsync/gateway: backend connection closed")) }

// drainSent fails the requests written whose reply will never come.
func (p *pipe) drainSent() {
	for {
		select {
		case r := <-p.sent:
			r.finishError(fmt.Sprintf("ERR xsync gateway: connection to %s lost before the reply (the command may have run)", p.node.addr))
		default:
			return
		}
	}
}

func (p *pipe) writeLoop() error {
	w := p.c.Writer()
	var batch []*request
	for {
		<-p.wake
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return p.err
		}
		batch, p.queue = p.queue, batch[:0]
		p.mu.Unlock()
		for i, r := range batch {
			if len(p.sent) == cap(p.sent) { // the window is full: what it holds must go out
				if err := w.Flush(); err != nil {
					for j, r := range batch[i:] { // never written: another pipe may run them
						batch[i+j] = nil
						r.be.retry(r, 0)
					}
					return fmt.Errorf("xsync/gateway: writing to %s: %w", p.node.addr, err)
				}
			}
			select {
			case p.sent <- r: // before its bytes: the reply may come at once
			case <-p.dead:
				r.fail("ERR xsync gateway: connection to " + p.node.addr + " lost")
				continue
			}
			if r.asking {
				w.WriteRaw(askingCmd)
			}
			w.WriteRaw(r.raw)
			batch[i] = nil
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("xsync/gateway: writing to %s: %w", p.node.addr, err)
		}
	}
}

// readLoop reads replies into a growing buffer and frames them with
// resp.ParseValue; each request gets the raw bytes of its reply.
func (p *pipe) readLoop() error {
	nc := p.c.NetConn()
	buf := make([]byte, 0, 64<<10)
	var (
		cur   *request
		left  int // replies still expected for cur
		dirty []*client
		redir []byte // for a transaction: the first MOVED/ASK/TRYAGAIN among its replies
	)
	lim := &resp.Limits{}
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		pos := 0
		for pos < len(buf) {
			v, m, perr := resp.ParseValue(buf[pos:], lim)
			if errors.Is(perr, resp.ErrIncomplete) {
				break
			}
			if perr != nil {
				return fmt.Errorf("xsync/gateway: reply from %s: %w", p.node.addr, perr)
			}
			raw := buf[pos : pos+m]
			pos += m
			if cur == nil {
				select {
				case cur = <-p.sent:
				default:
					return fmt.Errorf("xsync/gateway: %s sent a reply nobody asked for", p.node.addr)
				}
				left = cur.replies()
				redir = redir[:0]
			}
			left--
			if cur.asking && left == cur.replies()-1 {
				continue // the ASKING reply
			}
			if v.Type == resp.TypeError && left > 0 && len(redir) == 0 && redirect(v.Str) != "" {
				redir = append(redir, v.Str...)
			}
			if left > 0 {
				continue
			}
			r := cur
			cur = nil
			if len(redir) > 0 { // a queued command of a transaction was redirected: EXEC aborted
				r.be.redirected(r, redir)
				continue
			}
			if v.Type == resp.TypeError {
				if redirect(v.Str) != "" {
					r.be.redirected(r, v.Str)
					continue
				}
			}
			if cl := r.finish(raw); cl != nil {
				dirty = appendOnce(dirty, cl)
			}
		}
		buf = buf[:copy(buf, buf[pos:])]
		for i, cl := range dirty {
			cl.flush()
			dirty[i] = nil
		}
		dirty = dirty[:0]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("xsync/gateway: reading from %s: %w", p.node.addr, err)
		}
	}
}

func appendOnce(s []*client, c *client) []*client {
	for _, x := range s {
		if x == c {
			return s
		}
	}
	return append(s, c)
}

// redirect returns the kind of a redirection error reply, or "".
func redirect(msg []byte) string {
	switch {
	case hasPrefix(msg, "MOVED "):
		return "MOVED"
	case hasPrefix(msg, "ASK "):
		return "ASK"
	case hasPrefix(msg, "TRYAGAIN"):
		return "TRYAGAIN"
	case hasPrefix(msg, "CLUSTERDOWN"):
		return "CLUSTERDOWN"
	}
	return ""
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
