package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/conn"
)

// keyHandler records, per shard, the keys the stream wrote and the offsets reached.
type keyHandler struct {
	mu       sync.Mutex
	index    int
	fulls    int
	conts    int
	rdbBytes int64
	offset   int64
	replID   string
	keys     map[string]string // key -> last command name that named it first
	cmds     int
}

func (h *keyHandler) FullSync(ctx context.Context, replID string, offset int64, rdb io.Reader, size int64) error {
	n, err := io.Copy(io.Discard, rdb)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fulls++
	h.rdbBytes, h.offset, h.replID = n, offset, replID
	if size >= 0 && n != size {
		return fmt.Errorf("snapshot %d bytes, announced %d", n, size)
	}
	return err
}

func (h *keyHandler) Continue(ctx context.Context, replID string, offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if offset > h.offset {
		return fmt.Errorf("continue at %d, handled %d", offset, h.offset)
	}
	h.offset = offset // an unfinished transaction comes again
	h.conts++
	h.replID = replID
	return nil
}

func (h *keyHandler) Command(ctx context.Context, db int, args [][]byte, offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if offset <= h.offset {
		return fmt.Errorf("offset went back: %d after %d", offset, h.offset)
	}
	h.offset = offset
	h.cmds++
	if len(args) >= 2 {
		if h.keys == nil {
			h.keys = map[string]string{}
		}
		h.keys[string(args[1])] = strings.ToUpper(string(args[0]))
	}
	return nil
}

func (h *keyHandler) Progress(ctx context.Context, db int, offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offset = offset
	return nil
}

func (h *keyHandler) has(key string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.keys[key]
	return c, ok
}

func (h *keyHandler) handled() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offset
}

// waitFor polls cond until it holds or the timeout; it is a test helper, not a
// goroutine synchronisation.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func infoField(t *testing.T, c redis.UniversalClient, section, field string) int64 {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in INFO %s", field, section)
	return 0
}

// startSource runs a Source in the background; it is stopped at cleanup.
func startSource(t *testing.T, cfg Config) (*Source, map[int]*keyHandler, *sync.Mutex, chan error) {
	t.Helper()
	var mu sync.Mutex
	handlers := map[int]*keyHandler{}
	cfg.NewShard = func(ctx context.Context, sh ShardInfo) (ShardStart, error) {
		mu.Lock()
		defer mu.Unlock()
		h := &keyHandler{index: sh.Index}
		handlers[sh.Index] = h
		return ShardStart{Handler: h}, nil
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Link.Backoff.Min == 0 {
		cfg.Link.Backoff = Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	}
	if cfg.TopologyInterval == 0 {
		cfg.TopologyInterval = time.Second
	}
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- src.Run(context.Background()) }()
	t.Cleanup(func() {
		src.Close()
		if err := <-errc; err != nil {
			t.Errorf("Source.Run: %v", err)
		}
		errc <- nil
	})
	return src, handlers, &mu, errc
}

func waitStreaming(t *testing.T, src *Source, shards int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d shards streaming", shards), func() error {
		st := src.Shards()
		n := 0
		for _, s := range st {
			if s.Link.State == StateStream {
				n++
			}
		}
		if n != shards {
			return fmt.Errorf("%d of %d streaming: %+v", n, len(st), st)
		}
		return nil
	})
}

func TestE2EStandalone(t *testing.T) {
	tests := []struct {
		name   string
		config []string
		link   LinkConfig
	}{
		{name: "diskless", config: []string{"repl-diskless-sync yes"}},
		{name: "disk-based", config: []string{"repl-diskless-sync no"}},
		{name: "spool and rate limit", link: LinkConfig{SpoolDir: t.TempDir(), SnapshotRateLimit: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testStandalone(t, tt.config, tt.link)
		})
	}
}

func testStandalone(t *testing.T, config []string, link LinkConfig) {
	srv := redistest.Start(t, redistest.Options{Password: "pw", Config: config})
	ctx := context.Background()
	cl := srv.Client()
	for i := range 1000 {
		cl.Set(ctx, "pre:"+strconv.Itoa(i), strings.Repeat("x", 100)+strconv.Itoa(i), 0)
	}
	link.Conn = conn.Options{Password: "pw"}
	link.ListeningPort = 4242
	src, handlers, mu, _ := startSource(t, Config{Seeds: []string{srv.Addr()}, Link: link})
	waitStreaming(t, src, 1)
	mu.Lock()
	h := handlers[0]
	mu.Unlock()
	for i := range 500 {
		cl.Set(ctx, "live:"+strconv.Itoa(i), "v", 0)
	}
	waitFor(t, 30*time.Second, "every live key", func() error {
		for i := range 500 {
			if _, ok := h.has("live:" + strconv.Itoa(i)); !ok {
				return fmt.Errorf("live:%d missing", i)
			}
		}
		return nil
	})
	waitFor(t, 30*time.Second, "handled offset = master_repl_offset", func() error {
		if got, want := h.handled(), infoField(t, cl, "replication", "master_repl_offset"); got != want {
			return fmt.Errorf("handled %d, master %d", got, want)
		}
		return nil
	})
	st := src.Shards()[0]
	if !st.Standalone || st.Link.FullSyncs != 1 || st.Link.SnapshotBytes < 10000 || st.Link.SnapshotBytes != h.rdbBytes {
		t.Fatalf("status %+v, handler read %d snapshot bytes", st, h.rdbBytes)
	}
	if info, _ := cl.Info(ctx, "replication").Result(); !strings.Contains(info, "port=4242") {
		t.Errorf("listening port not shown by the master:\n%s", info)
	}
}

func TestE2EResume(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	cl := srv.Client()
	cl.Set(ctx, "pre", "v", 0)
	src, handlers, mu, _ := startSource(t, Config{Seeds: []string{srv.Addr()}})
	waitStreaming(t, src, 1)
	mu.Lock()
	h := handlers[0]
	mu.Unlock()
	partial := infoField(t, cl, "stats", "sync_partial_ok")
	for round := range 3 {
		// The master drops the replica; writes go on meanwhile.
		if err := cl.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			cl.Set(ctx, fmt.Sprintf("r%d:%d", round, i), "v", 0)
		}
		waitFor(t, 30*time.Second, "keys written while the link was down", func() error {
			for i := range 200 {
				if _, ok := h.has(fmt.Sprintf("r%d:%d", round, i)); !ok {
					return fmt.Errorf("r%d:%d missing", round, i)
				}
			}
			return nil
		})
	}
	if got := infoField(t, cl, "stats", "sync_partial_ok"); got < partial+3 {
		t.Errorf("sync_partial_ok %d, want >= %d", got, partial+3)
	}
	if full := infoField(t, cl, "stats", "sync_full"); full != 1 {
		t.Errorf("sync_full = %d, want 1", full)
	}
	st := src.Shards()[0].Link
	if st.FullSyncs != 1 || st.PartialSyncs < 3 || st.Reconnects < 3 {
		t.Errorf("link status %+v", st)
	}
}

func TestE2EWrongPassword(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "right"})
	src, err := NewSource(Config{
		Seeds:    []string{srv.Addr()},
		Link:     LinkConfig{Conn: conn.Options{Password: "wrong"}},
		NewShard: func(context.Context, ShardInfo) (ShardStart, error) { return ShardStart{}, errors.New("unreachable") },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = src.Run(ctx)
	if !errors.Is(err, conn.ErrAuth) || !strings.Contains(err.Error(), "WRONGPASS") || ctx.Err() != nil {
		t.Fatalf("err = %v", err)
	}
}

func TestE2ENoPermission(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Users: []redistest.User{{Name: "app", Password: "p", Rules: "~* &* +@all -psync -sync"}}})
	h := &keyHandler{}
	l, err := NewLink(LinkConfig{Addr: srv.Addr(), Conn: conn.Options{Username: "app", Password: "p"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = l.Run(ctx)
	if !errors.Is(err, ErrNoPermission) || !strings.Contains(err.Error(), "ACL SETUSER app +psync") {
		t.Fatalf("err = %v", err)
	}
}

func TestE2ETLS(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{TLS: true})
	f := srv.TLS()
	seeds, opts, err := conn.ParseURL("rediss://" + srv.Addr() + "?tls-ca=" + f.CACert + "&tls-cert=" + f.ClientCert + "&tls-key=" + f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl := srv.Client()
	for i := range 100 {
		cl.Set(ctx, "pre:"+strconv.Itoa(i), "v", 0)
	}
	src, handlers, mu, _ := startSource(t, Config{Seeds: seeds, Link: LinkConfig{Conn: opts}})
	waitStreaming(t, src, 1)
	mu.Lock()
	h := handlers[0]
	mu.Unlock()
	cl.Set(ctx, "over-tls", "v", 0)
	waitFor(t, 30*time.Second, "a key over TLS", func() error {
		if _, ok := h.has("over-tls"); !ok {
			return errors.New("missing")
		}
		return nil
	})
	if h.rdbBytes == 0 {
		t.Fatal("no snapshot bytes")
	}
}

// writer writes keys to the cluster until stopped and remembers the acknowledged ones.
type writer struct {
	mu   sync.Mutex
	keys []string
	n    atomic.Int64
}

func (w *writer) run(ctx context.Context, c *redis.ClusterClient, prefix string) {
	for i := 0; ctx.Err() == nil; i++ {
		k := prefix + strconv.Itoa(i)
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			continue // a write refused during the failover was not made
		}
		w.mu.Lock()
		w.keys = append(w.keys, k)
		w.mu.Unlock()
		w.n.Add(1)
	}
}

func (w *writer) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.keys...)
}

func missingKeys(handlers map[int]*keyHandler, mu *sync.Mutex, keys []string) []string {
	mu.Lock()
	defer mu.Unlock()
	var miss []string
	for _, k := range keys {
		found := false
		for _, h := range handlers {
			if _, ok := h.has(k); ok {
				found = true
				break
			}
		}
		if !found {
			miss = append(miss, k)
		}
	}
	return miss
}

// TestE2EStandaloneReplica: with a standalone replica as seed, FollowMaster follows
// its master and FollowReplica the replica.
func TestE2EStandaloneReplica(t *testing.T) {
	master := redistest.Start(t, redistest.Options{})
	replica := redistest.Start(t, redistest.Options{Config: []string{"replicaof 127.0.0.1 " + strconv.Itoa(master.Port())}})
	ctx := context.Background()
	waitFor(t, 30*time.Second, "the replica in sync", func() error {
		if s, _ := replica.Client().Info(ctx, "replication").Result(); !strings.Contains(s, "master_link_status:up") {
			return errors.New("link down")
		}
		return nil
	})
	for _, tt := range []struct {
		name   string
		follow Follow
		want   string
	}{
		{name: "master", follow: FollowMaster, want: master.Addr()},
		{name: "replica", follow: FollowReplica, want: replica.Addr()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, handlers, mu, _ := startSource(t, Config{Seeds: []string{replica.Addr()}, Follow: tt.follow})
			waitStreaming(t, src, 1)
			if got := src.Shards()[0].Node.Addr; got != tt.want {
				t.Fatalf("follows %s, want %s", got, tt.want)
			}
			key := "via-" + tt.name
			master.Client().Set(ctx, key, "v", 0)
			waitFor(t, 30*time.Second, key, func() error {
				if miss := missingKeys(handlers, mu, []string{key}); len(miss) > 0 {
					return errors.New("missing")
				}
				return nil
			})
		})
	}
}
