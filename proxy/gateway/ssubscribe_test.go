package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

// TestGatewayShardedPubSub: SSUBSCRIBE to shard channels of every master on one
// gateway connection; SPUBLISH through the gateway and straight to the owning
// master reach it; SUNSUBSCRIBE ends the deliveries.
func TestGatewayShardedPubSub(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	ctx := context.Background()
	// Channels on three different masters.
	var chans []string
	owners := map[string]bool{}
	for i := 0; len(chans) < 3; i++ {
		ch := fmt.Sprintf("sch%d", i)
		if m := src.MasterFor(ch).Addr(); !owners[m] {
			owners[m] = true
			chans = append(chans, ch)
		}
	}
	for _, proto := range []int{2, 3} {
		c, pub := gwClient(t, g.Addr(), proto, ""), gwClient(t, g.Addr(), proto, "")
		sub := c.SSubscribe(ctx, chans...)
		for range chans {
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatalf("resp%d: SSUBSCRIBE: %v", proto, err)
			}
		}
		msgs := sub.Channel()
		for _, ch := range chans {
			if n, err := pub.SPublish(ctx, ch, "via-gateway").Result(); err != nil || n != 1 {
				t.Fatalf("resp%d: SPUBLISH %s = %d, %v", proto, ch, n, err)
			}
			if err := src.MasterFor(ch).Client().SPublish(ctx, ch, "direct").Err(); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"via-gateway", "direct"} {
				select {
				case m := <-msgs:
					if m.Channel != ch || m.Payload != want {
						t.Fatalf("resp%d: message %v, want %s on %s", proto, m, want, ch)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("resp%d: no message on %s", proto, ch)
				}
			}
		}
		if err := sub.SUnsubscribe(ctx, chans...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the shard subscriptions gone", func() bool {
			for _, ch := range chans {
				if n := pub.SPublish(ctx, ch, "late").Val(); n != 0 {
					return false
				}
			}
			return true
		})
		sub.Close()
	}
}
