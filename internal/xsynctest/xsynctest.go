// Package xsynctest holds what the tests that drive the xsync binary share:
// building it, picking a free loopback port, and a buffer a process may write
// while a test reads it.
package xsynctest

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Build builds cmd/xsync into the test's temporary directory and returns the
// binary's path.
func Build(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("xsync/xsynctest: -short builds and runs no xsync binary (end-to-end test); run without -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "xsync")
	if out, err := exec.Command(goBin, "build", "-o", bin, "github.com/xsync/xsync/cmd/xsync").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/xsync: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// SyncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
