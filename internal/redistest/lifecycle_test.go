package redistest_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

func TestMissingBinarySkips(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(redistest.EnvServer, "/nonexistent/redis-server")
	var skipped bool
	t.Run("start", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		redistest.Start(t, redistest.Options{})
		t.Error("Start returned without a redis-server")
	})
	if !skipped {
		t.Error("the test was not skipped")
	}
}

// TestRestartWaitsForBusyPort holds the port of a stopped server for a moment: Restart
// must notice the failed bind and try again on the same port.
func TestRestartWaitsForBusyPort(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", s.Addr())
	if err != nil {
		t.Fatalf("hold the port: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Restart() }()
	time.Sleep(300 * time.Millisecond)
	l.Close()
	if err := <-done; err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := s.Client().Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
}

// TestDiesWithTestBinary runs this test binary as a child that starts a server, kills
// the child with SIGKILL, and checks that the server dies too (Pdeathsig).
func TestDiesWithTestBinary(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") == "1" {
		s := redistest.Start(t, redistest.Options{})
		os.Stdout.WriteString("PID " + strconv.Itoa(s.Pid()) + "\n")
		time.Sleep(time.Minute) // killed by the parent
		return
	}
	if testing.Short() {
		// The child is this binary run again without -test.short: it would start a
		// real redis-server, which -short promises not to do.
		t.Skip("xsync/redistest: -short runs no real redis-server (the child test binary starts one); run without -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestDiesWithTestBinary$")
	// The child's t.TempDir is never removed (it is killed): put it in ours.
	cmd.Env = append(os.Environ(), "REDISTEST_CHILD=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "PID "); ok {
			pid, _ = strconv.Atoi(p)
			break
		}
	}
	if pid == 0 {
		t.Fatal("the child did not report a server pid")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("redis-server %d survived its killed test binary", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie no longer does).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}
