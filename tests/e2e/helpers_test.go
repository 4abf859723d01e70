package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

// workloadDuration is how long the writers run while xsync syncs: full (default
// 20s, XSYNC_E2E_SECONDS overrides) or the short one under -short.
func workloadDuration(t *testing.T, full time.Duration) time.Duration {
	t.Helper()
	if s := os.Getenv("XSYNC_E2E_SECONDS"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || n <= 0 {
			t.Fatalf("XSYNC_E2E_SECONDS=%q: want a positive number of seconds", s)
		}
		return min(full, time.Duration(n*float64(time.Second)))
	}
	if testing.Short() {
		return min(full, 5*time.Second)
	}
	return full
}

// testLogger writes the replicator's warnings and errors to the test log.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a Replicator started by startReplicator.
type running struct {
	r      *replicator.Replicator
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startReplicator starts cfg's Replicator; the test's cleanup stops it.
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
	t.Cleanup(func() { rr.stop(30 * time.Second) })
	return rr
}

// stop cancels the Replicator and returns Run's error, or a timeout error.
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

// failed returns Run's error if Run has already returned.
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

// poll calls f every interval until it returns nil, or fails the test with f's last
// error when timeout passes.
func poll(t *testing.T, timeout, interval time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// masterOffsets reads master_repl_offset of every address.
func masterOffsets(ctx context.Context, addrs []string, password string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, Password: password})
		info, err := c.Info(ctx, "replication").Result()
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("INFO replication on %s: %w", a, err)
		}
		off := int64(-1)
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_repl_offset:"); ok {
				off, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if off < 0 {
			return nil, fmt.Errorf("%s: no master_repl_offset in INFO", a)
		}
		out[a] = off
	}
	return out, nil
}

// waitCaughtUp waits until every shard of rr is streaming with lag_bytes 0 and has
// applied at least the source offset its master had when the call began (read
// from the masters, so bytes not yet received count too). It returns the status.
func waitCaughtUp(t *testing.T, rr *running, masters []string, password string, wantShards int, timeout time.Duration) replicator.Status {
	t.Helper()
	ctx := context.Background()
	target, err := masterOffsets(ctx, masters, password)
	if err != nil {
		t.Fatal(err)
	}
	var st replicator.Status
	poll(t, timeout, 100*time.Millisecond, "every shard streaming with lag 0", func() error {
		if err := rr.failed(); err != nil {
			t.Fatalf("replicator stopped: %v", err)
		}
		st = rr.r.Status()
		if len(st.Shards) != wantShards {
			return fmt.Errorf("%d shards in Status, want %d", len(st.Shards), wantShards)
		}
		for _, sh := range st.Shards {
			if sh.State != replicator.StateStream {
				return fmt.Errorf("shard %d (%s): state %s (last error %q)", sh.Index, sh.Addr, sh.State, sh.LastError)
			}
			if sh.LagBytes != 0 {
				return fmt.Errorf("shard %d (%s): lag_bytes %d", sh.Index, sh.Addr, sh.LagBytes)
			}
			if want, ok := target[sh.Addr]; ok && sh.AppliedOffset < want {
				return fmt.Errorf("shard %d (%s): applied %d < master offset %d", sh.Index, sh.Addr, sh.AppliedOffset, want)
			}
		}
		return nil
	})
	return st
}

// runWorkload runs loadgen.Run on c for d and fails the test when the workload
// could not run at all.
func runWorkload(t *testing.T, c redis.UniversalClient, d time.Duration, o loadgen.WorkOptions) *loadgen.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := loadgen.Run(ctx, c, o)
	if err != nil {
		// The workload keeps going after an error; a few error replies (a
		// WRONGTYPE from a random key choice) are the workload's business, not xsync's.
		t.Logf("workload %q: %d errors, first: %v", o.Prefix, st.Errors.Load(), err)
	}
	if st.Ops.Load() == 0 {
		t.Fatalf("workload %q ran no command", o.Prefix)
	}
	return st
}

// requireEqual runs verify and fails the test with the report when a key differs.
func requireEqual(t *testing.T, cfg verify.Config) *verify.Result {
	t.Helper()
	if cfg.Rounds == 0 {
		cfg.Rounds = 3
	}
	if cfg.TTLTolerance == 0 {
		cfg.TTLTolerance = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := verify.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.Equal() {
		var b strings.Builder
		_ = res.WriteReport(&b)
		t.Errorf("verify: not equal:\n%s", b.String())
	}
	return res
}

func addInt64(p *int64, v int64) { atomic.AddInt64(p, v) }
