package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/listener"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// Errors of the gateway.
var (
	// ErrClosed is returned by a Server used after Close.
	ErrClosed = errors.New("xsync/gateway: gateway closed")
	// ErrNotHolding is returned by Switch and Rollback without a Hold; it is
	// cutover.ErrNotHolding, which the cutover tells apart.
	ErrNotHolding = cutover.ErrNotHolding
)

// Backend names a cluster (or standalone server) the gateway forwards to.
type Backend struct {
	// Seeds are nodes of the cluster (any node), or the standalone server. Required.
	Seeds []string
	// Conn holds credentials and TLS; Addr is set per node.
	Conn conn.Options
}

// Config configures a Server.
type Config struct {
	// Addr to listen on. Default "127.0.0.1:6379"; port 0 picks a free port.
	Addr string
	// Password clients must give (AUTH or HELLO AUTH). Required when Addr is not a
	// loopback address. Default none.
	Password string
	// Source is the backend until the cutover. Required.
	Source Backend
	// Target is the backend after the cutover. Optional: without it the gateway
	// only forwards (Switch fails).
	Target Backend
	// ConnsPerNode is the number of pipelined connections per backend node and
	// protocol; a client always uses the same one, which keeps its order. Default 4.
	ConnsPerNode int
	// MaxPending is how many commands of one client may wait for replies before
	// the gateway stops reading its input. Default 1024.
	MaxPending int
	// MaxRedirects bounds the MOVED/ASK/TRYAGAIN retries of one command. Default 8.
	MaxRedirects int
	// MaxClients is how many clients may be connected at once; one more is
	// answered "-ERR max number of clients reached" and closed. Default 10000
	// (Redis maxclients).
	MaxClients int
	// IdleTimeout closes a client that sent nothing for that long and waits for
	// no reply (blocked and subscribed clients are spared, as by Redis's
	// timeout). Default 0: never.
	IdleTimeout time.Duration
	// OutputHard disconnects a client whose unread replies reach it; OutputSoft
	// one that stays over it for OutputSoftFor (Redis client-output-buffer-limit
	// normal). Defaults 64 MiB, 16 MiB, 60s; negative: no such limit.
	OutputHard, OutputSoft int64
	OutputSoftFor          time.Duration
	// MaxBulkLen is the longest argument of an authenticated client. Default
	// 512 MiB (Redis proto-max-bulk-len). Before AUTH PreAuthMaxBulk holds.
	MaxBulkLen int64
	// AllowAdmin forwards the commands that administer the backend or reveal
	// its state (Redis's @admin and @dangerous categories): by default they are
	// refused with -NOPERM. CONFIG GET of a credential is refused even so.
	AllowAdmin bool
	// Allow forwards these commands ("config", "client|kill") of the denied set.
	// Default none.
	Allow []string
	// Deny refuses these commands too ("flushall", "flushdb"). Default none.
	Deny []string
	// AllowHint is the flag named in the -NOPERM reply. Default
	// "--gateway-allow-admin".
	AllowHint string
	// TLS, when set, serves TLS only on Addr (with ClientAuth set to require
	// and verify client certificates for mutual TLS). Default plain TCP.
	TLS *tls.Config
	// Multicore runs one event loop per CPU. Default false: one loop (the backend
	// work happens on goroutines anyway).
	Multicore bool
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	if len(c.Source.Seeds) == 0 {
		return errors.New("xsync/gateway: gateway: no source seed")
	}
	if c.ConnsPerNode <= 0 {
		c.ConnsPerNode = 4
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1024
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = 8
	}
	if c.AllowHint == "" {
		c.AllowHint = "--gateway-allow-admin"
	}
	if c.MaxClients <= 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.OutputHard == 0 {
		c.OutputHard = DefaultOutputHard
	}
	if c.OutputSoft == 0 {
		c.OutputSoft = DefaultOutputSoft
	}
	if c.OutputSoftFor <= 0 {
		c.OutputSoftFor = DefaultOutputSoftFor
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("xsync/gateway: idle timeout %v is negative (0: never)", c.IdleTimeout)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("xsync/gateway: gateway address %q: %w", c.Addr, err)
	}
	if c.Password == "" && !listener.IsLoopback(host) {
		return fmt.Errorf("xsync/gateway: the gateway %s is not on loopback: set --gateway-password (or bind it to 127.0.0.1)", c.Addr)
	}
	if port == "0" && c.TLS == nil { // gnet cannot tell the port it bound: pick one now
		ln, err := net.Listen("tcp", c.Addr)
		if err != nil {
			return fmt.Errorf("xsync/gateway: gateway: %w", err)
		}
		c.Addr = ln.Addr().String()
		ln.Close()
	}
	return nil
}

// Server is a RESP endpoint that looks like one non-cluster Redis to its clients
// and forwards their commands by hash slot to the current backend cluster. It holds
// writes during a cutover and then forwards them to the new backend.
type Server struct {
	gnet.BuiltinEventEngine
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	cur    atomic.Pointer[backend]
	src    *backend
	dst    *backend // nil without a Target
	ids    atomic.Uint64
	wg     sync.WaitGroup // goroutines of dials, blocking commands, pub/sub

	hold     holdState
	prepared atomic.Bool // Prepare done: the destination's connections are open

	eng       gnet.Engine
	ready     chan struct{}
	readyOnce sync.Once
	closeOnce sync.Once
	served    chan struct{}
	serving   atomic.Bool

	stats  stats
	limits resp.Limits // of authenticated clients
	priv   privileges

	clientsMu sync.Mutex
	clients   map[*client]struct{}
	watches   sync.Map // *watchSession: their connections are closed by Close

	loopAddr string    // where the event loop listens: Addr, or a loopback port behind front
	front    *tlsFront // with Config.TLS
}

type stats struct {
	clients   atomic.Int64
	commands  atomic.Int64
	moved     atomic.Int64
	ask       atomic.Int64
	tryagain  atomic.Int64 // TRYAGAIN, CLUSTERDOWN, ASK inside a transaction
	redirFail atomic.Int64 // gave up after MaxRedirects
	drops     [dropKinds]atomic.Int64
	peeks     atomic.Int64 // inbound buffers looked at (tests: a large bulk is read in linear time)
	watching  atomic.Int64 // watch sessions with a connection of their own (watch.go)
}

// Stats are counters of a Server.
type Stats struct {
	Clients   int64 // connected now
	Commands  int64 // parsed since the start
	Moved     int64 // -MOVED replies retried
	Ask       int64 // -ASK replies retried
	TryAgain  int64 // -TRYAGAIN/-CLUSTERDOWN (and ASK in a transaction) retried after a backoff
	Redirects int64 // commands that gave up after MaxRedirects

	RejectedMaxClients int64 // connections refused: MaxClients reached
	DroppedIdle        int64 // clients closed after IdleTimeout
	DroppedOutput      int64 // clients closed for their unread replies (OutputHard, OutputSoft)
	DroppedProtocol    int64 // clients closed for a malformed request or one over the limits
}

// Stats returns the gateway's counters.
func (g *Server) Stats() Stats {
	s := &g.stats
	return Stats{Clients: s.clients.Load(), Commands: s.commands.Load(), Moved: s.moved.Load(),
		Ask: s.ask.Load(), TryAgain: s.tryagain.Load(), Redirects: s.redirFail.Load(),
		RejectedMaxClients: s.drops[dropMaxClients].Load(), DroppedIdle: s.drops[dropIdle].Load(),
		DroppedOutput: s.drops[dropOutput].Load(), DroppedProtocol: s.drops[dropProtocol].Load()}
}

// New checks cfg and connects to the source (its topology); Serve accepts
// clients.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Server{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), served: make(chan struct{}),
		limits: resp.Limits{MaxBulkLen: cfg.MaxBulkLen}, clients: map[*client]struct{}{}, priv: newPrivileges(&cfg)}
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.loopAddr = cfg.Addr
	if cfg.TLS != nil {
		if err := g.listenTLS(); err != nil {
			g.cancel()
			return nil, fmt.Errorf("xsync/gateway: %w (choose another --gateway)", err)
		}
	}
	g.src = newBackend(g, "source", cfg.Source)
	if err := g.src.refresh(ctx); err != nil {
		g.cancel()
		if g.front != nil {
			g.front.ln.Close()
		}
		return nil, err
	}
	if len(cfg.Target.Seeds) > 0 {
		g.dst = newBackend(g, "destination", cfg.Target)
	}
	g.cur.Store(g.src)
	g.hold.init()
	return g, nil
}

// Addr is the address the gateway listens on.
func (g *Server) Addr() string { return g.cfg.Addr }

// Ready is closed once the gateway accepts connections.
func (g *Server) Ready() <-chan struct{} { return g.ready }

// Serve runs the event loop until ctx is cancelled or Close is called.
func (g *Server) Serve(ctx context.Context) error {
	if !g.serving.CompareAndSwap(false, true) {
		return errors.New("xsync/gateway: gateway: Serve called twice")
	}
	defer close(g.served)
	stop := context.AfterFunc(ctx, func() { g.Close() })
	defer stop()
	stopLoop := context.AfterFunc(g.ctx, func() {
		<-g.ready
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.eng.Stop(sctx)
	})
	defer stopLoop()
	if g.front != nil {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.front.serve(g.ctx) }()
	}
	err := gnet.Run(g, "tcp://"+g.loopAddr,
		gnet.WithMulticore(g.cfg.Multicore),
		gnet.WithReusePort(false),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{g.log}),
		gnet.WithTicker(g.cfg.IdleTimeout > 0),
	)
	g.readyOnce.Do(func() { close(g.ready) }) // a failed Run must not leave Close waiting
	if err != nil && g.ctx.Err() == nil {
		return fmt.Errorf("xsync/gateway: gateway %s: %w", g.cfg.Addr, err)
	}
	return nil
}

// Close stops accepting, closes clients and backend connections; it is idempotent.
func (g *Server) Close() error {
	g.closeOnce.Do(func() {
		g.cancel()
		if g.front != nil {
			g.front.ln.Close()
		}
		g.hold.closeAll()
		g.closeWatches() // watch.go
		g.src.close()
		if g.dst != nil {
			g.dst.close()
		}
		g.wg.Wait()
	})
	return nil
}

// Backend tells which backend the gateway forwards to: "source" or "destination".
func (g *Server) Backend() string { return g.cur.Load().name }

// OnBoot implements gnet.EventHandler.
func (g *Server) OnBoot(eng gnet.Engine) gnet.Action {
	g.eng = eng
	g.readyOnce.Do(func() { close(g.ready) })
	g.log.Info("gateway listening", "addr", g.cfg.Addr, "backend", g.Backend())
	return gnet.None
}

// OnOpen implements gnet.EventHandler.
func (g *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if g.ctx.Err() != nil {
		return nil, gnet.Close
	}
	g.clientsMu.Lock()
	if len(g.clients) >= g.cfg.MaxClients {
		g.clientsMu.Unlock()
		g.dropped(dropMaxClients)
		return []byte(errMaxClients), gnet.Close
	}
	cl := newClient(g, c, g.ids.Add(1))
	cl.created = time.Now()
	g.clients[cl] = struct{}{}
	g.clientsMu.Unlock()
	c.SetContext(cl)
	g.stats.clients.Add(1)
	return nil, gnet.None
}

// OnClose implements gnet.EventHandler.
func (g *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	if cl, ok := c.Context().(*client); ok {
		cl.closeClient()
		g.clientsMu.Lock()
		delete(g.clients, cl)
		g.clientsMu.Unlock()
		g.stats.clients.Add(-1)
	}
	return gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (g *Server) OnTraffic(c gnet.Conn) gnet.Action {
	cl, ok := c.Context().(*client)
	if !ok {
		return gnet.Close
	}
	return cl.onTraffic()
}

// gnetLogger sends gnet's own logs to slog at debug level.
type gnetLogger struct{ l *slog.Logger }

func (l gnetLogger) Debugf(f string, a ...any) { l.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (l gnetLogger) Infof(f string, a ...any)  { l.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (l gnetLogger) Warnf(f string, a ...any)  { l.l.Warn("gnet: " + fmt.Sprintf(f, a...)) }
func (l gnetLogger) Errorf(f string, a ...any) { l.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (l gnetLogger) Fatalf(f string, a ...any) { l.l.Error("gnet: " + fmt.Sprintf(f, a...)) }

var _ io.Closer = (*Server)(nil)

// itoa is strconv.Itoa, short.
func itoa(i int) string { return strconv.Itoa(i) }

// Check rejects a bad configuration (an address off loopback without a
// password, for one) without connecting or listening.
func (c Config) Check() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6379"
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("xsync/gateway: gateway address %q: %w", c.Addr, err)
	}
	if c.Password == "" && !listener.IsLoopback(host) {
		return fmt.Errorf("xsync/gateway: the gateway %s is not on loopback: set --gateway-password (or bind it to 127.0.0.1)", c.Addr)
	}
	if c.IdleTimeout < 0 {
		return fmt.Errorf("xsync/gateway: idle timeout %v is negative (0: never)", c.IdleTimeout)
	}
	return nil
}
