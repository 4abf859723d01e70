package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// tlsHandshakeTimeout bounds a client's TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// tlsFront terminates TLS for the gateway: gnet serves plain TCP only, so with
// Config.TLS the event loop listens on a loopback port of its own and this
// front accepts the clients on Config.Addr, completes their handshake and
// relays the plain bytes both ways. The limits of the event loop (before and
// after AUTH, clients, output) hold for the relayed connections; handshakes in
// progress are bounded by MaxClients too.
type tlsFront struct {
	g    *Server
	ln   net.Listener // TLS, on Config.Addr
	loop string       // the event loop's loopback address
	sem  chan struct{}
}

// listenTLS binds Config.Addr for TLS and picks the event loop's loopback port.
func (g *Server) listenTLS() error {
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return err
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return err
	}
	g.loopAddr = inner.Addr().String()
	inner.Close() // gnet binds it in Serve
	g.cfg.Addr = ln.Addr().String()
	g.front = &tlsFront{g: g, ln: tls.NewListener(ln, g.cfg.TLS), loop: g.loopAddr, sem: make(chan struct{}, g.cfg.MaxClients)}
	return nil
}

// serve accepts TLS clients until ctx ends.
func (f *tlsFront) serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { f.ln.Close() })
	defer stop()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		select {
		case f.sem <- struct{}{}:
		default:
			f.g.dropped(dropMaxClients)
			c.Close()
			continue
		}
		f.g.wg.Add(1)
		go func() {
			defer f.g.wg.Done()
			defer func() { <-f.sem }()
			f.relay(ctx, c.(*tls.Conn))
		}()
	}
}

// relay completes the handshake and copies both ways until either side ends.
func (f *tlsFront) relay(ctx context.Context, c *tls.Conn) {
	defer c.Close()
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	err := c.HandshakeContext(hctx)
	cancel()
	if err != nil {
		f.g.log.Debug("gateway: TLS handshake failed", "client", c.RemoteAddr().String(), "err", err)
		return
	}
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", f.loop)
	if err != nil {
		return
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	c.Close()
	<-done
}
