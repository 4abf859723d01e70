package gateway

import (
	"context"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// killScripts sends SCRIPT KILL or FUNCTION KILL (r.raw) to every master, each
// on a connection of its own: the pipes to a master that runs a busy script may
// be the very connection the script runs on, and Redis reads nothing more from
// it until the script ends (a busy master still serves the allow_busy commands
// of other connections: see processEventsWhileBlocked and scriptInterrupt in
// Redis's script.c). The replies merge as one Redis would answer (mergeKill).
func (be *backend) killScripts(r *request, shards []slots.Shard) {
	f := &fanState{parent: r, left: len(shards), replies: make([][]byte, len(shards))}
	for i, sh := range shards {
		addr := sh.Primary.Addr
		be.gw.wg.Add(1)
		go func() {
			defer be.gw.wg.Done()
			f.collect(i, be.oneShot(addr, r.raw))
		}()
	}
}

// oneShot sends cmd on a new connection to addr and returns the raw reply (an
// error reply when the node cannot be reached).
func (be *backend) oneShot(addr string, cmd []byte) []byte {
	ctx, cancel := context.WithTimeout(be.gw.ctx, 10*time.Second)
	defer cancel()
	o := be.opts
	o.Addr = addr
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return resp.AppendError(nil, "ERR xsync gateway: "+errString(err))
	}
	defer c.Close()
	_ = c.NetConn().SetDeadline(time.Time{}) // the context bounds the exchange
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	w := c.Writer()
	w.WriteRaw(cmd)
	if err := w.Flush(); err != nil {
		return resp.AppendError(nil, "ERR xsync gateway: "+errString(err))
	}
	raw, _, err := newRawReader(c.NetConn()).next()
	if err != nil {
		return resp.AppendError(nil, "ERR xsync gateway: "+errString(err))
	}
	return append([]byte(nil), raw...)
}
