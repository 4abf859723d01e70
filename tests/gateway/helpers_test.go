package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/gateway"
	"github.com/xsync/xsync/replicator"
)

// workloadPhase is how long the clients write before and after the cutover
// (default 3 s; XSYNC_E2E_SECONDS overrides).
func workloadPhase() time.Duration {
	if s := os.Getenv("XSYNC_E2E_SECONDS"); s != "" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	}
	return 3 * time.Second
}

// testLogger writes warnings and errors to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// startGateway serves cfg on a free port until the test ends.
func startGateway(t *testing.T, cfg gateway.Config) *gateway.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatalf("gateway: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return g
}

// startAdmin serves the admin port on a free port until the test ends.
func startAdmin(t *testing.T, cfg admin.Config, ctl admin.Controller) *admin.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = testLogger(t)
	a, err := admin.New(cfg, ctl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return a
}

// waitStreaming waits until the replicator streams every one of n shards.
func waitStreaming(t *testing.T, r *replicator.Replicator, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st := r.Status()
		err := func() error {
			if len(st.Shards) != n {
				return fmt.Errorf("%d shards, want %d", len(st.Shards), n)
			}
			for _, sh := range st.Shards {
				if sh.State != replicator.StateStream {
					return fmt.Errorf("shard %d: %s", sh.Index, sh.State)
				}
			}
			return nil
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicator not streaming: %v", err)
		}
		<-tick.C
	}
}

// startReplication starts a 3-master source and destination cluster and a
// replicator between them; the replicator stops, and must stop cleanly, when
// the test ends.
func startReplication(t *testing.T) (src, dst *redistest.Cluster, r *replicator.Replicator) {
	t.Helper()
	src = redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst = redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	r, err := replicator.New(replicator.Config{SourceSeeds: src.Addrs(), TargetSeeds: dst.Addrs(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	rdone := make(chan error, 1)
	go func() { rdone <- r.Run(rctx) }()
	t.Cleanup(func() {
		rcancel()
		if err := <-rdone; err != nil {
			t.Errorf("replicator: %v", err)
		}
	})
	return src, dst, r
}
