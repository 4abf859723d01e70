package ha

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/conn"
)

func TestStale(t *testing.T) {
	f, err := NewFence(FenceConfig{Client: redis.NewClient(&redis.Options{}), Name: "xs"})
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Join([]string{
		"id=3 addr=127.0.0.1:1 laddr=x fd=8 name=xsync-xs-e1-pod-a age=1 db=0",
		"id=4 addr=127.0.0.1:2 laddr=x fd=9 name=xsync-xs-e2 age=1 db=0",
		"id=5 addr=127.0.0.1:3 laddr=x fd=9 name=xsync-xs-e3-pod-b age=1 db=0",
		"id=6 addr=127.0.0.1:4 laddr=x fd=9 name=xsync-other-e1 age=1 db=0",
		"id=7 addr=127.0.0.1:5 laddr=x fd=9 name= age=1 db=0",
		"id=8 addr=127.0.0.1:6 laddr=x fd=9 name=xsync-xs-eX age=1 db=0",
		"",
	}, "\n")
	got := strings.Join(f.stale(list, 3), ",")
	if got != "3,4" {
		t.Fatalf("stale = %q, want 3,4 (older epochs of group xs only)", got)
	}
	if _, err := NewFence(FenceConfig{Client: redis.NewClient(&redis.Options{}), Name: "bad name"}); err == nil {
		t.Fatal("a name with a space was accepted")
	}
}

// dialFenced opens a destination connection the way the applier does.
func dialFenced(ctx context.Context, addr string, f *Fence) (*conn.Conn, error) {
	return conn.Dial(ctx, conn.Options{Addr: addr, OnConnect: f.OnConnect})
}

// TestFenceStandalone: a deposed leader's open connection is killed by the new
// leader's Acquire, and its next connection is refused.
func TestFenceStandalone(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	fenceRoundTrip(t, srv.Client(), []string{srv.Addr()})
}

func TestFenceCluster(t *testing.T) {
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	var addrs []string
	for _, m := range c.Masters() {
		addrs = append(addrs, m.Addr())
	}
	fenceRoundTrip(t, c.Client(), addrs)
}

func fenceRoundTrip(t *testing.T, client redis.UniversalClient, addrs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old, err := NewFence(FenceConfig{Client: client, Name: "xs", Identity: "pod-a"})
	if err != nil {
		t.Fatal(err)
	}
	// Not leading yet: no connection.
	if _, err := dialFenced(ctx, addrs[0], old); !errors.Is(err, conn.ErrFenced) {
		t.Fatalf("dial before Acquire: %v, want ErrFenced", err)
	}
	e1, err := old.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var conns []*conn.Conn
	for _, a := range addrs {
		c, err := dialFenced(ctx, a, old)
		if err != nil {
			t.Fatalf("leader's dial to %s: %v", a, err)
		}
		defer c.Close()
		if _, err := c.Do(ctx, "PING"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// A connection of another group and an unnamed one must survive the sweep.
	otherClient := redis.NewClient(&redis.Options{Addr: addrs[0], MaxRetries: -1})
	defer otherClient.Close()
	other := otherClient.Conn()
	defer other.Close()
	if err := other.Do(ctx, "CLIENT", "SETNAME", "xsync-other-e1").Err(); err != nil {
		t.Fatal(err)
	}

	nw, err := NewFence(FenceConfig{Client: client, Name: "xs", Identity: "pod-b"})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := nw.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e2 != e1+1 {
		t.Fatalf("epochs %d then %d, want consecutive", e1, e2)
	}
	// Every connection of the old leader is gone: a write on it fails.
	for i, c := range conns {
		if _, err := c.Do(ctx, "SET", "fenced-write", "x"); err == nil {
			t.Fatalf("the deposed leader wrote through its connection to %s after the new leader's sweep", addrs[i])
		}
	}
	// And it cannot open new ones.
	for _, a := range addrs {
		if _, err := dialFenced(ctx, a, old); !errors.Is(err, conn.ErrFenced) {
			t.Fatalf("deposed leader's new connection to %s: %v, want ErrFenced", a, err)
		}
	}
	if n, _ := client.Exists(ctx, "fenced-write").Result(); n != 0 {
		t.Fatal("the fenced write landed")
	}
	// The new leader can.
	c, err := dialFenced(ctx, addrs[0], nw)
	if err != nil {
		t.Fatalf("new leader's dial: %v", err)
	}
	c.Close()
	if err := other.Ping(ctx).Err(); err != nil {
		t.Fatalf("a connection of another group was killed: %v", err)
	}
	if got, _ := nw.Current(ctx); got != e2 {
		t.Fatalf("Current = %d, want %d", got, e2)
	}
}
