package gateway

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
)

// TestGatewayWatch: go-redis Watch transactions through the gateway run with
// Redis's semantics: a concurrent change makes EXEC answer null
// (redis.TxFailedErr), optimistic increments by concurrent clients add up,
// watched keys of two slots are CROSSSLOT, and each session's connection is
// closed after EXEC/DISCARD/UNWATCH.
func TestGatewayWatch(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		c, other := gwClient(t, g.Addr(), proto, ""), gwClient(t, g.Addr(), proto, "")
		key := "w" + string(rune('0'+proto))
		// No change in between: applied.
		err := c.Watch(ctx, func(tx *redis.Tx) error {
			n, _ := tx.Get(ctx, key).Int()
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, n+1, 0); return nil })
			return err
		}, key)
		if err != nil {
			t.Fatalf("resp%d: Watch without a conflict: %v", proto, err)
		}
		// A change by another client between WATCH and EXEC: EXEC answers null.
		err = c.Watch(ctx, func(tx *redis.Tx) error {
			if err := other.Set(ctx, key, "changed", 0).Err(); err != nil {
				return err
			}
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, "mine", 0); return nil })
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			t.Fatalf("resp%d: Watch with a concurrent SET: %v, want TxFailedErr", proto, err)
		}
		if v := src.Client().Get(ctx, key).Val(); v != "changed" {
			t.Fatalf("resp%d: %s = %q", proto, key, v)
		}
		// The client's own write after WATCH counts too, as on Redis.
		err = c.Watch(ctx, func(tx *redis.Tx) error {
			if err := tx.Set(ctx, key, "own", 0).Err(); err != nil {
				return err
			}
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, key, "mine", 0); return nil })
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			t.Fatalf("resp%d: Watch after its own SET: %v, want TxFailedErr", proto, err)
		}
		// Two slots.
		err = c.Watch(ctx, func(*redis.Tx) error { return nil }, "a", "b")
		if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
			t.Fatalf("resp%d: WATCH a b: %v", proto, err)
		}
		err = c.Watch(ctx, func(tx *redis.Tx) error { return tx.Watch(ctx, "b").Err() }, "a")
		if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
			t.Fatalf("resp%d: WATCH a, then WATCH b: %v", proto, err)
		}
	}

	// Optimistic increments by concurrent clients: every one counted once.
	const clients, incs = 6, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for range clients {
		c := gwClient(t, g.Addr(), 2, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range incs {
				for {
					err := c.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "{cnt}n").Int()
						if err != nil && err != redis.Nil {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, "{cnt}n", n+1, 0); return nil })
						return err
					}, "{cnt}n")
					if errors.Is(err, redis.TxFailedErr) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := src.Client().Get(ctx, "{cnt}n").Int(); n != clients*incs {
		t.Fatalf("counter = %d after %d optimistic increments (%d conflicts retried)", n, clients*incs, conflicts)
	}
	t.Logf("%d optimistic increments by %d clients, %d EXEC null replies retried", clients*incs, clients, conflicts)

	// DISCARD and UNWATCH end the session too; every session's connection is closed.
	c := gwClient(t, g.Addr(), 2, "")
	err := c.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "MULTI")
			p.Set(ctx, "{cnt}n", 0, 0)
			p.Do(ctx, "DISCARD")
			return nil
		})
		return err
	}, "{cnt}n")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := src.Client().Get(ctx, "{cnt}n").Int(); n != clients*incs {
		t.Fatal("a discarded transaction wrote")
	}
	waitFor(t, "every watch session's connection closed", func() bool { return g.stats.watching.Load() == 0 })
}

// TestGatewayWatchAcrossCutover: a hold between WATCH and EXEC makes the EXEC
// answer null; it never reaches the source after the hold, nor the
// destination. A rolled-back hold is retried on the source, a switched one on
// the destination.
func TestGatewayWatchAcrossCutover(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}, Target: Backend{Seeds: dst.Addrs()}})
	c := gwClient(t, g.Addr(), 3, "")
	set := func(tx *redis.Tx, v string) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, "wk", v, 0); return nil })
		return err
	}
	// Hold and roll back between WATCH and EXEC.
	err := c.Watch(ctx, func(tx *redis.Tx) error {
		if err := g.Hold(ctx); err != nil {
			return err
		}
		err := set(tx, "during-hold")
		if rerr := g.Rollback(); rerr != nil {
			t.Fatal(rerr)
		}
		return err
	}, "wk")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("EXEC during a hold: %v, want TxFailedErr", err)
	}
	if n := src.Client().Exists(ctx, "wk").Val(); n != 0 {
		t.Fatal("the EXEC of a hold reached the source")
	}
	if err := c.Watch(ctx, func(tx *redis.Tx) error { return set(tx, "after-rollback") }, "wk"); err != nil {
		t.Fatalf("Watch after the rollback: %v", err)
	}
	if v := src.Client().Get(ctx, "wk").Val(); v != "after-rollback" {
		t.Fatalf("source wk = %q", v)
	}
	// Hold and switch between WATCH and EXEC.
	err = c.Watch(ctx, func(tx *redis.Tx) error {
		if err := g.Hold(ctx); err != nil {
			return err
		}
		if err := g.Switch(); err != nil {
			return err
		}
		return set(tx, "across-switch")
	}, "wk")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("EXEC after a switch: %v, want TxFailedErr", err)
	}
	if v := src.Client().Get(ctx, "wk").Val(); v != "after-rollback" {
		t.Fatalf("source wk = %q after the switch", v)
	}
	if n := dst.Client().Exists(ctx, "wk").Val(); n != 0 {
		t.Fatal("the EXEC watched on the source ran on the destination")
	}
	if err := c.Watch(ctx, func(tx *redis.Tx) error { return set(tx, "on-destination") }, "wk"); err != nil {
		t.Fatalf("Watch after the switch: %v", err)
	}
	if v := dst.Client().Get(ctx, "wk").Val(); v != "on-destination" {
		t.Fatalf("destination wk = %q", v)
	}
	waitFor(t, "every watch session's connection closed", func() bool { return g.stats.watching.Load() == 0 })
}
