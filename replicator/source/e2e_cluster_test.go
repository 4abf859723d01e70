package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/slots"
)

// TestE2ECluster follows a 3-master 1-replica cluster: every master is followed; a
// CLUSTER FAILOVER under writes is continued on the new master without a full sync;
// a reshard under writes loses no key; a master added later is picked up.
func TestE2ECluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	ctx := context.Background()
	cl := c.Client()
	for i := range 300 {
		cl.Set(ctx, fmt.Sprintf("pre:%d", i), "v", 0)
	}
	var events sync.Map // kind -> count
	src, handlers, mu, _ := startSource(t, Config{
		Seeds: []string{c.Addrs()[0]},
		OnEvent: func(ev Event) {
			n, _ := events.LoadOrStore(ev.Kind, new(int))
			*(n.(*int))++
		},
	})
	waitStreaming(t, src, 3)
	for _, st := range src.Shards() {
		if st.Link.FullSyncs != 1 || len(st.Ranges) == 0 || st.Node.Addr != st.Master.Addr {
			t.Fatalf("shard %+v", st)
		}
	}

	wctx, stopWrites := context.WithCancel(ctx)
	var w writer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx, cl, "w:") }()
	waitFor(t, 30*time.Second, "writes", func() error {
		if w.n.Load() < 200 {
			return fmt.Errorf("%d writes", w.n.Load())
		}
		return nil
	})

	// Failover of the first master's shard, under writes.
	oldMaster := c.Masters()[0]
	replica := c.ReplicasOf(oldMaster)[0]
	fullBefore := infoField(t, replica.Client(), "stats", "sync_full")
	partialBefore := infoField(t, replica.Client(), "stats", "sync_partial_ok")
	var shardIdx = -1
	for _, st := range src.Shards() {
		if st.Master.Addr == oldMaster.Addr() {
			shardIdx = st.Index
		}
	}
	if err := c.Failover(ctx, replica); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the link to follow the new master", func() error {
		for _, st := range src.Shards() {
			if st.Index == shardIdx && st.Node.Addr == replica.Addr() && st.Link.State == StateStream {
				return nil
			}
		}
		return fmt.Errorf("shards %+v", src.Shards())
	})
	n0 := w.n.Load()
	waitFor(t, 30*time.Second, "writes after the failover", func() error {
		if w.n.Load() < n0+200 {
			return fmt.Errorf("%d writes", w.n.Load())
		}
		return nil
	})
	if got := infoField(t, replica.Client(), "stats", "sync_full"); got != fullBefore {
		t.Errorf("new master sync_full %d -> %d: a full resync happened", fullBefore, got)
	}
	if got := infoField(t, replica.Client(), "stats", "sync_partial_ok"); got <= partialBefore {
		t.Errorf("new master sync_partial_ok %d -> %d, want it up", partialBefore, got)
	}
	for _, st := range src.Shards() {
		if st.Link.FullSyncs > 1 {
			t.Errorf("shard %d did %d full syncs", st.Index, st.Link.FullSyncs)
		}
	}

	// Reshard under writes: 200 slots from one master to another.
	ms := c.Masters()
	if err := c.Reshard(ctx, ms[1], ms[2], 200); err != nil {
		t.Fatal(err)
	}
	// A new master joins and gets slots.
	added, err := c.AddMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitStreaming(t, src, 4)
	if err := c.Reshard(ctx, ms[2], added, 100); err != nil {
		t.Fatal(err)
	}
	n1 := w.n.Load()
	waitFor(t, 30*time.Second, "writes after the reshards", func() error {
		if w.n.Load() < n1+200 {
			return fmt.Errorf("%d writes", w.n.Load())
		}
		return nil
	})
	stopWrites()
	wg.Wait()

	keys := w.all()
	waitFor(t, 60*time.Second, "every acknowledged write in some shard's stream", func() error {
		if miss := missingKeys(handlers, mu, keys); len(miss) > 0 {
			return fmt.Errorf("%d of %d keys missing, e.g. %v", len(miss), len(keys), miss[:min(5, len(miss))])
		}
		return nil
	})
	// Keys that now live on the added master reached its stream (RESTORE-ASKING or
	// a later write): none is missed by the shard that owns it now.
	var addedH *keyHandler
	var addedRanges []slots.Range
	waitFor(t, 30*time.Second, "the Source to see the added master's slots", func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, st := range src.Shards() {
			if st.Master.Addr == added.Addr() && len(st.Ranges) > 0 {
				addedH, addedRanges = handlers[st.Index], st.Ranges
				return nil
			}
		}
		return errors.New("not yet")
	})
	if addedH == nil {
		t.Fatal("added master not followed")
	}
	owned := 0
	for _, k := range keys {
		slot, in := slots.SlotString(k), false
		for _, r := range addedRanges {
			in = in || (slot >= r.Start && slot <= r.End)
		}
		if !in {
			continue
		}
		owned++
		if _, ok := addedH.has(k); !ok {
			t.Errorf("key %s lives on the added master but never reached its stream", k)
			break
		}
	}
	if owned == 0 {
		t.Error("no written key moved to the added master")
	}
	if st := src.Shards(); len(st) != 4 {
		t.Errorf("%d shards, want 4", len(st))
	}
	for _, k := range []EventKind{ShardAdded, ShardNodeChanged, ShardRangesChanged} {
		if n, ok := events.Load(k); !ok || *(n.(*int)) == 0 {
			t.Errorf("no %v event", k)
		}
	}
}

// TestE2EClusterKillMaster: a master killed under writes is replaced by its promoted
// replica; the shard's stream continues there and every write the cluster kept is
// seen.
func TestE2EClusterKillMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	ctx := context.Background()
	cl := c.Client()
	src, handlers, mu, _ := startSource(t, Config{Seeds: c.Addrs()})
	waitStreaming(t, src, 3)
	wctx, stopWrites := context.WithCancel(ctx)
	var w writer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx, cl, "k:") }()
	waitFor(t, 30*time.Second, "writes", func() error {
		if w.n.Load() < 200 {
			return fmt.Errorf("%d writes", w.n.Load())
		}
		return nil
	})
	victim := c.Masters()[1]
	promoted, err := c.KillMaster(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the shard to follow the promoted replica", func() error {
		for _, st := range src.Shards() {
			if st.Node.Addr == promoted.Addr() && st.Link.State == StateStream {
				return nil
			}
		}
		return fmt.Errorf("shards %+v", src.Shards())
	})
	n0 := w.n.Load()
	waitFor(t, 30*time.Second, "writes after the failover", func() error {
		if w.n.Load() < n0+200 {
			return fmt.Errorf("%d writes", w.n.Load())
		}
		return nil
	})
	stopWrites()
	wg.Wait()
	// Writes acknowledged by the killed master may be lost by Redis itself
	// (asynchronous replication): check the keys the cluster still holds.
	var kept []string
	for _, k := range w.all() {
		if n, err := cl.Exists(ctx, k).Result(); err == nil && n == 1 {
			kept = append(kept, k)
		}
	}
	waitFor(t, 60*time.Second, "every kept write in some shard's stream", func() error {
		if miss := missingKeys(handlers, mu, kept); len(miss) > 0 {
			return fmt.Errorf("%d of %d keys missing, e.g. %v", len(miss), len(kept), miss[:min(5, len(miss))])
		}
		return nil
	})
	for _, st := range src.Shards() {
		if st.Node.Addr == promoted.Addr() {
			t.Logf("shard %d after the crash failover: full syncs %d, partial syncs %d", st.Index, st.Link.FullSyncs, st.Link.PartialSyncs)
		}
	}
}

// TestE2EFollowReplica: with FollowReplica every shard is followed through one of its
// replicas; the masters serve no extra replica.
func TestE2EFollowReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	ctx := context.Background()
	cl := c.Client()
	src, handlers, mu, _ := startSource(t, Config{Seeds: c.Addrs()[:1], Follow: FollowReplica})
	waitStreaming(t, src, 3)
	for _, st := range src.Shards() {
		if st.Node.Addr == st.Master.Addr || st.Node.Primary {
			t.Fatalf("shard %d follows %s, its master", st.Index, st.Node.Addr)
		}
	}
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("viareplica:%d", i)
		if err := cl.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	waitFor(t, 30*time.Second, "every write through the replicas", func() error {
		if miss := missingKeys(handlers, mu, keys); len(miss) > 0 {
			return fmt.Errorf("%d missing", len(miss))
		}
		return nil
	})
	for _, m := range c.Masters() {
		if n := infoField(t, m.Client(), "replication", "connected_slaves"); n != 1 {
			t.Errorf("master %s serves %d replicas, want its 1", m.Addr(), n)
		}
	}
}
