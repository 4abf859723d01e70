package matrix

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/tests/loadgen"
)

// writeSeconds is how long each pair's writers run.
func writeSeconds(t *testing.T) time.Duration {
	t.Helper()
	if s := os.Getenv("XSYNC_MATRIX_SECONDS"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n <= 0 {
			t.Fatalf("XSYNC_MATRIX_SECONDS=%q: want a positive number of seconds", s)
		}
		return time.Duration(n * float64(time.Second))
	}
	if testing.Short() {
		return 3 * time.Second
	}
	return 10 * time.Second
}

// fillKeys is the number of keys filled on each source.
func fillKeys(t *testing.T) int {
	t.Helper()
	if s := os.Getenv("XSYNC_MATRIX_KEYS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("XSYNC_MATRIX_KEYS=%q: want a positive number", s)
		}
		return n
	}
	return 300
}

// serverVersion turns a redistest version into what loadgen must fit.
func serverVersion(v redistest.Version) loadgen.ServerVersion {
	return loadgen.ServerVersion{Major: v.Major, Minor: v.Minor}
}

// older returns the older of two versions.
func older(a, b loadgen.ServerVersion) loadgen.ServerVersion {
	if a.Major < b.Major || (a.Major == b.Major && a.Minor < b.Minor) {
		return a
	}
	return b
}

// testLogger writes the replicator's warnings and errors to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a Replicator run in this process.
type running struct {
	r      *replicator.Replicator
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startReplicator(t *testing.T, cfg replicator.Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := replicator.New(cfg)
	if err != nil {
		t.Fatalf("replicator.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { _ = rr.stop(30 * time.Second) })
	return rr
}

func (rr *running) stop(within time.Duration) error {
	rr.once.Do(func() {
		rr.cancel()
		select {
		case rr.err = <-rr.done:
		case <-time.After(within):
			rr.err = fmt.Errorf("Run did not return within %v of the cancel", within)
		}
	})
	return rr.err
}

func (rr *running) failed() error {
	select {
	case err := <-rr.done:
		rr.done <- err
		if err == nil {
			err = fmt.Errorf("Run returned nil before it was stopped")
		}
		return err
	default:
		return nil
	}
}

// masterOffset reads master_repl_offset of c.
func masterOffset(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_repl_offset:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no master_repl_offset in INFO", c.Options().Addr)
}

// waitCaughtUp waits until every shard streams with lag 0 and has applied the
// offset its master had when the call began.
func waitCaughtUp(t *testing.T, rr *running, masters []*redistest.Server, timeout time.Duration) replicator.Status {
	t.Helper()
	ctx := context.Background()
	target := map[string]int64{}
	for _, m := range masters {
		off, err := masterOffset(ctx, m.Client())
		if err != nil {
			t.Fatal(err)
		}
		target[m.Addr()] = off
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := rr.failed(); err != nil {
			t.Fatalf("replicator stopped: %v", err)
		}
		st := rr.r.Status()
		err := caughtUp(st, target)
		if err == nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up within %v: %v", timeout, err)
		}
		<-tick.C
	}
}

func caughtUp(st replicator.Status, target map[string]int64) error {
	if len(st.Shards) != len(target) {
		return fmt.Errorf("%d shards in Status, want %d", len(st.Shards), len(target))
	}
	for _, sh := range st.Shards {
		if sh.State != replicator.StateStream {
			return fmt.Errorf("shard %d (%s): state %s (last error %q)", sh.Index, sh.Addr, sh.State, sh.LastError)
		}
		if sh.LagBytes != 0 {
			return fmt.Errorf("shard %d (%s): lag_bytes %d", sh.Index, sh.Addr, sh.LagBytes)
		}
		want, ok := target[sh.Addr]
		if !ok {
			return fmt.Errorf("shard %d (%s) is not a master of the source", sh.Index, sh.Addr)
		}
		if sh.AppliedOffset < want {
			return fmt.Errorf("shard %d (%s): applied %d < master offset %d", sh.Index, sh.Addr, sh.AppliedOffset, want)
		}
	}
	return nil
}
