package redistest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStandalone(t *testing.T) {
	ctx := ctxT(t)
	s := redistest.Start(t, redistest.Options{
		Password: "s3cret",
		Users:    []redistest.User{{Name: "alice", Password: "pw"}},
		Config:   []string{"maxmemory 64mb", "repl-backlog-size 2mb"},
	})
	c := s.Client()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	for _, tc := range []struct{ key, want string }{{"maxmemory", "67108864"}, {"repl-backlog-size", "2097152"}, {"save", ""}, {"appendonly", "no"}} {
		got, err := c.ConfigGet(ctx, tc.key).Result()
		if err != nil || got[tc.key] != tc.want {
			t.Errorf("CONFIG GET %s = %q, %v; want %q", tc.key, got[tc.key], err, tc.want)
		}
	}
	alice := redis.NewClient(&redis.Options{Addr: s.Addr(), Username: "alice", Password: "pw", Protocol: 2})
	defer alice.Close()
	if err := alice.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET as alice: %v", err)
	}
	if !strings.HasPrefix(s.URL(), "redis://:s3cret@127.0.0.1:") {
		t.Errorf("URL = %q", s.URL())
	}
	port, pid := s.Port(), s.Pid()
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.Port() != port || s.Pid() == pid {
		t.Errorf("after Restart port %d pid %d; before %d %d", s.Port(), s.Pid(), port, pid)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
	if err := s.Kill(); err != nil || s.Running() {
		t.Fatalf("Kill: %v, running %v", err, s.Running())
	}
}

func TestTLS(t *testing.T) {
	ctx := ctxT(t)
	s := redistest.Start(t, redistest.Options{TLS: true})
	f := s.TLS()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	noCert := &tls.Config{RootCAs: f.ClientConfig().RootCAs, ServerName: "127.0.0.1"}
	tests := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"client cert", f.ClientConfig(), true},
		{"no client cert", noCert, false},
		{"plain TCP", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := redis.NewClient(&redis.Options{Addr: s.Addr(), TLSConfig: tc.cfg, Protocol: 2, MaxRetries: -1, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second})
			defer cl.Close()
			err := cl.Ping(ctx).Err()
			if (err == nil) != tc.ok {
				t.Errorf("PING: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if !strings.HasPrefix(s.URL(), "rediss://127.0.0.1:") || !strings.Contains(s.URL(), "tls-ca=") {
		t.Errorf("URL = %q", s.URL())
	}
}

func TestCluster(t *testing.T) {
	ctx := ctxT(t)
	start := time.Now()
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	t.Logf("cluster up in %v: %s", time.Since(start), c.Seeds())
	if n, m, r := len(c.Nodes()), len(c.Masters()), len(c.Replicas()); n != 6 || m != 3 || r != 3 {
		t.Fatalf("nodes %d masters %d replicas %d; want 6 3 3", n, m, r)
	}
	cc := c.Client()
	writeKeys(ctx, t, cc, 1000)

	replica := c.Replicas()[0]
	t0 := time.Now()
	if err := c.Failover(ctx, replica); err != nil {
		t.Fatalf("Failover: %v", err)
	}
	t.Logf("failover in %v", time.Since(t0))
	if !contains(c.Masters(), replica) {
		t.Fatalf("%s is not a master after failover", replica.Addr())
	}
	checkKeys(ctx, t, cc, 1000)

	ms := c.Masters()
	t0 = time.Now()
	before := slotsOf(ctx, t, c, ms[1])
	if err := c.Reshard(ctx, ms[0], ms[1], 100); err != nil {
		t.Fatalf("Reshard: %v", err)
	}
	t.Logf("reshard in %v", time.Since(t0))
	if after := slotsOf(ctx, t, c, ms[1]); after != before+100 {
		t.Errorf("%s owns %d slots after reshard, want %d", ms[1].Addr(), after, before+100)
	}
	checkKeys(ctx, t, cc, 1000)

	if testing.Short() {
		return
	}
	master := c.Masters()[2]
	t0 = time.Now()
	promoted, err := c.KillMaster(ctx, master)
	if err != nil {
		t.Fatalf("KillMaster: %v", err)
	}
	t.Logf("promotion after kill in %v", time.Since(t0))
	if promoted == master || !contains(c.Masters(), promoted) {
		t.Fatalf("promoted %s is not a master", promoted.Addr())
	}
	checkKeys(ctx, t, cc, 1000)

	// The killed master comes back with its nodes.conf and rejoins as a replica.
	t0 = time.Now()
	if err := master.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := c.WaitStable(ctx); err != nil {
		t.Fatalf("WaitStable after restart: %v", err)
	}
	t.Logf("rejoined in %v", time.Since(t0))
	if !contains(c.ReplicasOf(promoted), master) {
		t.Errorf("restarted %s is not a replica of %s", master.Addr(), promoted.Addr())
	}
}

// TestClusterByHand covers the 1- and 2-master path (no redis-cli create), a password
// and adding a node.
func TestClusterByHand(t *testing.T) {
	ctx := ctxT(t)
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 2, Options: redistest.Options{Password: "pw"}})
	cc := c.Client()
	writeKeys(ctx, t, cc, 100)
	if want := "redis://:pw@" + c.Seeds(); c.URL() != want {
		t.Errorf("URL = %q, want %q", c.URL(), want)
	}
	added, err := c.AddMaster(ctx)
	if err != nil {
		t.Fatalf("AddMaster: %v", err)
	}
	if err := c.Reshard(ctx, c.Masters()[0], added, 10); err != nil {
		t.Fatalf("Reshard: %v", err)
	}
	if got := slotsOf(ctx, t, c, added); got != 10 {
		t.Errorf("added node owns %d slots, want 10", got)
	}
	r, err := c.AddReplica(ctx, added)
	if err != nil {
		t.Fatalf("AddReplica: %v", err)
	}
	if rs := c.ReplicasOf(added); len(rs) != 1 || rs[0] != r {
		t.Errorf("replicas of the added master: %v", rs)
	}
	checkKeys(ctx, t, cc, 100)
}

func TestClusterTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a TLS cluster")
	}
	ctx := ctxT(t)
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{TLS: true}})
	writeKeys(ctx, t, c.Client(), 100)
	checkKeys(ctx, t, c.Client(), 100)
}

func writeKeys(ctx context.Context, t *testing.T, c *redis.ClusterClient, n int) {
	t.Helper()
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
}

func checkKeys(ctx context.Context, t *testing.T, c *redis.ClusterClient, n int) {
	t.Helper()
	for i := range n {
		got, err := c.Get(ctx, fmt.Sprintf("key:%d", i)).Int()
		if err != nil || got != i {
			t.Fatalf("GET key:%d = %d, %v", i, got, err)
		}
	}
}

func slotsOf(ctx context.Context, t *testing.T, c *redistest.Cluster, s *redistest.Server) int {
	t.Helper()
	v, err := c.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range v {
		if n.Addr == s.Addr() {
			return n.NumSlots()
		}
	}
	t.Fatalf("%s not in the cluster view", s.Addr())
	return 0
}

func contains(list []*redistest.Server, s *redistest.Server) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestNoReplication(t *testing.T) {
	ctx := ctxT(t)
	s := redistest.Start(t, redistest.Options{NoReplication: true})
	c := s.Client()
	for _, cmd := range [][]any{{"PSYNC", "?", "-1"}, {"SYNC"}, {"REPLCONF", "listening-port", "0"}} {
		err := c.Do(ctx, cmd...).Err()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unknown command") {
			t.Errorf("%v on the stand-in: %v; want unknown command", cmd[0], err)
		}
	}
	for _, cmd := range [][]any{{"SET", "k", "v"}, {"DUMP", "k"}, {"SCAN", "0"}, {"CONFIG", "SET", "notify-keyspace-events", "KA"}} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Errorf("%v on the stand-in: %v", cmd[0], err)
		}
	}
}
