package replicator

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/slots"
	"github.com/xsync/xsync/tests/loadgen"
)

func TestOwner(t *testing.T) {
	rs := func(pairs ...int) []slots.Range {
		var out []slots.Range
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, slots.Range{Start: pairs[i], End: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		ranges []slots.Range
		count  int
		want   int
	}{
		{"one process", rs(10923, 16383), 1, 0},
		{"count 0 is one process", rs(10923, 16383), 0, 0},
		{"standalone: every slot", rs(0, 16383), 4, 0},
		{"no slot yet (new master)", nil, 4, 0},
		{"3 masters / 2: first", rs(0, 5460), 2, 0},
		{"3 masters / 2: second (5461 < 8192)", rs(5461, 10922), 2, 0},
		{"3 masters / 2: third", rs(10923, 16383), 2, 1},
		{"band edge: last slot of band 0", rs(8191, 9000), 2, 0},
		{"band edge: first slot of band 1", rs(8192, 9000), 2, 1},
		{"lowest range counts, not the first listed", rs(12000, 12100, 100, 200), 2, 0},
		{"last slot, many processes", rs(16383, 16383), 16384, 16383},
		{"out of range start is clamped", rs(-5, 10), 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Owner(tc.ranges, tc.count); got != tc.want {
				t.Fatalf("Owner(%v, %d) = %d, want %d", tc.ranges, tc.count, got, tc.want)
			}
		})
	}
}

// TestAssignmentDisjoint: for random cluster layouts and process counts, every shard
// is owned by exactly one process, and a failover (same slots, other nodes) keeps
// its owner.
func TestAssignmentDisjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		masters := 1 + rng.IntN(12)
		count := 1 + rng.IntN(8)
		// Cut the slots into masters contiguous parts, then give each master its part
		// and, sometimes, one more stray range of another part.
		cuts := []int{0}
		for i := 1; i < masters; i++ {
			cuts = append(cuts, i*slots.NumSlots/masters)
		}
		cuts = append(cuts, slots.NumSlots)
		for m := 0; m < masters; m++ {
			info := source.ShardInfo{Index: m, Ranges: []slots.Range{{Start: cuts[m], End: cuts[m+1] - 1}}}
			owners := 0
			for i := 0; i < count; i++ {
				if (Assignment{Index: i, Count: count}).Owns(info) {
					owners++
					failedOver := info
					failedOver.Master = slots.Node{Addr: "10.0.0.9:6379"}
					failedOver.Node = failedOver.Master
					if !(Assignment{Index: i, Count: count}).Owns(failedOver) {
						t.Fatalf("a failover moved shard %v away from process %d/%d", info.Ranges, i, count)
					}
				}
			}
			if owners != 1 {
				t.Fatalf("%d masters, %d processes: shard %v has %d owners, want 1", masters, count, info.Ranges, owners)
			}
		}
	}
}

func TestAssignmentValidate(t *testing.T) {
	for _, tc := range []struct {
		a  Assignment
		ok bool
	}{
		{Assignment{}, true},
		{Assignment{Index: 0, Count: 1}, true},
		{Assignment{Index: 2, Count: 3}, true},
		{Assignment{Index: 3, Count: 3}, false},
		{Assignment{Index: -1, Count: 3}, false},
		{Assignment{Index: 1, Count: 1}, false},
		{Assignment{Index: 0, Count: -2}, false},
		{Assignment{Index: 0, Count: slots.NumSlots + 1}, false},
	} {
		t.Run(tc.a.String(), func(t *testing.T) {
			if err := tc.a.validate(); (err == nil) != tc.ok {
				t.Fatalf("validate(%+v) = %v, want ok=%v", tc.a, err, tc.ok)
			}
		})
	}
}

func TestOrdinal(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
		ok   bool
	}{
		{"xsync-0", 0, true},
		{"xsync-12", 12, true},
		{"my-sync-app-3", 3, true},
		{"xsync", 0, false},
		{"xsync-", 0, false},
		{"xsync-a1", 0, false},
		{"xsync--1", 1, true}, // the last "-" counts
		{"xsync-+1", 0, false},
		{"", 0, false},
		{"xsync-7d9f8b6c5-x2x4z", 0, false}, // a Deployment pod: no ordinal
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Ordinal(tc.name)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Ordinal(%q) = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestScaleOut: two replicators share a 3-master source (process 0: the masters whose
// first slot is below 8192, process 1: the third). Each follows and writes only its
// shards (every master has exactly one replica connection: the sets are disjoint),
// and together they make the destination equal to the source under a write load.
func TestScaleOut(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 3000}); err != nil {
		t.Fatal(err)
	}
	masters := src.Masters()
	if len(masters) != 3 {
		t.Fatalf("%d source masters, want 3", len(masters))
	}
	cfg := Config{SourceSeeds: src.Addrs(), TargetSeeds: dst.Addrs()}
	cfg0, cfg1 := cfg, cfg
	cfg0.Assign = Assignment{Index: 0, Count: 2}
	cfg1.Assign = Assignment{Index: 1, Count: 2}

	p0 := startReplicator(t, cfg0)
	waitCaughtUp(t, p0, 2, masters[0].Client(), masters[1].Client())
	if got := infoInt(t, masters[2].Client(), "replication", "connected_slaves"); got != 0 {
		t.Errorf("the third master has %d replica connections before process 1 starts, want 0 (process 0 must not follow it)", got)
	}
	p1 := startReplicator(t, cfg1)
	st1 := waitCaughtUp(t, p1, 1, masters[2].Client())
	if st1.Shards[0].FullSyncs != 1 {
		t.Errorf("process 1: %d full syncs of its shard, want 1", st1.Shards[0].FullSyncs)
	}
	for i, m := range masters {
		if got := infoInt(t, m.Client(), "replication", "connected_slaves"); got != 1 {
			t.Errorf("master %d: %d replica connections, want 1 (each shard followed by one process)", i, got)
		}
	}
	workFor(t, src.Client(), 2*time.Second, loadgen.WorkOptions{Clients: 4, Rate: 2000})
	waitCaughtUp(t, p0, 2, masters[0].Client(), masters[1].Client())
	waitCaughtUp(t, p1, 1, masters[2].Client())
	requireEqual(t, src.Client(), dst.Client())

	// Each process sees both in the destination; a stopped one turns absent.
	waitProcesses(t, p1, 15*time.Second, "state=stream,shards=2,", "state=stream,shards=1,")
	p0.halt(t)
	waitProcesses(t, p1, 20*time.Second, "state=absent", "state=stream,shards=1,")
}

// waitProcesses waits until rr's view of the scale-out has one summary per prefix.
func waitProcesses(t *testing.T, rr *running, d time.Duration, prefixes ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ps := rr.r.Processes()
		ok := len(ps) == len(prefixes)
		for i := 0; ok && i < len(ps); i++ {
			ok = ps[i].Index == i && strings.HasPrefix(ps[i].Summary, prefixes[i])
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %+v, want the prefixes %q", ps, prefixes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestScaleOutReshardKeepsOwner: after a reshard moves the lowest slot of a shard
// that process 0 follows into process 1's band, a process 1 started then finds
// process 0 alive and following it, and leaves it there: no shard is applied twice.
func TestScaleOutReshardKeepsOwner(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	masters := src.Masters()
	cfg := Config{SourceSeeds: src.Addrs(), TargetSeeds: dst.Addrs()}
	cfg0, cfg1 := cfg, cfg
	cfg0.Assign = Assignment{Index: 0, Count: 2}
	cfg1.Assign = Assignment{Index: 1, Count: 2}
	p0 := startReplicator(t, cfg0)
	waitCaughtUp(t, p0, 2, masters[0].Client(), masters[1].Client())

	// Move the lower half of the second master's slots (5461-8191) to the first: its
	// lowest slot becomes 8192, in process 1's band. The source is still empty: no
	// key migrates (a MIGRATE's RESTORE and DEL travel in two shards' streams, a
	// matter of its own).
	if err := src.Reshard(ctx, masters[1], masters[0], 8192-5461); err != nil {
		t.Fatal(err)
	}
	view, err := src.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range view {
		if n.Addr != masters[1].Addr() {
			continue
		}
		var rs []slots.Range
		for _, r := range n.Slots {
			rs = append(rs, slots.Range{Start: r[0], End: r[1]})
		}
		if Owner(rs, 2) != 1 {
			t.Fatalf("after the reshard the second master owns %v: its owner is not process 1", rs)
		}
	}

	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 2000}); err != nil {
		t.Fatal(err)
	}
	// Process 0 is alive and says what it follows; then process 1 starts.
	waitProcesses(t, p0, 15*time.Second, "state=stream,shards=2,", "state=absent")
	p1 := startReplicator(t, cfg1)
	waitCaughtUp(t, p1, 1, masters[2].Client())
	workFor(t, src.Client(), 2*time.Second, loadgen.WorkOptions{Clients: 4, Rate: 2000})
	waitCaughtUp(t, p0, 2, masters[0].Client(), masters[1].Client())
	st1 := waitCaughtUp(t, p1, 1, masters[2].Client())
	if st1.Shards[0].Addr != masters[2].Addr() {
		t.Errorf("process 1 follows %s, want only %s", st1.Shards[0].Addr, masters[2].Addr())
	}
	requireEqual(t, src.Client(), dst.Client())
}
