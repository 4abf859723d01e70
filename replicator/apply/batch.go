package apply

import (
	"fmt"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// writeLoop writes queued ops in batches: as many as the batch limits and the
// window allow, in one write, as soon as there are any.
func (p *pipe) writeLoop(c *conn.Conn) error {
	nc := c.NetConn()
	var buf []byte
	batch := make([]*op, 0, p.a.cfg.BatchCommands)
	for {
		p.mu.Lock()
		for !p.dead && (p.queue.Len() == 0 || p.infl.Full()) {
			p.cond.Wait()
		}
		if p.dead {
			p.mu.Unlock()
			return errPipeDead
		}
		// The reader's deadline counts from the last reply while ops are in
		// flight: only a batch into an empty window starts it, so that a steady
		// trickle of batches does not keep pushing it back on a connection that
		// no longer answers (half-open).
		idle := p.infl.Count() == 0
		batch = p.takeBatch(batch[:0])
		p.mu.Unlock()
		buf = buf[:0]
		for _, o := range batch {
			buf = append(buf, o.wire...)
		}
		nc.SetWriteDeadline(time.Now().Add(p.a.cfg.ReplyTimeout)) //nolint:errcheck
		_, err := nc.Write(buf)
		// The batch is in the window: bound the wait for its replies when
		// none were awaited (the reader set the deadline otherwise), and after
		// a failed write, so the reader ends if none come.
		if idle || err != nil {
			p.dlMu.Lock()
			nc.SetReadDeadline(time.Now().Add(p.a.cfg.ReplyTimeout)) //nolint:errcheck
			p.dlMu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("xsync/apply: write to %s: %w", p.n.addr, err)
		}
		p.a.stats.batches.Add(1)
		p.a.stats.bytes.Add(uint64(len(buf)))
		if cap(buf) > 4*p.a.cfg.BatchBytes {
			buf = nil
		}
	}
}

// takeBatch moves ops from the queue into the window, up to the batch limits
// (at least one op). Caller holds p.mu.
func (p *pipe) takeBatch(batch []*op) []*op {
	size := 0
	var now int64
	if p.a.cfg.OnReply != nil {
		now = time.Now().UnixNano()
	}
	for p.queue.Len() > 0 && !p.infl.Full() && len(batch) < p.a.cfg.BatchCommands && size < p.a.cfg.BatchBytes {
		o := p.queue.Pop()
		o.node = p.n.addr
		o.sentAt = now
		p.infl.Add(o, len(o.wire))
		size += len(o.wire)
		batch = append(batch, o)
	}
	p.inflN.Store(int64(p.infl.Count()))
	return batch
}
