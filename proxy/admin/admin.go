package admin

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/listener"
	"github.com/xsync/xsync/replicator"
)

// Controller is what the admin port reads and steers.
type Controller interface {
	Status() replicator.Status
	Pause() error
	Resume() error
}

// Config configures the admin port.
type Config struct {
	// Addr to listen on. Default "127.0.0.1:6380".
	Addr string
	// Password required (AUTH) from clients. Required when Addr is not a loopback
	// address. Default none.
	Password string
	// Version is reported in INFO server. Default "dev".
	Version string
	// Settings answers CONFIG GET; secrets must already be redacted. Default none.
	Settings func() map[string]string
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Cutover answers XSYNC CUTOVER and adds cutover_* to INFO xsync. Default none.
	Cutover *cutover.Coordinator
	// Extra adds fields (name, value) to INFO xsync, after the job's own: the
	// HA election's ha_* for example. Default none.
	Extra func() [][2]string
	// MaxRequest is the longest argument of an authenticated client. Default
	// 1 MiB. Before AUTH, 10 arguments of 16 KiB at most.
	MaxRequest int64
	// MaxClients is how many clients may be connected at once; one more is
	// answered "-ERR max number of clients reached". Default 128.
	MaxClients int
	// TLS, when set, serves TLS only (with ClientAuth set to require and verify
	// client certificates for mutual TLS). Default: plain TCP.
	TLS *tls.Config
}

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:6380"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxRequest <= 0 {
		c.MaxRequest = DefaultMaxRequest
	}
	if c.MaxClients <= 0 {
		c.MaxClients = DefaultMaxClients
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("xsync/admin: admin address %q: %w", c.Addr, err)
	}
	if c.Password == "" && !listener.IsLoopback(host) {
		return fmt.Errorf("xsync/admin: the admin port %s is not on loopback: set --admin-password (or bind it to 127.0.0.1)", c.Addr)
	}
	return nil
}

// Server is the admin RESP server.
type Server struct {
	cfg  Config
	ctl  Controller
	ln   net.Listener
	once sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup

	protocolErrors     atomic.Int64
	rejectedMaxClients atomic.Int64
}

// New listens on cfg.Addr. Serve answers requests until Close.
func New(cfg Config, ctl Controller) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("xsync/admin: admin port: %w (is another xsync or a Redis on %s? choose another --admin)", err, cfg.Addr)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	return &Server{cfg: cfg, ctl: ctl, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the address the admin port listens on.
func (a *Server) Addr() string { return a.ln.Addr().String() }

// Serve answers clients until ctx is cancelled or Close is called.
func (a *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { a.Close() })
	defer stop()
	defer a.wg.Wait()
	for {
		nc, err := a.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("xsync/admin: accept: %w", err)
		}
		a.mu.Lock()
		if a.conns == nil || len(a.conns) >= a.cfg.MaxClients {
			a.mu.Unlock()
			if a.conns != nil {
				a.rejectedMaxClients.Add(1)
				_, _ = nc.Write([]byte("-ERR max number of clients reached\r\n"))
			}
			nc.Close()
			continue
		}
		a.conns[nc] = struct{}{}
		a.wg.Add(1)
		a.mu.Unlock()
		go func() {
			defer a.wg.Done()
			defer func() {
				a.mu.Lock()
				delete(a.conns, nc)
				a.mu.Unlock()
				nc.Close()
			}()
			a.serveConn(nc)
		}()
	}
}

// Close stops the server; it is idempotent.
func (a *Server) Close() error {
	var err error
	a.once.Do(func() {
		err = a.ln.Close()
		a.mu.Lock()
		for nc := range a.conns {
			nc.Close()
		}
		a.conns = nil // no more
		a.mu.Unlock()
	})
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

type session struct{ authed bool }

func (a *Server) accept(c *conn) {
	c.SetContext(&session{authed: a.cfg.Password == ""})
}

func (a *Server) handle(c *conn, args [][]byte) {
	s, _ := c.Context().(*session)
	if s == nil {
		s = &session{authed: a.cfg.Password == ""}
		c.SetContext(s)
	}
	name := strings.ToUpper(string(args[0]))
	if !s.authed && name != "AUTH" && name != "QUIT" && name != "HELLO" {
		c.WriteError("NOAUTH Authentication required.")
		return
	}
	switch name {
	case "AUTH":
		pass := args[len(args)-1]
		if len(args) < 2 || len(args) > 3 {
			c.WriteError("ERR wrong number of arguments for 'auth' command")
			return
		}
		if a.cfg.Password == "" {
			c.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
		if subtle.ConstantTimeCompare(pass, []byte(a.cfg.Password)) != 1 {
			c.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
			return
		}
		s.authed = true
		c.WriteString("OK")
	case "PING":
		if len(args) > 1 {
			c.WriteBulk(args[1])
			return
		}
		c.WriteString("PONG")
	case "ECHO":
		if len(args) != 2 {
			c.WriteError("ERR wrong number of arguments for 'echo' command")
			return
		}
		c.WriteBulk(args[1])
	case "QUIT":
		c.WriteString("OK")
		c.Close()
	case "SELECT":
		if len(args) == 2 && string(args[1]) == "0" {
			c.WriteString("OK")
			return
		}
		c.WriteError("ERR the xsync admin port has only database 0")
	case "INFO":
		section := "default"
		if len(args) > 1 {
			section = strings.ToLower(string(args[1]))
		}
		c.WriteBulkString(a.info(section) + a.cutoverInfo(section))
	case "XSYNC":
		a.xsync(c, args[1:])
	case "CONFIG":
		a.config(c, args[1:])
	case "COMMAND":
		// redis-cli asks for COMMAND DOCS when it starts interactively.
		c.WriteArray(0)
	case "CLIENT":
		c.WriteString("OK")
	case "HELLO":
		c.WriteError("NOPROTO the xsync admin port speaks RESP2 only")
	default:
		c.WriteError(fmt.Sprintf("ERR unknown command '%s', the admin port knows PING, INFO [xsync|server], XSYNC STATUS|PAUSE|RESUME, CONFIG GET, AUTH", strings.ToLower(string(args[0]))))
	}
}

func (a *Server) xsync(c *conn, args [][]byte) {
	if len(args) == 0 {
		c.WriteError("ERR wrong number of arguments for 'xsync' command: XSYNC STATUS|PAUSE|RESUME")
		return
	}
	switch strings.ToUpper(string(args[0])) {
	case "STATUS":
		c.WriteBulkString(a.info("xsync"))
	case "PAUSE":
		if err := a.ctl.Pause(); err != nil {
			c.WriteError("ERR " + err.Error())
			return
		}
		c.WriteString("OK")
	case "RESUME":
		if co := a.cfg.Cutover; co != nil && co.Info().State == cutover.StateDone {
			c.WriteError("ERR the cutover is done: the clients write to the destination, and replication from the source would overwrite their writes; XSYNC RESUME is refused")
			return
		}
		if err := a.ctl.Resume(); err != nil {
			c.WriteError("ERR " + err.Error())
			return
		}
		c.WriteString("OK")
	case "CUTOVER":
		a.cutover(c, args[1:])
	default:
		c.WriteError(fmt.Sprintf("ERR unknown XSYNC subcommand '%s': XSYNC STATUS|PAUSE|RESUME", args[0]))
	}
}

func (a *Server) config(c *conn, args [][]byte) {
	if len(args) != 2 || !strings.EqualFold(string(args[0]), "GET") {
		c.WriteError("ERR the admin port supports CONFIG GET <pattern> only")
		return
	}
	var settings map[string]string
	if a.cfg.Settings != nil {
		settings = a.cfg.Settings()
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if ok, _ := path.Match(strings.ToLower(string(args[1])), k); ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	c.WriteArray(2 * len(keys))
	for _, k := range keys {
		c.WriteBulkString(k)
		c.WriteBulkString(settings[k])
	}
}

// Check rejects a bad configuration (an address off loopback without a
// password, for one) without opening anything.
func (c Config) Check() error { return c.validate() }
