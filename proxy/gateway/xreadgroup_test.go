package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/redisver"
)

// TestGatewayBlockedXReadGroupStreamDeleted: a XREADGROUP blocked through the
// gateway on a stream that is deleted meanwhile gets the reply Redis gives a
// client blocked on it directly.
func TestGatewayBlockedXReadGroupStreamDeleted(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}, AllowAdmin: true})
	ctx := context.Background()
	direct := src.MasterFor("st").Client()
	c, other := gwClient(t, g.Addr(), 2, ""), gwClient(t, g.Addr(), 2, "")
	read := func(cc *redis.Client, blocked func() bool) error {
		if err := other.XGroupCreateMkStream(ctx, "st", "g", "$").Err(); err != nil {
			t.Fatal(err)
		}
		res := make(chan error, 1)
		go func() {
			res <- cc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"st", ">"}, Block: 10 * time.Second}).Err()
		}()
		waitFor(t, "XREADGROUP blocked", blocked)
		if err := other.Del(ctx, "st").Err(); err != nil {
			t.Fatal(err)
		}
		return <-res
	}
	want := read(direct, func() bool { return redisver.InfoField(direct.Info(ctx, "clients").Val(), "blocked_clients") == "1" })
	got := read(c, func() bool { return redisver.InfoField(other.Info(ctx, "clients").Val(), "blocked_clients") == "1" })
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Fatalf("blocked XREADGROUP on a deleted stream: gateway %v, Redis %v", got, want)
	}
	t.Logf("both: %v", got)
}
