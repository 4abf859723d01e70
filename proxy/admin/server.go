package admin

import (
	"errors"
	"io"
	"net"

	"github.com/xsync/xsync/resp"
)

// Limits of the admin port's requests, as the gateway's (and Redis's
// processMultibulkBuffer) before AUTH: at most 10 arguments of 16 KiB.
const (
	preAuthMaxArgs = 10
	preAuthMaxBulk = 16 << 10
	// DefaultMaxRequest is Config.MaxRequest's default: the admin commands are small.
	DefaultMaxRequest = 1 << 20
	// DefaultMaxClients is Config.MaxClients' default.
	DefaultMaxClients = 128
)

var preAuthLimits = resp.Limits{MaxBulkLen: preAuthMaxBulk, MaxArrayLen: preAuthMaxArgs, MaxInlineLen: preAuthMaxBulk}

// conn is one client of the admin port: replies are appended to out and written
// after each command.
type conn struct {
	nc     net.Conn
	out    []byte
	ctx    any
	closed bool
}

func (c *conn) WriteError(s string)      { c.out = resp.AppendError(c.out, oneLine(s)) }
func (c *conn) WriteString(s string)     { c.out = resp.AppendSimple(c.out, oneLine(s)) }
func (c *conn) WriteBulk(b []byte)       { c.out = resp.AppendBulk(c.out, b) }
func (c *conn) WriteBulkString(s string) { c.out = resp.AppendBulkString(c.out, s) }
func (c *conn) WriteArray(n int)         { c.out = resp.AppendArray(c.out, n) }
func (c *conn) Close()                   { c.closed = true }
func (c *conn) Context() any             { return c.ctx }
func (c *conn) SetContext(v any)         { c.ctx = v }
func (c *conn) flush() error             { _, err := c.nc.Write(c.out); c.out = c.out[:0]; return err }
func (c *conn) remote() string           { return c.nc.RemoteAddr().String() }
func (c *conn) limitsFor(a *Server) resp.Limits {
	s, _ := c.ctx.(*session)
	if s == nil || !s.authed {
		return preAuthLimits
	}
	return resp.Limits{MaxBulkLen: a.cfg.MaxRequest, MaxArrayLen: 1024, MaxInlineLen: int(min(a.cfg.MaxRequest, 64<<10))}
}

// serveConn reads commands with the limits of the session (raised by AUTH) and
// answers each; it returns when the client goes, misbehaves, or QUITs.
func (a *Server) serveConn(nc net.Conn) {
	c := &conn{nc: nc}
	a.accept(c)
	rd := resp.NewReader(nc, c.limitsFor(a))
	for !c.closed {
		args, _, err := rd.ReadCommand()
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				a.protocolErrors.Add(1)
				msg := "ERR Protocol error: " + err.Error()
				if s, _ := c.ctx.(*session); (s == nil || !s.authed) && errors.Is(err, resp.ErrTooLarge) {
					msg = "ERR Protocol error: unauthenticated request over the limit (" + err.Error() + "): AUTH first"
				}
				c.WriteError(msg)
				_ = c.flush()
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				a.cfg.Logger.Debug("admin: client read", "client", c.remote(), "err", err)
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		a.handle(c, args)
		rd.SetLimits(c.limitsFor(a))
		if err := c.flush(); err != nil {
			return
		}
	}
}
