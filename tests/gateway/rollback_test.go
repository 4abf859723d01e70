package gateway

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/gateway"
)

// TestCutoverRollbackThenRetry: with the replicator paused the destination cannot
// catch up, so XSYNC CUTOVER 0.5 rolls back (the held writes go to the source, the
// clients see no error); after XSYNC RESUME a second XSYNC CUTOVER succeeds and
// every acknowledged write is on the destination exactly once.
func TestCutoverRollbackThenRetry(t *testing.T) {
	src, dst, r := startReplication(t)
	ctx := context.Background()
	gw := startGateway(t, gateway.Config{Source: gateway.Backend{Seeds: src.Addrs()}, Target: gateway.Backend{Seeds: dst.Addrs()}, Logger: testLogger(t)})
	co, err := cutover.New(cutover.Config{Status: r.Status, Gate: gw, OnSwitch: r.Pause, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	adm := startAdmin(t, admin.Config{Cutover: co}, r)
	waitStreaming(t, r, 3)

	wctx, wcancel := context.WithCancel(ctx)
	ws := make([]*writer, 10)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = &writer{id: i, c: redis.NewClient(&redis.Options{Addr: gw.Addr(), Protocol: 2 + i%2, DisableIdentity: true, PoolSize: 1, MaxRetries: -1})}
		defer ws[i].c.Close()
		wg.Add(1)
		go func() { defer wg.Done(); ws[i].run(wctx) }()
	}
	admin := redis.NewClient(&redis.Options{Addr: adm.Addr(), Protocol: 2, DisableIdentity: true})
	defer admin.Close()
	time.Sleep(time.Second)
	if err := admin.Do(ctx, "XSYNC", "PAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the source moves on, the destination does not
	err = admin.Do(ctx, "XSYNC", "CUTOVER", "0.5").Err()
	if err == nil || !strings.Contains(err.Error(), "rolled back") || !strings.Contains(err.Error(), "catch up") {
		t.Fatalf("XSYNC CUTOVER with the replicator paused: %v, want a rollback for the catch-up", err)
	}
	t.Logf("first XSYNC CUTOVER: %v", err)
	if gw.Backend() != "source" {
		t.Fatalf("after the rollback the gateway forwards to the %s", gw.Backend())
	}
	info, _ := admin.Info(ctx, "xsync").Result()
	if !strings.Contains(info, "cutover_state:rolledback\r\n") {
		t.Errorf("INFO after the rollback:\n%s", info)
	}
	if err := admin.Do(ctx, "XSYNC", "RESUME").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	reply, err := admin.Do(ctx, "XSYNC", "CUTOVER", "30").Text()
	if err != nil {
		t.Fatalf("second XSYNC CUTOVER: %v", err)
	}
	t.Logf("second XSYNC CUTOVER: %s", reply)
	time.Sleep(500 * time.Millisecond)
	wcancel()
	wg.Wait()
	if gw.Backend() != "destination" {
		t.Fatalf("after the cutover the gateway forwards to the %s", gw.Backend())
	}
	total, errs := checkDestination(t, dst.Client(), ws)
	t.Logf("%d acknowledged writes, %d errors", total, errs)
}
