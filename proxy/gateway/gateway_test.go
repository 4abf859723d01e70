package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/xsync/xsync/internal/redistest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startGateway serves cfg until the test ends.
func startGateway(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		g.Close()
	})
	return g
}

func gwClient(t *testing.T, addr string, proto int, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, Password: password, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGatewayCommands(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			c := gwClient(t, g.Addr(), proto, "")
			p := fmt.Sprintf("p%d:", proto)
			if s, err := c.Ping(ctx).Result(); err != nil || s != "PONG" {
				t.Fatalf("PING = %q, %v", s, err)
			}
			// Keys spread over the three masters, pipelined.
			pipe := c.Pipeline()
			for i := range 200 {
				pipe.Set(ctx, fmt.Sprintf("%sk%d", p, i), i, 0)
				pipe.Incr(ctx, p+"counter")
				pipe.Get(ctx, fmt.Sprintf("%sk%d", p, i))
			}
			cmds, err := pipe.Exec(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 200 {
				if n := cmds[3*i+1].(*redis.IntCmd).Val(); n != int64(i+1) {
					t.Fatalf("INCR %d = %d", i, n)
				}
				if v := cmds[3*i+2].(*redis.StringCmd).Val(); v != fmt.Sprint(i) {
					t.Fatalf("GET k%d = %q", i, v)
				}
			}
			// On the cluster, every key is where it belongs.
			if v, err := src.Client().Get(ctx, p+"k7").Result(); err != nil || v != "7" {
				t.Fatalf("source GET = %q, %v", v, err)
			}
			if err := c.MSet(ctx, p+"a", 1, p+"b", 2).Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
				t.Fatalf("cross-slot MSET: %v", err)
			}
			if err := c.MSet(ctx, "{"+p+"}a", 1, "{"+p+"}b", 2).Err(); err != nil {
				t.Fatalf("same-slot MSET: %v", err)
			}
			if err := c.LPush(ctx, p+"k1", "x").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
				t.Fatalf("error reply not passed through: %v", err)
			}
			// MULTI/EXEC in one slot.
			res, err := c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
				pp.Incr(ctx, "{"+p+"tx}n")
				pp.Incr(ctx, "{"+p+"tx}n")
				pp.Get(ctx, "{"+p+"tx}n")
				return nil
			})
			if err != nil || res[2].(*redis.StringCmd).Val() != "2" {
				t.Fatalf("tx: %v %v", res, err)
			}
			// As on a cluster: the second command is refused, EXEC aborts.
			_, err = c.TxPipelined(ctx, func(pp redis.Pipeliner) error {
				pp.Incr(ctx, p+"x")
				pp.Incr(ctx, p+"y")
				return nil
			})
			if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
				t.Fatalf("cross-slot tx: %v", err)
			}
			if n, _ := src.Client().Exists(ctx, p+"x").Result(); n != 0 {
				t.Fatal("an aborted transaction wrote")
			}
			if err := c.Do(ctx, "SELECT", "1").Err(); err == nil {
				t.Fatal("SELECT 1 accepted")
			}
			if err := c.Do(ctx, "CLIENT", "SETNAME", "me").Err(); err != nil {
				t.Fatal(err)
			}
			if s, _ := c.Do(ctx, "CLIENT", "GETNAME").Text(); s != "me" {
				t.Fatalf("GETNAME = %q", s)
			}
			// A blocking command does not block the others.
			other := gwClient(t, g.Addr(), proto, "")
			got := make(chan []string, 1)
			go func() { v, _ := c.BLPop(ctx, 5*time.Second, p+"q").Result(); got <- v }()
			time.Sleep(100 * time.Millisecond)
			if err := other.Set(ctx, p+"free", 1, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := other.RPush(ctx, p+"q", "item").Err(); err != nil {
				t.Fatal(err)
			}
			select {
			case v := <-got:
				if len(v) != 2 || v[1] != "item" {
					t.Fatalf("BLPOP = %v", v)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("BLPOP did not return")
			}
		})
	}
}

func TestGatewayAuthAndPubSub(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}, Password: "pw"})
	ctx := context.Background()
	if err := gwClient(t, g.Addr(), 2, "").Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v", err)
	}
	if err := gwClient(t, g.Addr(), 3, "bad").Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("bad password: %v", err)
	}
	for _, proto := range []int{2, 3} {
		c := gwClient(t, g.Addr(), proto, "pw")
		sub := c.Subscribe(ctx, "news")
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, err := sub.ReceiveMessage(ctx)
			if err != nil || msg.Payload != "hello" {
				t.Errorf("message = %v, %v", msg, err)
			}
		}()
		time.Sleep(50 * time.Millisecond)
		if err := c.Publish(ctx, "news", "hello").Err(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		sub.Close()
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGatewayBlockingAndPubSubAcrossSwitch: a BLPOP blocked on the source at the
// hold is unblocked, held and run again on the destination, where the RPUSH made
// after the switch wakes it; a subscriber is disconnected at the switch and
// go-redis subscribes again, on the destination.
func TestGatewayBlockingAndPubSubAcrossSwitch(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}, Target: Backend{Seeds: dst.Addrs()}})
	c, pusher := gwClient(t, g.Addr(), 2, ""), gwClient(t, g.Addr(), 3, "")

	popped := make(chan []string, 1)
	go func() {
		v, err := c.BLPop(ctx, 20*time.Second, "bq").Result()
		if err != nil {
			t.Errorf("BLPOP: %v", err)
		}
		popped <- v
	}()
	sub := gwClient(t, g.Addr(), 3, "").Subscribe(ctx, "ch")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // BLPOP blocked on the source

	if err := g.Hold(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "BLPOP held", func() bool { return g.Held() == 1 })
	if err := g.Switch(); err != nil {
		t.Fatal(err)
	}
	if err := pusher.RPush(ctx, "bq", "after").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-popped:
		if len(v) != 2 || v[1] != "after" {
			t.Fatalf("BLPOP = %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("BLPOP did not return after the switch")
	}
	if n, _ := src.Client().Exists(ctx, "bq").Result(); n != 0 {
		t.Error("the RPUSH reached the source")
	}
	// The subscriber comes back on the destination: a PUBLISH on a destination
	// node reaches it.
	msgs := sub.Channel()
	deadline := time.After(10 * time.Second)
	for {
		if err := dst.Client().Publish(ctx, "ch", "hello").Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			if m.Payload != "hello" {
				t.Fatalf("message %v", m)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the subscriber did not come back on the destination")
		}
	}
}
