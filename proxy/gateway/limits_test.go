package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/resp"
)

// rawConn dials addr and returns the connection and a reader of its replies.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	return nc, bufio.NewReader(nc)
}

// readLine reads one reply line (without CRLF).
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a reply: %v (got %q)", err, s)
	}
	return strings.TrimRight(s, "\r\n")
}

// expectClosed reads until the gateway closes the connection.
func expectClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	// Closed with unread input, the connection may end in a reset.
	if _, err := io.Copy(io.Discard, r); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the gateway did not close the connection: %v", err)
	}
}

// TestGatewayPreAuthLimits: before AUTH a declared bulk over 16 KiB, more than
// 10 arguments or an endless inline line is refused at once and the connection
// closed, before the gateway buffers the bytes.
func TestGatewayPreAuthLimits(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}, Password: "pw"})
	for _, tc := range []struct{ name, send, want string }{
		{"bulk", "*2\r\n$4\r\nECHO\r\n$500000000\r\n", "ERR Protocol error: unauthenticated request over the limit"},
		{"args", "*11\r\n", "ERR Protocol error: unauthenticated request over the limit"},
		{"inline", strings.Repeat("x", 20000), "ERR Protocol error: unauthenticated request over the limit"},
		{"noauth", "GET k\r\n", "NOAUTH Authentication required."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, r := rawConn(t, g.Addr())
			if _, err := io.WriteString(nc, tc.send); err != nil {
				t.Fatal(err)
			}
			if got := readLine(t, r); !strings.HasPrefix(got, "-"+tc.want) {
				t.Fatalf("reply %q, want -%s", got, tc.want)
			}
			if tc.name != "noauth" {
				expectClosed(t, r)
			}
		})
	}
	// Once authenticated, the same bulk is fine.
	nc, r := rawConn(t, g.Addr())
	big := strings.Repeat("v", 100<<10)
	fmt.Fprintf(nc, "AUTH pw\r\n*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n", len(big), big)
	if got := readLine(t, r); got != "+OK" {
		t.Fatalf("AUTH: %q", got)
	}
	if got := readLine(t, r); got != fmt.Sprintf("$%d", len(big)) {
		t.Fatalf("ECHO: %q", got)
	}
	if st := g.Stats(); st.DroppedProtocol != 3 {
		t.Errorf("DroppedProtocol = %d, want 3", st.DroppedProtocol)
	}
}

// TestGatewayLargeBulkLinear: a bulk of 8 MiB sent in 4 KiB writes is looked at
// a few times, not once per read event: the gateway waits for the bytes the
// header declared.
func TestGatewayLargeBulkLinear(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}})
	nc, r := rawConn(t, g.Addr())
	const size = 8 << 20
	before := g.stats.peeks.Load()
	if _, err := fmt.Fprintf(nc, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", size); err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("b", 4096))
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := nc.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(nc, "\r\n")
	if got := readLine(t, r); got != "+OK" {
		t.Fatalf("SET: %q", got)
	}
	// Without the wait every read event (at most 64 KiB each: 128 or more) peeks.
	if n := g.stats.peeks.Load() - before; n > 16 {
		t.Errorf("the inbound buffer was looked at %d times for one 8 MiB bulk", n)
	}
}

// TestGatewayMaxClients: one client over MaxClients gets Redis's error.
func TestGatewayMaxClients(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}, MaxClients: 2})
	for range 2 {
		nc, r := rawConn(t, g.Addr())
		io.WriteString(nc, "PING\r\n")
		if got := readLine(t, r); got != "+PONG" {
			t.Fatalf("PING: %q", got)
		}
	}
	_, r := rawConn(t, g.Addr())
	if got := readLine(t, r); got != "-ERR max number of clients reached" {
		t.Fatalf("third client: %q", got)
	}
	expectClosed(t, r)
	if st := g.Stats(); st.RejectedMaxClients != 1 || st.Clients != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestGatewayIdleTimeout: an idle client is closed; the INFO field counts it.
func TestGatewayIdleTimeout(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}, IdleTimeout: 50 * time.Millisecond})
	nc, r := rawConn(t, g.Addr())
	io.WriteString(nc, "PING\r\n")
	if got := readLine(t, r); got != "+PONG" {
		t.Fatalf("PING: %q", got)
	}
	expectClosed(t, r)
	if st := g.Stats(); st.DroppedIdle != 1 {
		t.Errorf("DroppedIdle = %d", st.DroppedIdle)
	}
	found := false
	for _, kv := range g.InfoFields() {
		found = found || kv == [2]string{"gateway_disconnected_idle", "1"}
	}
	if !found {
		t.Errorf("INFO fields: %v", g.InfoFields())
	}
}

// TestGatewayOutputLimit: a client that sends GETs of a 256 KiB value and never
// reads is disconnected once its unread replies reach OutputHard.
func TestGatewayOutputLimit(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}, OutputHard: 2 << 20, OutputSoft: 1 << 20})
	ctx := context.Background()
	if err := src.Client().Set(ctx, "v", strings.Repeat("x", 256<<10), 0).Err(); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	get := resp.AppendCommandString(nil, "GET", "v")
	var pipe []byte
	for range 400 { // 100 MiB of replies
		pipe = append(pipe, get...)
	}
	go nc.Write(pipe) // may block: the gateway stops reading when the client does
	waitFor(t, "the client dropped for its output", func() bool { return g.Stats().DroppedOutput == 1 })
}
