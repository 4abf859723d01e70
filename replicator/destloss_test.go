package replicator

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/tests/loadgen"
)

// lossWork is the write load of the destination-loss tests: commands whose double
// application shows (RPUSH, INCR, APPEND, ...), mixed with assignments.
var lossWork = loadgen.WorkOptions{NonIdempotentOnly: true, Assignments: true, CrossSlot: true, Clients: 4, Rate: 2000}

// background runs the load until the returned stop is called.
func background(t *testing.T, src *redistest.Server, o loadgen.WorkOptions) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		loadgen.Run(ctx, src.Client(), o) //nolint:errcheck // stops with the context
	}()
	return func() { cancel(); <-done }
}

// TestDestLossRestartEmpty restarts a destination master empty (no persistence,
// the same nodes.conf: it serves the same slots) while xsync streams: the slots it
// served lost their data and their checkpoints, and must be synced again.
func TestDestLossRestartEmpty(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb"}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 3000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()})
	stop := background(t, src, lossWork)
	waitCaughtUp(t, rr, 1, src.Client())
	victim := dst.Masters()[0]
	lost := time.Now()
	if err := victim.Restart(); err != nil { // SIGTERM with save "": nothing saved
		t.Fatal(err)
	}
	if err := dst.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // writes go on after the restart
	stop()
	st := waitHealed(t, rr, 1, 1, src.Client())
	report(t, "restart empty", lost, st)
	requireEqual(t, src.Client(), dst.Client())
}

// report logs how long detection and healing took after the loss at lost.
func report(t *testing.T, what string, lost time.Time, st Status) {
	t.Helper()
	d := st.DestLoss
	t.Logf("%s: detected after %v, healed %.3fs later (%s, %d slots, %d keys/ops re-applied); cause: %s",
		what, d.LastDetected.Sub(lost).Round(time.Millisecond), d.LastSeconds, d.LastMode, d.LastSlots, d.KeysReapplied, d.LastCause)
}

// waitHealed waits until the replicator has healed events destination losses
// and is caught up, and returns its status.
func waitHealed(t *testing.T, rr *running, events int64, shards int, masters ...*redis.Client) Status {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st := rr.r.Status()
		if st.DestLoss.Events >= events && !st.DestLoss.Healing {
			break
		}
		if st.DestLoss.Healing && st.State != StateHealing {
			t.Fatalf("healing, but the state says %s", st.State)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heal after 90s: %+v", st.DestLoss)
		}
		select {
		case err := <-rr.done:
			rr.done = nil
			t.Fatalf("replicator stopped: %v", err)
		case <-tick.C:
		}
	}
	return waitCaughtUp(t, rr, shards, masters...)
}

// lossTest is a source with data, a destination cluster and a replicator
// streaming under load, for the destination-loss cases.
type lossTest struct {
	src *redistest.Server
	dst *redistest.Cluster
	rr  *running
}

func startLossTest(t *testing.T, replicas int, policy DestLoss) *lossTest {
	t.Helper()
	lt := &lossTest{
		src: redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb"}}),
		dst: redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: replicas}),
	}
	if err := loadgen.Fill(context.Background(), lt.src.Client(), loadgen.FillOptions{Keys: 2000}); err != nil {
		t.Fatal(err)
	}
	lt.rr = startReplicator(t, Config{SourceSeeds: []string{lt.src.Addr()}, TargetSeeds: lt.dst.Addrs(),
		OnDestLoss: policy, GuardInterval: 200 * time.Millisecond})
	waitCaughtUp(t, lt.rr, 1, lt.src.Client())
	return lt
}

// TestDestLossFlushAll: FLUSHALL on every destination master by someone else.
func TestDestLossFlushAll(t *testing.T) {
	lt := startLossTest(t, 0, DestLossHeal)
	stop := background(t, lt.src, lossWork)
	time.Sleep(500 * time.Millisecond) // under load
	lost := time.Now()
	for _, m := range lt.dst.Masters() {
		if err := m.Client().FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	st := waitHealed(t, lt.rr, 1, 1, lt.src.Client())
	report(t, "FLUSHALL", lost, st)
	if st.DestLoss.LastMode != "fullsync" {
		t.Errorf("healed by %s, want fullsync (no checkpoint survived)", st.DestLoss.LastMode)
	}
	requireEqual(t, lt.src.Client(), lt.dst.Client())
}

// TestDestLossStop: with --on-dest-loss stop, a FLUSHALL on one destination
// master ends the sync with ErrDestLoss.
func TestDestLossStop(t *testing.T) {
	lt := startLossTest(t, 0, DestLossStop)
	if err := lt.dst.Masters()[1].Client().FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	err := runError(t, lt.rr, 30*time.Second)
	if !errors.Is(err, ErrDestLoss) {
		t.Fatalf("Run returned %v, want ErrDestLoss", err)
	}
	t.Logf("stopped: %v", err)
}

// TestDestLossNodeReplaced: a destination master dies and a new, empty node
// takes over its slots (CLUSTER FORGET the dead one, ADDSLOTSRANGE on the new).
func TestDestLossNodeReplaced(t *testing.T) {
	lt := startLossTest(t, 0, DestLossHeal)
	ctx := context.Background()
	fresh, err := lt.dst.AddMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := lt.dst.Masters()[0]
	vid, err := victim.NodeID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	view, err := lt.dst.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ranges [][2]int
	for _, n := range view {
		if n.ID == vid {
			ranges = n.Slots
		}
	}
	stop := background(t, lt.src, lossWork)
	time.Sleep(500 * time.Millisecond)
	lost := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, n := range lt.dst.Nodes() {
		if n != victim {
			if err := n.Client().Do(ctx, "CLUSTER", "FORGET", vid).Err(); err != nil {
				t.Fatalf("CLUSTER FORGET on %s: %v", n.Addr(), err)
			}
		}
	}
	args := []any{"CLUSTER", "ADDSLOTSRANGE"}
	for _, r := range ranges {
		args = append(args, r[0], r[1])
	}
	if err := fresh.Client().Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	st := waitHealed(t, lt.rr, 1, 1, lt.src.Client())
	report(t, "node replaced", lost, st)
	requireEqual(t, lt.src.Client(), lt.dst.Client())
}

// TestDestLossFailoverLagging: a destination master fails over (CLUSTER FAILOVER
// TAKEOVER) to its replica, which was held back while xsync wrote: the writes
// the replica missed are replayed with PSYNC from the checkpoints of the slots
// that lost them.
func TestDestLossFailoverLagging(t *testing.T) {
	lt := startLossTest(t, 1, DestLossHeal)
	ctx := context.Background()
	victim := lt.dst.Masters()[0]
	replica := lt.dst.ReplicasOf(victim)[0]
	holdBack(t, victim, replica)
	before := infoInt(t, replica.Client(), "replication", "master_repl_offset")
	work := lossWork
	work.CrossSlot = false // a cross-slot emulation in the window would need a full sync
	n := workFor(t, lt.src.Client(), 1500*time.Millisecond, work)
	waitCaughtUp(t, lt.rr, 1, lt.src.Client())
	waitQuiet(t, lt.rr)
	if got := infoInt(t, replica.Client(), "replication", "master_repl_offset"); got != before {
		t.Fatalf("the replica moved from offset %d to %d: not held back", before, got)
	}
	if m := infoInt(t, victim.Client(), "replication", "master_repl_offset"); m <= before {
		t.Fatalf("the master is at offset %d, the replica at %d: xsync wrote nothing", m, before)
	}
	fullBefore := infoInt(t, lt.src.Client(), "stats", "sync_full")
	lost := time.Now()
	if err := replica.Client().Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
		t.Fatal(err)
	}
	if err := lt.dst.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
	st := waitHealed(t, lt.rr, 1, 1, lt.src.Client())
	t.Logf("%d writes while the replica was held back", n)
	report(t, "failover to a lagging replica", lost, st)
	if st.DestLoss.LastMode != "psync" {
		t.Errorf("healed by %s, want psync", st.DestLoss.LastMode)
	}
	if got := infoInt(t, lt.src.Client(), "stats", "sync_full"); got != fullBefore {
		t.Errorf("sync_full went from %d to %d: healed with a full sync", fullBefore, got)
	}
	requireEqual(t, lt.src.Client(), lt.dst.Client())
}

// waitQuiet waits for two checks of the destination guard that found nothing
// with every op acknowledged.
func waitQuiet(t *testing.T, rr *running) {
	t.Helper()
	start := rr.r.loss.quietChecks.Load()
	deadline := time.Now().Add(30 * time.Second)
	for rr.r.loss.quietChecks.Load() < start+2 {
		if time.Now().After(deadline) {
			t.Fatal("the destination guard found no quiet moment in 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDestLossOnlyOwningShards: with a cluster source, a destination master
// restarted empty costs a full sync of the source shards that own its slots
// only; the other shards keep streaming.
func TestDestLossOnlyOwningShards(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{Config: []string{"repl-backlog-size 64mb"}}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 3000}); err != nil {
		t.Fatal(err)
	}
	var masters []*redis.Client
	for _, m := range src.Masters() {
		masters = append(masters, m.Client())
	}
	rr := startReplicator(t, Config{SourceSeeds: src.Addrs(), TargetSeeds: dst.Addrs(), GuardInterval: 200 * time.Millisecond})
	waitCaughtUp(t, rr, 3, masters...)
	full := map[string]int64{}
	for _, m := range src.Masters() {
		full[m.Addr()] = infoInt(t, m.Client(), "stats", "sync_full")
	}
	work := lossWork
	work.CrossSlot = false
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		loadgen.Run(wctx, src.Client(), work) //nolint:errcheck // stops with the context
	}()
	time.Sleep(500 * time.Millisecond)
	victim := dst.Masters()[0]
	lost := time.Now()
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := dst.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done
	st := waitHealed(t, rr, 1, 3, masters...)
	report(t, "restart empty, cluster source", lost, st)
	resynced := 0
	for _, m := range src.Masters() {
		if infoInt(t, m.Client(), "stats", "sync_full") > full[m.Addr()] {
			resynced++
		}
	}
	if resynced != 1 {
		t.Errorf("%d source shards synced in full, want 1 (the one owning the lost slots)", resynced)
	}
	requireEqual(t, src.Client(), dst.Client())
}

// TestDestLossFailoverUnderLoad: as TestDestLossFailoverLagging, but xsync keeps
// writing across the failover, so the slots' checkpoints on the new master may
// include writes sent again after the failover: the shard syncs in full.
func TestDestLossFailoverUnderLoad(t *testing.T) {
	lt := startLossTest(t, 1, DestLossHeal)
	ctx := context.Background()
	victim := lt.dst.Masters()[0]
	replica := lt.dst.ReplicasOf(victim)[0]
	holdBack(t, victim, replica)
	stop := background(t, lt.src, lossWork)
	time.Sleep(time.Second)
	lost := time.Now()
	if err := replica.Client().Do(ctx, "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
		t.Fatal(err)
	}
	if err := lt.dst.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	st := waitHealed(t, lt.rr, 1, 1, lt.src.Client())
	report(t, "failover under load", lost, st)
	requireEqual(t, lt.src.Client(), lt.dst.Client())
}

// holdBack stops replica from receiving its master's writes: it authenticates
// to its master as a user that does not exist, so once its link is cut it
// cannot resync and stays where it is.
func holdBack(t *testing.T, master, replica *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	for _, kv := range [][2]string{{"masteruser", "xsync-test-nobody"}, {"masterauth", "nope"}} {
		if err := replica.Client().ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := master.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
}

// TestDestLossStandaloneDest: a standalone destination restarted empty.
func TestDestLossStandaloneDest(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb"}})
	dst := redistest.Start(t, redistest.Options{})
	if err := loadgen.Fill(context.Background(), src.Client(), loadgen.FillOptions{Keys: 2000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, GuardInterval: 200 * time.Millisecond})
	waitCaughtUp(t, rr, 1, src.Client())
	stop := background(t, src, lossWork)
	time.Sleep(500 * time.Millisecond)
	lost := time.Now()
	if err := dst.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	st := waitHealed(t, rr, 1, 1, src.Client())
	report(t, "standalone destination restarted empty", lost, st)
	requireEqual(t, src.Client(), dst.Client())
}
