package admin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAdminPreAuthLimits: before AUTH the admin port refuses a declared bulk
// over 16 KiB, more than 10 arguments and an endless inline line at once, and
// closes the connection; after AUTH requests up to MaxRequest pass.
func TestAdminPreAuthLimits(t *testing.T) {
	a := startAdmin(t, Config{Password: "pw", MaxRequest: 1 << 20}, &fakeCtl{st: testStatus()})
	dial := func(t *testing.T) (net.Conn, *bufio.Reader) {
		nc, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		return nc, bufio.NewReader(nc)
	}
	for _, tc := range []struct{ name, send string }{
		{"bulk", "*2\r\n$4\r\nECHO\r\n$2000000000\r\n"},
		{"args", "*11\r\n"},
		{"inline", strings.Repeat("x", 40000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, r := dial(t)
			go io.WriteString(nc, tc.send)
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "-ERR Protocol error: unauthenticated request over the limit") {
				t.Fatalf("reply %q, %v", line, err)
			}
			// Closed with unread input, the connection may end in a reset.
			if _, err := io.Copy(io.Discard, r); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("not closed: %v", err)
			}
		})
	}
	nc, r := dial(t)
	big := strings.Repeat("v", 100<<10)
	fmt.Fprintf(nc, "AUTH pw\r\n*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n*2\r\n$4\r\nECHO\r\n$%d\r\n", len(big), big, 2<<20)
	for _, want := range []string{"+OK", fmt.Sprintf("$%d", len(big))} {
		line, err := r.ReadString('\n')
		if err != nil || strings.TrimRight(line, "\r\n") != want {
			t.Fatalf("reply %q, %v; want %s", line, err, want)
		}
		if want[0] == '$' {
			if _, err := r.Discard(len(big) + 2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "-ERR Protocol error:") {
		t.Fatalf("a bulk over MaxRequest after AUTH: %q", line)
	}
	if got := a.protocolErrors.Load(); got != 4 {
		t.Errorf("protocol errors counted: %d", got)
	}
}

// TestAdminMaxClients: a client over MaxClients gets Redis's error.
func TestAdminMaxClients(t *testing.T) {
	a := startAdmin(t, Config{MaxClients: 1}, &fakeCtl{st: testStatus()})
	c1, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	r1 := bufio.NewReader(c1)
	io.WriteString(c1, "PING\r\n")
	if l, _ := r1.ReadString('\n'); l != "+PONG\r\n" {
		t.Fatalf("PING: %q", l)
	}
	c2, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetDeadline(time.Now().Add(30 * time.Second))
	if l, _ := bufio.NewReader(c2).ReadString('\n'); l != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client: %q", l)
	}
}
