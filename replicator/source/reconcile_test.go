package source

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/slots"
)

// topo builds a topology from "master[/replica...]:start-end[,start-end]" entries; a
// node written "x!" is failed. Node ids are the names; addresses are low loopback
// ports where nothing listens, so that the links fail fast and retry.
func topo(entries ...string) slots.Topology {
	node := func(name string, primary bool) slots.Node {
		health := "online"
		if strings.HasSuffix(name, "!") {
			name, health = strings.TrimSuffix(name, "!"), "fail"
		}
		return slots.Node{ID: name, Addr: "127.0.0.1:" + fmt.Sprint(1+int(name[0])), Primary: primary, Health: health}
	}
	var t slots.Topology
	for _, e := range entries {
		nodes, ranges, _ := strings.Cut(e, ":")
		names := strings.Split(nodes, "/")
		sh := slots.Shard{Primary: node(names[0], true)}
		for _, r := range names[1:] {
			sh.Replicas = append(sh.Replicas, node(r, false))
		}
		for _, r := range strings.Split(ranges, ",") {
			if r == "" {
				continue
			}
			var a, b int
			fmt.Sscanf(r, "%d-%d", &a, &b)
			sh.Ranges = append(sh.Ranges, slots.Range{Start: a, End: b})
		}
		t.Shards = append(t.Shards, sh)
	}
	return t
}

// TestReconcile drives the shard state machine with a sequence of topology reads and
// checks the events and the node each shard follows.
func TestReconcile(t *testing.T) {
	type step struct {
		topo   slots.Topology
		events string // "kind:index,..." in order
		nodes  string // followed node name per shard index, "-" when removed
	}
	tests := []struct {
		name   string
		follow Follow
		steps  []step
	}{
		{name: "failover, crash failover, reshard, add, remove", steps: []step{
			{topo: topo("a/b:0-5000", "c/d:5001-10000", "e/f:10001-16383"), events: "added:0,added:1,added:2", nodes: "a c e"},
			{topo: topo("b/a:0-5000", "c/d:5001-10000", "e/f:10001-16383"), events: "node-changed:0", nodes: "b c e"},
			{topo: topo("b:0-5000", "d:5001-10000", "e/f:10001-16383", "c!:"), events: "node-changed:1", nodes: "b d e"},
			{topo: topo("b:0-4000", "d:4001-10000", "e/f:10001-16383", "g:"), events: "ranges-changed:0,ranges-changed:1,added:3", nodes: "b d e g"},
			{topo: topo("b:0-4000", "d:4001-10000", "e/f:10001-16383"), events: "", nodes: "b d e g"},
			{topo: topo("b:0-4000", "d:4001-10000", "e/f:10001-16383"), events: "", nodes: "b d e g"},
			{topo: topo("b:0-4000", "d:4001-10000", "e/f:10001-16383"), events: "removed:3", nodes: "b d e -"},
		}},
		{name: "stale duplicate entry", steps: []step{
			{topo: topo("a/b:0-16383"), events: "added:0", nodes: "a"},
			{topo: topo("b:0-16383", "a:"), events: "node-changed:0", nodes: "b"},
		}},
		{name: "follow replica", follow: FollowReplica, steps: []step{
			{topo: topo("a/b/c:0-8000", "d:8001-16383"), events: "added:0,added:1", nodes: "b d"},
			{topo: topo("a/c/b:0-8000", "d:8001-16383"), events: "", nodes: "b d"}, // keeps b
			{topo: topo("a/b!/c:0-8000", "d/e:8001-16383"), events: "node-changed:0,node-changed:1", nodes: "c e"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []string
			s, err := NewSource(Config{
				Seeds:  []string{"127.0.0.1:1"},
				Follow: tt.follow,
				Link:   LinkConfig{Backoff: Backoff{Min: 50 * time.Millisecond, Max: time.Second}},
				NewShard: func(ctx context.Context, sh ShardInfo) (ShardStart, error) {
					return ShardStart{Handler: nopHandler{}}, nil
				},
				OnEvent: func(ev Event) {
					mu.Lock()
					events = append(events, fmt.Sprintf("%v:%d", ev.Kind, ev.Shard.Index))
					mu.Unlock()
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			g, gctx := linkGroup(t)
			for i, st := range tt.steps {
				mu.Lock()
				events = nil
				mu.Unlock()
				if err := s.reconcile(gctx, g, st.topo, false); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				mu.Lock()
				got := strings.Join(events, ",")
				mu.Unlock()
				if got != st.events {
					t.Errorf("step %d: events %q, want %q", i, got, st.events)
				}
				var names []string
				for _, sh := range s.Shards() {
					if sh.Link.Addr == "" {
						names = append(names, "-")
					} else {
						names = append(names, sh.Node.ID)
					}
				}
				if strings.Join(names, " ") != st.nodes {
					t.Errorf("step %d: nodes %q, want %q", i, strings.Join(names, " "), st.nodes)
				}
			}
		})
	}
}

func TestRunOnceCloseIdempotent(t *testing.T) {
	s, err := NewSource(Config{Seeds: []string{"127.0.0.1:1"}, NewShard: func(context.Context, ShardInfo) (ShardStart, error) {
		return ShardStart{Handler: nopHandler{}}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil || s.Close() != nil {
		t.Fatal("Close before Run")
	}
	if err := s.Run(context.Background()); err != ErrClosed {
		t.Fatalf("Run after Close: %v", err)
	}
	l, err := NewLink(LinkConfig{Addr: "127.0.0.1:1", Backoff: Backoff{Min: time.Millisecond, Max: 10 * time.Millisecond}}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	waitFor(t, 10*time.Second, "a reconnect", func() error {
		if l.Status().Reconnects == 0 {
			return fmt.Errorf("status %+v", l.Status())
		}
		return nil
	})
	l.Close()
	l.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := l.Run(context.Background()); err != ErrClosed {
		t.Fatalf("second Run: %v", err)
	}
	if st := l.Status(); st.State != StateStopped || !strings.Contains(st.LastError, "connection refused") {
		t.Fatalf("status %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		cfg    LinkConfig
		errHas string
	}{
		{name: "no addr", cfg: LinkConfig{}, errHas: "Addr is empty"},
		{name: "negative offset", cfg: LinkConfig{Addr: "h:1", Offset: -1}, errHas: "negative"},
		{name: "bad port", cfg: LinkConfig{Addr: "h:1", ListeningPort: 70000}, errHas: "listening port"},
		{name: "bad spool", cfg: LinkConfig{Addr: "h:1", SpoolDir: "/nonexistent/dir"}, errHas: "SpoolDir"},
		{name: "defaults", cfg: LinkConfig{Addr: "h:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if tt.errHas == "" {
				if err != nil || tt.cfg.ReadTimeout != DefaultReadTimeout || tt.cfg.AckInterval != DefaultAckInterval || tt.cfg.Logger == nil {
					t.Fatalf("%v %+v", err, tt.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want %q", err, tt.errHas)
			}
		})
	}
}

// TestReconcileSkip: a shard NewShard skips gets no link, is not offered again
// while it stays (failover included), and is offered again after it left.
func TestReconcileSkip(t *testing.T) {
	var mu sync.Mutex
	offered := map[string]int{}
	s, err := NewSource(Config{
		Seeds: []string{"127.0.0.1:1"},
		Link:  LinkConfig{Backoff: Backoff{Min: 50 * time.Millisecond, Max: time.Second}},
		NewShard: func(ctx context.Context, sh ShardInfo) (ShardStart, error) {
			mu.Lock()
			offered[sh.Master.ID]++
			mu.Unlock()
			if sh.Master.ID == "c" || sh.Master.ID == "d" {
				return ShardStart{Skip: true}, nil
			}
			return ShardStart{Handler: nopHandler{}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, gctx := linkGroup(t)
	linked := func() string {
		var out []string
		for _, sh := range s.Shards() {
			if sh.Link.Addr != "" {
				out = append(out, sh.Node.ID)
			}
		}
		return strings.Join(out, " ")
	}
	steps := []slots.Topology{
		topo("a/b:0-8000", "c/d:8001-16383"),
		topo("a/b:0-8000", "d/c:8001-16383"), // the skipped shard fails over
		topo("a/b:0-8000", "d/c:8001-16000", "e:16001-16383"),
	}
	for i, st := range steps {
		if err := s.reconcile(gctx, g, st, false); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if got := linked(); got != "a e" {
		t.Fatalf("links to %q, want \"a e\" (the skipped shard has none)", got)
	}
	mu.Lock()
	if offered["c"] != 1 || offered["d"] != 0 || offered["a"] != 1 || offered["e"] != 1 {
		t.Errorf("offered %v: the skipped shard was offered again", offered)
	}
	mu.Unlock()
	// Gone for missingReads reads, then back: offered again.
	for i := 0; i < missingReads; i++ {
		if err := s.reconcile(gctx, g, topo("a/b:0-8000", "e:8001-16383"), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.reconcile(gctx, g, topo("a/b:0-8000", "e:8001-16000", "d:16001-16383"), false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if offered["d"] != 1 {
		t.Errorf("a skipped shard that left and came back was offered %d times, want 1", offered["d"])
	}
}

// linkGroup is the errgroup reconcile starts links under; the links stop, and
// their errors are reported, when the test ends.
func linkGroup(t *testing.T) (*errgroup.Group, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(ctx)
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Error(err)
		}
	})
	return g, gctx
}
