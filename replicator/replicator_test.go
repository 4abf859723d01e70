package replicator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("XSYNC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// running is a Replicator run by a test.
type running struct {
	r    *Replicator
	stop context.CancelFunc
	done chan error
}

func startReplicator(t *testing.T, cfg Config) *running {
	t.Helper()
	cfg.Logger = testLogger(t)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	rr := &running{r: r, stop: cancel, done: done}
	t.Cleanup(func() { rr.halt(t) })
	return rr
}

// halt stops the replicator and checks that it stops cleanly within 5 s.
func (rr *running) halt(t *testing.T) {
	t.Helper()
	if rr.done == nil {
		return
	}
	start := time.Now()
	rr.stop()
	select {
	case err := <-rr.done:
		if err != nil {
			t.Errorf("Run after stop: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("stopping took %v, want < 5s", d)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("Run did not return 15s after stop")
	}
	rr.done = nil
}

// waitCaughtUp waits until every shard streams with no lag and applied offsets
// reach the sources' master_repl_offset.
func waitCaughtUp(t *testing.T, rr *running, shards int, masters ...*redis.Client) Status {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var st Status
	for time.Now().Before(deadline) {
		select {
		case err := <-rr.done:
			rr.done <- err // for halt
			t.Fatalf("replicator stopped: %v", err)
		default:
		}
		st = rr.r.Status()
		ok := len(st.Shards) == shards && st.State == StateStream && st.LagBytes == 0
		if ok {
			var want int64
			for _, m := range masters {
				want += infoInt(t, m, "replication", "master_repl_offset")
			}
			var got int64
			for _, sh := range st.Shards {
				got += sh.AppliedOffset
			}
			if got >= want {
				return st
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not caught up: %+v", st)
	return st
}

func infoInt(t *testing.T, c *redis.Client, section, field string) int64 {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

func requireEqual(t *testing.T, src, dst redis.UniversalClient) {
	t.Helper()
	res, err := verify.Run(context.Background(), verify.Config{Source: src, Target: dst, Rounds: 3, RoundDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() {
		var b strings.Builder
		res.WriteReport(&b)
		t.Fatalf("source and destination differ:\n%s", b.String())
	}
	t.Logf("equal: %d source keys, %d target keys", res.SourceKeys, res.TargetKeys)
}

func workFor(t *testing.T, c redis.UniversalClient, d time.Duration, o loadgen.WorkOptions) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := loadgen.Run(ctx, c, o)
	if err != nil {
		t.Fatalf("workload: %v", err)
	}
	return st.Ops.Load()
}

// TestResumeExactlyOnce stops the replicator during a write load of commands whose
// double application would show (LPUSH, INCR, APPEND, ...), restarts it, and checks
// that it resumed with PSYNC (no second full sync) and that the destination equals
// the source exactly.
func TestResumeExactlyOnce(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb"}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 2000}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()}
	work := loadgen.WorkOptions{NonIdempotentOnly: true, Assignments: true, CrossSlot: true, Clients: 4, Rate: 3000}

	var hists []*loadgen.History // writes with per-key sequences, one history per round
	for round := 0; round < 3; round++ {
		rr := startReplicator(t, cfg)
		// Write while it runs, then stop it in the middle of the load.
		wctx, wcancel := context.WithCancel(ctx)
		wdone := make(chan struct{})
		go func() {
			defer close(wdone)
			loadgen.Run(wctx, src.Client(), work)
		}()
		hdone := make(chan *loadgen.History, 1)
		go func() {
			hdone <- loadgen.RunHistory(wctx, src.Client(), loadgen.HistoryOptions{Prefix: fmt.Sprintf("h%d:", round), Clients: 2, Rate: 500})
		}()
		time.Sleep(1500 * time.Millisecond)
		rr.halt(t)
		time.Sleep(300 * time.Millisecond)
		wcancel()
		<-wdone
		hists = append(hists, <-hdone)
	}
	fullBefore := infoInt(t, src.Client(), "stats", "sync_full")
	partialBefore := infoInt(t, src.Client(), "stats", "sync_partial_ok")
	rr := startReplicator(t, cfg)
	n := workFor(t, src.Client(), 2*time.Second, work)
	st := waitCaughtUp(t, rr, 1, src.Client())
	t.Logf("last run: %d writes during it, %d ops applied", n, st.OpsApplied)
	if got := infoInt(t, src.Client(), "stats", "sync_full"); got != fullBefore {
		t.Errorf("sync_full went from %d to %d: the restart did a full sync", fullBefore, got)
	}
	if got := infoInt(t, src.Client(), "stats", "sync_partial_ok"); got != partialBefore+1 {
		t.Errorf("sync_partial_ok went from %d to %d, want +1", partialBefore, got)
	}
	if fs := st.Shards[0].FullSyncs; fs != 0 {
		t.Errorf("shard did %d full syncs after the restart", fs)
	}
	for i, h := range hists {
		rep, err := h.Check(ctx, src.Client(), dst.Client())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			var b strings.Builder
			rep.WriteReport(&b)
			t.Errorf("history of round %d:\n%s", i, b.String())
		}
		t.Logf("history of round %d: %s", i, rep.Summary())
	}
	requireEqual(t, src.Client(), dst.Client())
	rr.halt(t)
}

// TestFullResyncRemovesDeletedKeys: when the backlog no longer holds the resume
// offset, the shard syncs in full, and keys deleted on the source while xsync was
// stopped do not survive on the destination.
func TestFullResyncRemovesDeletedKeys(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 16kb"}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 500}); err != nil {
		t.Fatal(err)
	}
	gone := []string{"gone:1", "gone:2", "gone:3"}
	for _, k := range gone {
		src.Client().RPush(ctx, k, "a", "b")
	}
	cfg := Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()}
	rr := startReplicator(t, cfg)
	waitCaughtUp(t, rr, 1, src.Client())
	rr.halt(t)
	if n := dst.Client().Exists(ctx, gone[0]).Val(); n != 1 {
		t.Fatalf("%s not synced", gone[0])
	}
	// While stopped: delete keys and write more than the backlog holds.
	if err := src.Client().Del(ctx, gone...).Err(); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1024)
	for i := 0; i < 100; i++ {
		src.Client().Set(ctx, fmt.Sprintf("filler:%d", i), big, 0)
	}
	fullBefore := infoInt(t, src.Client(), "stats", "sync_full")
	rr = startReplicator(t, cfg)
	waitCaughtUp(t, rr, 1, src.Client())
	if got := infoInt(t, src.Client(), "stats", "sync_full"); got != fullBefore+1 {
		t.Errorf("sync_full went from %d to %d, want a full resync", fullBefore, got)
	}
	for _, k := range gone {
		if n := dst.Client().Exists(ctx, k).Val(); n != 0 {
			t.Errorf("%s, deleted on the source, survived on the destination", k)
		}
	}
	requireEqual(t, src.Client(), dst.Client())
}
