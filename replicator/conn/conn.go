package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xsync/xsync/resp"
)

// Default timeouts.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultReadTimeout = 30 * time.Second
)

// Options say how to reach and authenticate to one node.
type Options struct {
	Addr        string        // host:port of the node (required by Dial)
	Username    string        // ACL user; "" = the default user
	Password    string        // "" = no AUTH
	TLS         *tls.Config   // nil = plain TCP; an empty ServerName is set to the host of Addr
	DialTimeout time.Duration // connect + TLS handshake + AUTH; default 5s
	ReadTimeout time.Duration // bound of one Do round trip; default 30s; negative = none (the caller sets deadlines)
	// Dialer opens the network connection; default a net.Dialer. TLS is layered on top.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Role names the URL the settings came from in error messages ("source",
	// "destination"); "" says "the URL".
	Role string
	// Limits bound what the node may declare in replies; zero fields take resp's defaults.
	Limits resp.Limits
	// OnConnect, when set, runs on every new connection after AUTH and before Dial
	// returns it; an error closes the connection and is returned by Dial. HA uses
	// it to name destination connections and check the fence (an error wrapping
	// ErrFenced tells callers to stop rather than retry).
	OnConnect func(ctx context.Context, c *Conn) error
}

// validate fills defaults.
func (o *Options) validate() error {
	if o.Addr == "" {
		return errors.New("xsync/conn: Options.Addr is empty: give the node as host:port")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.Dialer == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		o.Dialer = d.DialContext
	}
	return nil
}

func (o *Options) url() string {
	if o.Role == "" {
		return "the URL"
	}
	return "the " + o.Role + " URL"
}

// Conn is one connection to one node. Its methods other than Close are not safe for
// concurrent use.
type Conn struct {
	nc   net.Conn
	r    *resp.Reader
	w    *resp.Writer
	opts Options

	closeOnce sync.Once
	closeErr  error
	broken    error // first I/O error; the stream state is unknown after it
}

// Dial connects to o.Addr (TCP or TLS), authenticates when a password is given and
// checks with PING that no password is missing. Errors name the node and what to fix.
func Dial(ctx context.Context, o Options) (*Conn, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	nc, err := o.Dialer(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, dialError(o.Addr, err, o.DialTimeout)
	}
	if o.TLS != nil {
		tc := o.TLS.Clone()
		if tc.ServerName == "" {
			if host, _, err := net.SplitHostPort(o.Addr); err == nil {
				tc.ServerName = host
			}
		}
		tconn := tls.Client(&tlsProbe{Conn: nc}, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, tlsError(o.Addr, err)
		}
		nc = tconn
	}
	c := &Conn{nc: nc, opts: o, r: resp.NewReader(nc, o.Limits), w: resp.NewWriter(nc)}
	if err := c.hello(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if o.OnConnect != nil {
		if err := o.OnConnect(ctx, c); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// hello runs AUTH (when a password is set) and PING.
func (c *Conn) hello(ctx context.Context) error {
	o := &c.opts
	if o.Password != "" {
		var err error
		if o.Username != "" {
			_, err = c.Do(ctx, "AUTH", o.Username, o.Password)
		} else {
			_, err = c.Do(ctx, "AUTH", o.Password)
		}
		var re *ReplyError
		switch {
		case errors.As(err, &re):
			msg := strings.ToLower(re.Msg)
			if o.Username == "" && (strings.Contains(msg, "without any password configured") || strings.Contains(msg, "no password is set")) {
				break // the node needs no password: the connection is usable as is
			}
			if re.Code() == "ERR" && strings.Contains(msg, "wrong number of arguments") {
				return fmt.Errorf("%w: xsync/conn: %s: the node does not know ACL users (Redis < 6.0): remove the user from %s and keep the password", ErrAuth, o.Addr, o.url())
			}
			return fmt.Errorf("%w: xsync/conn: %s: authentication failed (%s): check the password/user in %s", ErrAuth, o.Addr, re.Code(), o.url())
		case err != nil:
			return c.ioError("AUTH", err)
		}
	}
	_, err := c.Do(ctx, "PING")
	var re *ReplyError
	switch {
	case errors.As(err, &re) && re.Code() == "NOAUTH":
		return fmt.Errorf("%w: xsync/conn: %s: the node requires a password (NOAUTH): add user:password to %s", ErrAuth, o.Addr, o.url())
	case errors.As(err, &re):
		return nil // LOADING, or a blocked PING (vendor): the connection itself is fine
	case err != nil:
		return c.ioError("PING", err)
	}
	return nil
}

// ioError explains an I/O failure during the dial-time exchange.
func (c *Conn) ioError(cmd string, err error) error {
	var pe *resp.ProtocolError
	if errors.As(err, &pe) && c.opts.TLS == nil {
		return fmt.Errorf("%w: xsync/conn: %s: garbage reply to %s (%v): does the port serve TLS? then use rediss://", ErrUnreachable, c.opts.Addr, cmd, err)
	}
	if c.opts.TLS != nil && strings.Contains(err.Error(), "remote error: tls:") {
		// TLS 1.3: a refused client certificate shows at the first read.
		return fmt.Errorf("%w: xsync/conn: %s: the server refused the TLS session (%v): check tls-cert/tls-key (does the server require a client certificate signed by its CA?)", ErrTLS, c.opts.Addr, err)
	}
	if c.opts.TLS != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		// TLS 1.3: the server may drop the session before its alert is read.
		return fmt.Errorf("%w: xsync/conn: %s: the server closed the TLS session at the first command (%v): does it require a client certificate (tls-cert/tls-key) signed by its CA?", ErrTLS, c.opts.Addr, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: xsync/conn: %s: no reply to %s within %v: is it a Redis port (TLS? then use rediss://)?", ErrUnreachable, c.opts.Addr, cmd, c.opts.DialTimeout)
	}
	return fmt.Errorf("%w: xsync/conn: %s: %s failed: %v (TLS port? then use rediss://; or the node closed the connection: check its maxclients and logs)", ErrUnreachable, c.opts.Addr, cmd, err)
}

func dialError(addr string, err error, timeout time.Duration) error {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: xsync/conn: %s: connection refused: is the node running and reachable from here?", ErrUnreachable, addr)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%w: xsync/conn: %s: cannot resolve the host name (%v): check the host in the URL", ErrUnreachable, addr, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: xsync/conn: %s: no answer within %v: is the address right, or does a firewall drop the packets?", ErrUnreachable, addr, timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("xsync/conn: %s: dial cancelled: %w", addr, err)
	}
	return fmt.Errorf("%w: xsync/conn: %s: %v", ErrUnreachable, addr, err)
}

func tlsError(addr string, err error) error {
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &certErr):
		return fmt.Errorf("%w: xsync/conn: %s: the server certificate does not verify (%v): check tls-ca and tls-server-name", ErrTLS, addr, err)
	case errors.Is(err, errNotTLS), strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Errorf("%w: xsync/conn: %s does not speak TLS (no TLS answer to the handshake within %v): use redis:// or the node's tls-port", ErrTLS, addr, tlsProbeWait)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: xsync/conn: %s: TLS handshake timed out: does the port serve TLS?", ErrTLS, addr)
	}
	return fmt.Errorf("%w: xsync/conn: %s: TLS handshake failed: %v: check tls-ca, tls-cert/tls-key (does the server require a client certificate?) and tls-server-name", ErrTLS, addr, err)
}

// Do sends one command and reads its reply. An error reply is returned as a
// *ReplyError. The returned Value is a copy: it stays valid after later calls. When
// ctx ends or an I/O error happens the Conn is broken and every later Do fails.
func (c *Conn) Do(ctx context.Context, args ...string) (resp.Value, error) {
	if c.broken != nil {
		return resp.Value{}, c.broken
	}
	dl, ok := ctx.Deadline()
	if c.opts.ReadTimeout > 0 {
		if t := time.Now().Add(c.opts.ReadTimeout); !ok || t.Before(dl) {
			dl, ok = t, true
		}
	}
	if ok {
		_ = c.nc.SetDeadline(dl)
	} else {
		_ = c.nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c.w.WriteCommand(strArgs(args)...)
	err := c.w.Flush()
	var v resp.Value
	if err == nil {
		v, _, err = c.r.ReadValue()
	}
	if err != nil {
		if ctxDl, has := ctx.Deadline(); ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		} else if has && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(ctxDl) {
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		c.broken = fmt.Errorf("%w: %s: %s: %w", ErrClosed, c.opts.Addr, strings.ToUpper(firstArg(args)), err)
		return resp.Value{}, c.broken
	}
	if v.Type == resp.TypeError || v.Type == resp.TypeBulkError {
		return resp.Value{}, &ReplyError{Msg: string(v.Str), Addr: c.opts.Addr}
	}
	return cloneValue(v), nil
}

func strArgs(args []string) [][]byte {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return b
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// cloneValue deep-copies v so that it no longer points into the reader's buffer.
func cloneValue(v resp.Value) resp.Value {
	if v.Str != nil {
		v.Str = append([]byte(nil), v.Str...)
	}
	if v.Elems != nil {
		el := make([]resp.Value, len(v.Elems))
		for i, e := range v.Elems {
			el[i] = cloneValue(e)
		}
		v.Elems = el
	}
	return v
}

// Reader returns the connection's RESP reader (for pipelined reads and raw bytes).
func (c *Conn) Reader() *resp.Reader { return c.r }

// Writer returns the connection's RESP writer (for pipelined writes).
func (c *Conn) Writer() *resp.Writer { return c.w }

// NetConn returns the underlying connection (TLS or TCP), for deadlines.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Addr returns the node address the Conn was dialled to.
func (c *Conn) Addr() string { return c.opts.Addr }

// Close closes the connection. It is idempotent and safe from any goroutine.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}
