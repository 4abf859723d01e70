package admin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/resp"
)

// FuzzAdminCommands feeds arbitrary bytes, in small reads, to one admin port
// connection with a password and a cutover (so that XSYNC CUTOVER STATE, the
// followers' exchange, is reached): it must answer or close, never panic or
// hang, and what it writes must be well-formed RESP.
func FuzzAdminCommands(f *testing.F) {
	cmd := func(args ...string) []byte { return resp.AppendCommandString(nil, args...) }
	join := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	f.Add(join(cmd("AUTH", "pw"), cmd("INFO"), cmd("XSYNC", "STATUS"), cmd("CONFIG", "GET", "*")), uint8(3))
	f.Add(join(cmd("AUTH", "pw"), cmd("XSYNC", "CUTOVER", "STATE", "f1", "held", "1"), cmd("XSYNC", "CUTOVER", "STATUS"), cmd("XSYNC", "CUTOVER", "0.01", "FORCE")), uint8(7))
	f.Add(join(cmd("AUTH", "pw"), cmd("XSYNC", "PAUSE"), cmd("XSYNC", "RESUME"), cmd("XSYNC", "CUTOVER", "STATE", "x", "y", "z")), uint8(1))
	f.Add([]byte("*2\r\n$4\r\nECHO\r\n$2000000000\r\n"), uint8(2))
	f.Add([]byte("AUTH pw\r\nPING \"a\\x00\"\r\nQUIT\r\n"), uint8(5))
	f.Add([]byte("*-1\r\n*0\r\n\r\n*1\r\n$4\r\nPING\r\n"), uint8(1))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl := &fakeCtl{st: testStatus()}
	co, err := cutover.New(cutover.Config{
		Status:       func() replicator.Status { return replicator.Status{} },
		SourceOffset: func(context.Context, string) (int64, error) { return 0, nil },
		FollowerTTL:  time.Nanosecond, // a follower never keeps a cutover waiting
		Timeout:      10 * time.Millisecond,
		Logger:       quiet,
	})
	if err != nil {
		f.Fatal(err)
	}
	a, err := New(Config{Addr: "127.0.0.1:0", Password: "pw", Logger: quiet, Cutover: co, MaxRequest: 1 << 16,
		Settings: func() map[string]string { return map[string]string{"source": "redis://h:1", "admin": "127.0.0.1:0"} }}, ctl)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { a.Close() })
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		c := &chunkConn{in: in, step: int(chunk%16) + 1}
		a.serveConn(c)
		b := c.out.Bytes()
		for len(b) > 0 {
			_, n, err := resp.ParseValue(b, nil)
			if err != nil {
				t.Fatalf("malformed reply at %q: %v", b, err)
			}
			b = b[n:]
		}
	})
}

// chunkConn is a net.Conn that reads in in reads of step bytes, then io.EOF,
// and keeps what is written.
type chunkConn struct {
	in   []byte
	step int
	out  bytes.Buffer
}

func (c *chunkConn) Read(b []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), c.step)], c.in)
	c.in = c.in[n:]
	return n, nil
}
func (c *chunkConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *chunkConn) Close() error                     { return nil }
func (c *chunkConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *chunkConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *chunkConn) SetDeadline(time.Time) error      { return nil }
func (c *chunkConn) SetReadDeadline(time.Time) error  { return nil }
func (c *chunkConn) SetWriteDeadline(time.Time) error { return nil }
