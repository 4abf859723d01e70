package source

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// ioConn wraps the link's network connection: once armed, every Read and Write gets
// a fresh deadline of idle (the repl-timeout of the link: a link silent for that long
// is dead), and every byte moved stamps lastIO. Setting the deadline per system call,
// not per command, keeps it correct however long the Handler spends on buffered data.
type ioConn struct {
	net.Conn
	idle   atomic.Int64 // nanoseconds; 0 = leave deadlines to the caller (during Dial)
	lastIO *atomic.Int64
}

func (c *ioConn) Read(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastIO.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *ioConn) Write(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.lastIO.Store(time.Now().UnixNano())
	}
	return n, err
}

// dialer returns a Dialer for conn.Options that wraps base and reports the ioConn.
func wrapDialer(base func(ctx context.Context, network, addr string) (net.Conn, error), lastIO *atomic.Int64, got **ioConn) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if base == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		base = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ic := &ioConn{Conn: nc, lastIO: lastIO}
		*got = ic
		return ic, nil
	}
}
