package gateway

import (
	"errors"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/xsync/xsync/resp"
)

// Limits of a client, after Redis's own (networking.c): until a client has
// authenticated its requests are capped as processMultibulkBuffer caps them
// ("Protocol error: unauthenticated multibulk length" above 10 arguments,
// "unauthenticated bulk length" above 16 KiB); after, the configured limits hold
// (proto-max-bulk-len). What the gateway queues for a client that does not read
// its replies is bounded like client-output-buffer-limit normal: a hard limit, and
// a soft limit the client may exceed for a while.
const (
	// PreAuthMaxArgs is the most arguments of a command before AUTH.
	PreAuthMaxArgs = 10
	// PreAuthMaxBulk is the longest argument (and inline line) before AUTH.
	PreAuthMaxBulk = 16 << 10

	// DefaultMaxClients is Config.MaxClients' default (Redis maxclients).
	DefaultMaxClients = 10000
	// DefaultOutputHard is Config.OutputHard's default.
	DefaultOutputHard = 64 << 20
	// DefaultOutputSoft is Config.OutputSoft's default.
	DefaultOutputSoft = 16 << 20
	// DefaultOutputSoftFor is Config.OutputSoftFor's default.
	DefaultOutputSoftFor = 60 * time.Second

	// errMaxClients is Redis's reply when maxclients is reached (acceptCommonHandler).
	errMaxClients = "-ERR max number of clients reached\r\n"
)

var preAuthLimits = &resp.Limits{MaxBulkLen: PreAuthMaxBulk, MaxArrayLen: PreAuthMaxArgs, MaxInlineLen: PreAuthMaxBulk}

// limits returns the request limits of cl now.
func (cl *client) limits() *resp.Limits {
	if !cl.authed {
		return preAuthLimits
	}
	return &cl.g.limits
}

// Why a client was disconnected by the gateway, counted in Stats.
const (
	dropMaxClients = iota // refused: MaxClients reached
	dropIdle              // idle for IdleTimeout
	dropOutput            // unread replies over OutputHard, or over OutputSoft for OutputSoftFor
	dropProtocol          // a malformed request or one over the limits
	dropKinds
)

// dropped counts a disconnection.
func (g *Server) dropped(kind int) { g.stats.drops[kind].Add(1) }

// outputCheck is the AsyncWrite callback of a client's replies. It runs on the
// event loop, the only place where the connection's outbound buffer may be
// read: a client whose unread replies are over the limits is closed.
func (cl *client) outputCheck(c gnet.Conn, _ error) error {
	n := int64(c.OutboundBuffered())
	cl.outbound.Store(n)
	if cl.overOutput(n, time.Now()) {
		cl.dropOutput()
		return c.Close()
	}
	return nil
}

// overOutput tells whether queued is over the hard limit, or has been over the
// soft limit for longer than allowed. Event loop only.
func (cl *client) overOutput(queued int64, now time.Time) bool {
	cfg := &cl.g.cfg
	if cfg.OutputHard > 0 && queued >= cfg.OutputHard {
		return true
	}
	if cfg.OutputSoft <= 0 || queued < cfg.OutputSoft {
		cl.softSince = time.Time{}
		return false
	}
	if cl.softSince.IsZero() {
		cl.softSince = now
		return false
	}
	return now.Sub(cl.softSince) >= cfg.OutputSoftFor
}

// dropOutput counts and logs an output-limit disconnection, once.
func (cl *client) dropOutput() {
	if cl.dropping.CompareAndSwap(false, true) {
		cl.g.dropped(dropOutput)
		cl.g.log.Warn("gateway: client disconnected: its unread replies are over the output buffer limit",
			"client", cl.c.RemoteAddr().String(), "hard", cl.g.cfg.OutputHard, "soft", cl.g.cfg.OutputSoft, "soft_for", cl.g.cfg.OutputSoftFor)
	}
}

// overQueued is checked as replies are stored (under cl.mu): the replies that
// wait for an earlier one, and those not handed to the event loop yet, count
// with the last outbound figure the event loop saw.
func (cl *client) overQueuedLocked() bool {
	hard := cl.g.cfg.OutputHard
	return hard > 0 && int64(cl.queued+len(cl.out)+len(cl.push))+cl.async.Load()+cl.outbound.Load() >= hard
}

// OnTick implements gnet.EventHandler: clients idle for IdleTimeout are closed.
func (g *Server) OnTick() (time.Duration, gnet.Action) {
	if g.cfg.IdleTimeout <= 0 {
		return time.Hour, gnet.None
	}
	now := time.Now().UnixNano()
	g.clientsMu.Lock()
	for cl := range g.clients {
		if cl.idle(now, g.cfg.IdleTimeout) {
			g.dropped(dropIdle)
			_ = cl.c.Close()
		}
	}
	g.clientsMu.Unlock()
	tick := g.cfg.IdleTimeout / 4
	return max(min(tick, time.Second), 10*time.Millisecond), gnet.None
}

// idle tells whether cl sent nothing for timeout and waits for nothing (Redis
// clientsCronHandleTimeout spares blocked and subscribed clients too).
func (cl *client) idle(now int64, timeout time.Duration) bool {
	if now-cl.lastActive.Load() < int64(timeout) {
		return false
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.head == nil && cl.blocking == nil && !cl.subscribed.Load()
}

// checkQueuedLocked closes cl when the replies it has not read are over the hard
// output limit (cl.mu held).
func (cl *client) checkQueuedLocked() {
	if !cl.closed && !cl.dropping.Load() && cl.overQueuedLocked() {
		cl.dropOutput()
		_ = cl.c.Close()
	}
}

// protocolText is the text of a protocol error reply; before AUTH it says so,
// as Redis does ("Protocol error: unauthenticated bulk length").
func protocolText(err error, authed bool) string {
	if !authed && errors.Is(err, resp.ErrTooLarge) {
		return "unauthenticated request over the limit (" + err.Error() + "): AUTH first"
	}
	return err.Error()
}
