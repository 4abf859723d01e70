// Package faultproxy is a TCP proxy for tests that injects network faults between a
// client and one server: latency with jitter, a bandwidth cap, connection resets
// (now, or once a number of bytes has passed), half-open connections (no FIN, no
// data: what a peer that vanished or a partition looks like from the other end) and
// slow closes (a FIN passed on late).
//
// Faults are set with Set and apply at once to every connection. Memory is bounded:
// each direction of a connection holds at most a few chunks of 32 KiB.
package faultproxy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are the faults applied to every connection. The zero value is a plain
// proxy.
type Faults struct {
	// Latency delays every chunk of bytes by Latency ± a uniform Jitter, in both
	// directions, keeping their order.
	Latency, Jitter time.Duration
	// Rate caps the bytes per second of each direction of each connection. 0: none.
	Rate int64
	// HalfOpen stops every connection open now, and every one accepted while it is
	// set: nothing is forwarded either way, nothing is closed. Connections stopped
	// this way stay stopped after HalfOpen is cleared, as after a partition that
	// healed while both ends kept their sockets; they end only when the client
	// closes its end (then the server's end is closed) or the proxy closes.
	HalfOpen bool
	// SlowClose passes on a close from either side this late.
	SlowClose time.Duration
}

// Direction names a direction of the traffic.
type Direction int

// Directions.
const (
	Upstream   Direction = iota // client to server
	Downstream                  // server to client
)

// Proxy listens on a loopback port and forwards every connection to Target.
type Proxy struct {
	target string
	ln     net.Listener
	faults atomic.Pointer[Faults]
	bytes  [2]atomic.Int64 // moved per Direction

	mu     sync.Mutex
	conns  map[*link]struct{}
	resetN [2]int64 // reset every connection once bytes[d] reaches it; 0: none
	seed   uint64
	seq    uint64 // pipes started, seeding each one's jitter
	closed bool
	wg     sync.WaitGroup

	// Resets counts the connections reset by Reset or ResetAfter.
	Resets atomic.Int64
	// Accepted counts the connections accepted.
	Accepted atomic.Int64
	// Abandoned counts the half-open connections whose client closed its end: it
	// found the link dead by itself.
	Abandoned atomic.Int64
}

// New listens on 127.0.0.1:0 and forwards to target; seed seeds the jitter.
func New(target string, seed uint64) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("xsync/faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[*link]struct{}{}, seed: seed}
	p.faults.Store(&Faults{})
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address of the server.
func (p *Proxy) Target() string { return p.target }

// Set replaces the faults. Clearing HalfOpen does not revive the connections it
// stopped.
func (p *Proxy) Set(f Faults) {
	p.faults.Store(&f)
	if f.HalfOpen {
		p.mu.Lock()
		for l := range p.conns {
			l.stopped.Store(true)
		}
		p.mu.Unlock()
	}
}

// Bytes is the number of bytes forwarded in direction d so far.
func (p *Proxy) Bytes(d Direction) int64 { return p.bytes[d].Load() }

// Conns is the number of open connections.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Reset resets every open connection: both ends get a TCP RST (SO_LINGER 0).
func (p *Proxy) Reset() {
	p.mu.Lock()
	ls := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.reset()
		p.Resets.Add(1)
	}
}

// ResetAfter resets every open connection once n more bytes have been forwarded in
// direction d (from now), in the middle of whatever is flowing then: a snapshot, a
// batch of replies. It fires once.
func (p *Proxy) ResetAfter(d Direction, n int64) {
	p.mu.Lock()
	p.resetN[d] = p.bytes[d].Load() + n
	p.mu.Unlock()
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for l := range p.conns {
		l.close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// link is one proxied connection.
type link struct {
	client  net.Conn
	stopped atomic.Bool // half-open: forward nothing, close nothing

	mu     sync.Mutex
	server net.Conn // nil until dialed
	closed bool
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}

// setServer records the server's end; a link closed (or reset) while it was
// being dialed closes it at once and reports false.
func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return false
	}
	l.server = c
	return true
}

func (l *link) reset() {
	l.mu.Lock()
	server := l.server
	l.mu.Unlock()
	for _, c := range []net.Conn{l.client, server} {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close sends RST
		}
	}
	l.close()
}

func (p *Proxy) serve(client net.Conn) {
	p.Accepted.Add(1)
	l := &link{client: client}
	if p.faults.Load().HalfOpen {
		// A server that accepts nothing: the client's connect "succeeds" here and
		// nothing ever answers.
		l.stopped.Store(true)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		return
	}
	p.conns[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, l)
		p.mu.Unlock()
		l.close()
	}()
	if l.stopped.Load() {
		_, _ = io.Copy(io.Discard, client) // until the client gives up
		p.Abandoned.Add(1)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !l.setServer(server) {
		return // reset or closed while dialing
	}
	up, down := make(chan struct{}), make(chan struct{})
	go func() { p.pipe(l, client, server, Upstream); close(up) }()
	go func() { p.pipe(l, server, client, Downstream); close(down) }()
	select {
	case <-up:
	case <-down:
	}
	// One side closed or failed: pass it on (late, with SlowClose), unless the
	// link is half-open: then it waits for the client to close its end.
	if l.stopped.Load() {
		<-up
		p.Abandoned.Add(1)
	} else if d := p.faults.Load().SlowClose; d > 0 {
		time.Sleep(d)
	}
	l.close()
	<-up
	<-down
}

// chunk is bytes read at a time, delivered no earlier than at.
type chunk struct {
	b  []byte
	at time.Time
}

const chunkSize = 32 << 10

// pipe copies src to dst with the faults of the moment: a reader stamps each chunk
// with its delivery time, a writer delivers it then, at the capped rate.
func (p *Proxy) pipe(l *link, src, dst net.Conn, d Direction) {
	ch := make(chan chunk, 4)
	defer func() {
		for range ch { // until the reader stops: src closed
		}
	}()
	p.mu.Lock()
	p.seq++
	rng := rand.New(rand.NewPCG(p.seed, p.seq))
	p.mu.Unlock()
	go func() {
		defer close(ch)
		var last time.Time
		for {
			b := make([]byte, chunkSize)
			n, err := src.Read(b)
			if n > 0 && !l.stopped.Load() {
				f := p.faults.Load()
				at := time.Now()
				if f.Latency > 0 || f.Jitter > 0 {
					at = at.Add(f.Latency)
					if f.Jitter > 0 {
						at = at.Add(time.Duration(rng.Int64N(int64(2*f.Jitter))) - f.Jitter)
					}
				}
				if at.Before(last) {
					at = last // keep the order
				}
				last = at
				ch <- chunk{b[:n], at}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		if l.stopped.Load() {
			continue // dropped: the reader goes on draining src until it closes
		}
		if w := time.Until(c.at); w > 0 {
			time.Sleep(w)
		}
		for len(c.b) > 0 {
			n := len(c.b)
			rate := p.faults.Load().Rate
			if rate > 0 {
				n = min(n, int(max(rate/20, 1))) // 50 ms worth at a time
			}
			n = p.untilReset(d, n)
			if n == 0 {
				p.Reset()
				return
			}
			if _, err := dst.Write(c.b[:n]); err != nil {
				return
			}
			p.bytes[d].Add(int64(n))
			c.b = c.b[n:]
			if rate > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / rate))
			}
		}
	}
}

// untilReset returns how many of n bytes may be written before a pending
// ResetAfter fires (0: fire now, and it is cleared).
func (p *Proxy) untilReset(d Direction, n int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.resetN[d]
	if at == 0 {
		return n
	}
	left := at - p.bytes[d].Load()
	if left <= 0 {
		p.resetN[d] = 0
		return 0
	}
	return int(min(int64(n), left))
}
