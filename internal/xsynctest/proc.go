package xsynctest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Proc is one xsync sync process started by a test.
type Proc struct {
	Cmd   *exec.Cmd
	Admin string     // its admin address
	Done  chan error // receives Wait's result once; put it back for the cleanup
}

// StartSync starts bin sync from src to dst (URLs) with an admin port of its own,
// logging to logFile at debug level, plus extra flags. The process is killed at
// the end of the test.
func StartSync(t testing.TB, bin, src, dst, logFile string, extra ...string) *Proc {
	t.Helper()
	admin := FreeAddr(t)
	args := append([]string{"sync", "--source", src, "--target", dst, "--admin", admin,
		"--progress", "off", "--log-file", logFile, "--log-level", "debug"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Admin: admin, Done: make(chan error, 1)}
	go func() { p.Done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-p.Done
	})
	return p
}

// Info reads INFO xsync from the admin port as a map of its fields.
func (p *Proc) Info(ctx context.Context) (map[string]string, error) {
	c := redis.NewClient(&redis.Options{Addr: p.Admin, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	s, err := c.Info(ctx, "xsync").Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// WaitInfo polls INFO xsync until ok accepts it and returns it; it fails the test
// when the process exits or timeout passes (what names the wait).
func (p *Proc) WaitInfo(t testing.TB, timeout time.Duration, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	var last map[string]string
	for time.Now().Before(deadline) {
		select {
		case err := <-p.Done:
			p.Done <- err
			t.Fatalf("%s: xsync exited: %v", what, err)
		default:
		}
		if m, err := p.Info(ctx); err == nil {
			last = m
			if ok(m) {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last INFO: %v", what, timeout, last)
	return nil
}

// WaitCaughtUp waits until p streams every shard of masters and has applied
// the masters' replication offsets.
func (p *Proc) WaitCaughtUp(t testing.TB, masters []*redis.Client, timeout time.Duration) {
	t.Helper()
	p.WaitInfo(t, timeout, "xsync catches up", func(m map[string]string) bool {
		if m["state"] != "stream" || m["shards"] != strconv.Itoa(len(masters)) || m["lag_bytes"] != "0" {
			return false
		}
		var applied, want int64
		for k, v := range m {
			if strings.HasPrefix(k, "shard") {
				for _, f := range strings.Split(v, ",") {
					if a, ok := strings.CutPrefix(f, "applied_offset="); ok {
						n, _ := strconv.ParseInt(a, 10, 64)
						applied += n
					}
				}
			}
		}
		for _, m := range masters {
			want += MasterOffset(t, m)
		}
		return applied >= want
	})
}

// MasterOffset is master_repl_offset of c.
func MasterOffset(t testing.TB, c *redis.Client) int64 {
	t.Helper()
	s, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// WaitRecovered waits until p streams every shard of masters with a lag under one
// second and has applied what the masters held when it was called, and returns how
// long that took: the time to recover from a fault that has just ended.
func (p *Proc) WaitRecovered(t testing.TB, masters []*redis.Client, timeout time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	var want int64
	for _, m := range masters {
		want += MasterOffset(t, m)
	}
	p.WaitInfo(t, timeout, "xsync recovers", func(m map[string]string) bool {
		if m["state"] != "stream" || m["shards"] != strconv.Itoa(len(masters)) {
			return false
		}
		if lag, err := strconv.ParseFloat(m["lag_seconds"], 64); err != nil || lag >= 1 {
			return false
		}
		return AppliedOffset(m) >= want
	})
	return time.Since(began)
}

// AppliedOffset sums applied_offset over the shard lines of an INFO xsync map.
func AppliedOffset(m map[string]string) int64 {
	var applied int64
	for k, v := range m {
		if strings.HasPrefix(k, "shard") && k != "shards" {
			for _, f := range strings.Split(v, ",") {
				if a, ok := strings.CutPrefix(f, "applied_offset="); ok {
					n, _ := strconv.ParseInt(a, 10, 64)
					applied += n
				}
			}
		}
	}
	return applied
}
