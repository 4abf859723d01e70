package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// echoServer echoes every connection; closing a connection's server end is done by
// sending it to the returned channel's receiver.
func echoServer(t *testing.T) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c
			go io.Copy(c, c)
		}
	}()
	return ln.Addr().String(), ch
}

func start(t *testing.T) (*Proxy, <-chan net.Conn) {
	t.Helper()
	addr, conns := echoServer(t)
	p, err := New(addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, conns
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("echo differs")
	}
}

func TestPlainAndLatency(t *testing.T) {
	p, _ := start(t)
	c := dial(t, p)
	roundTrip(t, c, bytes.Repeat([]byte("x"), 100000))
	p.Set(Faults{Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond})
	began := time.Now()
	roundTrip(t, c, []byte("ping"))
	// Two crossings of at least Latency-Jitter each.
	if d := time.Since(began); d < 160*time.Millisecond {
		t.Errorf("round trip took %v with 100±20ms latency each way", d)
	}
}

func TestResetAndResetAfter(t *testing.T) {
	p, _ := start(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("hello"))
	p.ResetAfter(Downstream, 1000)
	c.Write(bytes.Repeat([]byte("y"), 5000))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after %d bytes: %v, want a connection reset", n, err)
	}
	// The proxy forwards exactly 1000 bytes before the RST, but the kernel may
	// drop what the client had not read yet when the RST arrives (tcp_reset in
	// Linux's net/ipv4/tcp_input.c), so fewer may be read, never more.
	if n > 1000 {
		t.Errorf("%d bytes came before the reset, want at most 1000", n)
	}
	c2 := dial(t, p)
	roundTrip(t, c2, []byte("again"))
	p.Reset()
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after Reset: %v, want a connection reset", err)
	}
}

func TestHalfOpen(t *testing.T) {
	p, _ := start(t)
	c := dial(t, p)
	roundTrip(t, c, []byte("hello"))
	p.Set(Faults{HalfOpen: true})
	c.Write([]byte("lost"))
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("half-open read: %v, want a timeout (no data, no FIN)", err)
	}
	// A new connection is accepted and never answered.
	c2 := dial(t, p)
	c2.Write([]byte("x"))
	c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("new connection while half-open: %v, want a timeout", err)
	}
	c2.Close()
	waitFor(t, func() bool { return p.Abandoned.Load() == 1 })
	// Healed: new connections work, the stopped one stays stopped.
	p.Set(Faults{})
	roundTrip(t, dial(t, p), []byte("healed"))
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stopped connection after the heal: %v, want it still silent", err)
	}
}

func TestSlowCloseAndRate(t *testing.T) {
	p, conns := start(t)
	p.Set(Faults{SlowClose: 300 * time.Millisecond, Rate: 100000})
	c := dial(t, p)
	began := time.Now()
	roundTrip(t, c, bytes.Repeat([]byte("z"), 40000))
	// Each direction sends 50ms worth (5000 bytes) at a time, then waits 50ms.
	if d := time.Since(began); d < 350*time.Millisecond {
		t.Errorf("40000 bytes each way at 100000 B/s took %v", d)
	}
	s := <-conns
	s.Close()
	closed := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the server closed: %v, want EOF", err)
	}
	if d := time.Since(closed); d < 300*time.Millisecond {
		t.Errorf("the FIN came after %v, want at least the slow close of 300ms", d)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestResetWhileDialing: connections reset while the proxy dials their server
// still have their server end closed, so Close returns (it used to wait forever
// on a server end that nothing closed).
func TestResetWhileDialing(t *testing.T) {
	p, _ := start(t)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				p.Reset()
			}
		}
	}()
	for range 300 {
		if c, err := net.Dial("tcp", p.Addr()); err == nil {
			c.Close()
		}
	}
	close(stop)
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s")
	}
}
