package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/replicator"
)

// fakeCtl is a replicator that streams and does nothing.
type fakeCtl struct{}

func (fakeCtl) Status() replicator.Status {
	return replicator.Status{State: replicator.StateStream, Started: time.Now(),
		Shards: []replicator.ShardStatus{{Index: 0, Addr: "127.0.0.1:7000", State: replicator.StateStream}}}
}
func (fakeCtl) Pause() error  { return nil }
func (fakeCtl) Resume() error { return nil }

// startAdmin serves the admin port on a free port until the test ends.
func startAdmin(t *testing.T, cfg admin.Config, ctl admin.Controller) *admin.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = quietLogger()
	a, err := admin.New(cfg, ctl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a
}

// TestGatewayHoldAndFollower: two gateways on the same source; the second follows
// the cutover run by the first's process through the admin port. While held,
// writes wait and reads go on; after the switch both write to the destination.
func TestGatewayHoldAndFollower(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	cfg := Config{Source: Backend{Seeds: src.Addrs()}, Target: Backend{Seeds: dst.Addrs()}}
	g1, g2 := startGateway(t, cfg), startGateway(t, cfg)
	c1, c2 := gwClient(t, g1.Addr(), 2, ""), gwClient(t, g2.Addr(), 3, "")
	if err := c1.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	co, err := cutover.New(cutover.Config{
		Gate: g1,
		Status: func() replicator.Status {
			return replicator.Status{Shards: []replicator.ShardStatus{{Index: 0, Addr: "x", State: replicator.StateStream}}}
		},
		SourceOffset: func(context.Context, string) (int64, error) { <-release; return 0, nil },
		Logger:       quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	adm := startAdmin(t, admin.Config{Cutover: co}, fakeCtl{})
	f, err := cutover.NewFollower(cutover.FollowerConfig{Control: adm.Addr(), ID: "g2", Logger: quietLogger()}, g2)
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(ctx)
	fdone := make(chan error, 1)
	go func() { fdone <- f.Run(fctx) }()
	defer func() { fcancel(); <-fdone }()
	waitFor(t, "follower registered", func() bool { return co.Info().Followers == 1 })

	adm2 := redis.NewClient(&redis.Options{Addr: adm.Addr(), Protocol: 2, DisableIdentity: true})
	defer adm2.Close()
	cut := make(chan string, 1)
	go func() { s, err := adm2.Do(ctx, "XSYNC", "CUTOVER", "10").Text(); cut <- fmt.Sprint(s, err) }()
	waitFor(t, "both gateways holding", func() bool {
		h1, _ := g1.Holding()
		return h1 && f.State() == cutover.FollowerHeld
	})
	// Writes wait; reads of other clients go on.
	w1, w2 := make(chan error, 1), make(chan error, 1)
	go func() { w1 <- c1.Set(ctx, "k1", "v1", 0).Err() }()
	go func() { w2 <- c2.Incr(ctx, "k2").Err() }()
	waitFor(t, "writes held", func() bool { return g1.Held() == 1 && g2.Held() == 1 })
	if v, err := gwClient(t, g2.Addr(), 2, "").Get(ctx, "before").Result(); err != nil || v != "1" {
		t.Fatalf("read during the hold = %q, %v", v, err)
	}
	close(release)
	if s := <-cut; !strings.HasPrefix(s, "OK cutover done") {
		t.Fatalf("XSYNC CUTOVER = %s", s)
	}
	for _, w := range []chan error{w1, w2} {
		if err := <-w; err != nil {
			t.Fatal(err)
		}
	}
	dc, sc := dst.Client(), src.Client()
	if v, _ := dc.Get(ctx, "k1").Result(); v != "v1" {
		t.Errorf("k1 on the destination = %q", v)
	}
	if v, _ := dc.Get(ctx, "k2").Result(); v != "1" {
		t.Errorf("k2 on the destination = %q", v)
	}
	if n, _ := sc.Exists(ctx, "k1", "k2").Result(); n != 0 {
		t.Errorf("%d held keys reached the source", n)
	}
	if g1.Backend() != "destination" || g2.Backend() != "destination" {
		t.Errorf("backends after the cutover: %s, %s", g1.Backend(), g2.Backend())
	}
	info, _ := adm2.Info(ctx, "xsync").Result()
	if !strings.Contains(info, "cutover_state:done\r\n") || !strings.Contains(info, "cutover_pause_ms:") ||
		!strings.Contains(info, "gateway_backend:destination\r\n") || !strings.Contains(info, "gateway_held:0\r\n") {
		t.Errorf("INFO xsync lacks the cutover lines:\n%s", info)
	}
}
