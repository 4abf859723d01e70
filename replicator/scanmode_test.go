package replicator

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/scansrc"
	"github.com/xsync/xsync/tests/loadgen"
)

// Scan mode against the stand-in of a managed service (SYNC, PSYNC and REPLCONF
// renamed away): the default --source-mode auto falls back to scan; a mixed load
// runs during the scan and after it; once it stops, the destination must become
// equal to the source. The time that takes is logged (the consistency model of
// docs/operations.md, "Scan mode": convergence once writes stop).

var scanNotify = []string{"notify-keyspace-events KEA"}

// scanUnseen are the workload's commands that change a key without a keyspace
// event (t_stream.c: XREADGROUP, XACK and XCLAIM change a consumer group's
// pending entries and last delivered id silently; they notify only a consumer
// they create): scan mode does not see them (docs/operations.md, "Scan mode").
// The workload's XGROUP runs XREADGROUP once the group exists. PUBLISH is no key.
var scanUnseen = []string{"XGROUP", "XACK", "XCLAIM", "PUBLISH"}

func TestScanModeStandalone(t *testing.T) {
	src := redistest.Start(t, redistest.Options{NoReplication: true, Config: scanNotify})
	dst := redistest.Start(t, redistest.Options{})
	scanConverges(t, src.Client(), dst.Client(), []string{src.Addr()}, []string{dst.Addr()}, true)
}

func TestScanModeCluster(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{NoReplication: true, Config: scanNotify}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	scanConverges(t, src.Client(), dst.Client(), src.Addrs()[:1], dst.Addrs(), false)
}

func scanConverges(t *testing.T, src, dst redis.UniversalClient, srcSeeds, dstSeeds []string, crossSlot bool) {
	t.Helper()
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src, loadgen.FillOptions{Keys: 5000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: srcSeeds, TargetSeeds: dstSeeds})
	// The load starts with the scan and goes on after it.
	lctx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var ops int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		st, err := loadgen.Run(lctx, src, loadgen.WorkOptions{Clients: 4, Rate: 2000, CrossSlot: crossSlot, NoScripts: true, Skip: scanUnseen})
		if err != nil && lctx.Err() == nil {
			t.Errorf("workload: %v", err)
		}
		if st != nil {
			ops = st.Ops.Load()
		}
	}()
	waitScan(t, rr, 60*time.Second, func(st Status) bool { return st.Scan != nil && st.Scan.ScansDone >= int64(st.Scan.Masters) })
	// A second of load after the scan: only notifications carry it.
	time.Sleep(time.Second) //nolint:forbidigo // the load's duration, not a wait for a goroutine
	stopLoad()
	wg.Wait()
	stopped := time.Now()
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	conv := time.Since(stopped)
	st := rr.r.Status()
	if st.SourceMode != "scan" {
		t.Errorf("SourceMode = %q, want scan (auto falls back when PSYNC is refused)", st.SourceMode)
	}
	requireEqual(t, src, dst)
	t.Logf("converged %v after the load (%d ops) stopped; scanned %d, copies %d, deletes %d, notifications %d, first scan %.2fs",
		conv, ops, st.Scan.KeysScanned, st.Scan.Copies, st.Scan.Deletes, st.Scan.Notifications, st.Scan.FirstScanSecs)
}

// waitScan polls the replicator's status until ok, failing after d or when Run
// ends.
func waitScan(t *testing.T, rr *running, d time.Duration, ok func(Status) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case err := <-rr.done:
			rr.done <- err
			t.Fatalf("replicator stopped: %v", err)
		default:
		}
		if st := rr.r.Status(); ok(st) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("scan mode: condition not reached within %v: %+v", d, rr.r.Status().Scan)
}

// TestScanModeNeedsNotifications: without keyspace events Run fails and says
// what to set; --source-mode psync forbids the fallback.
func TestScanModeNeedsNotifications(t *testing.T) {
	src := redistest.Start(t, redistest.Options{NoReplication: true})
	dst := redistest.Start(t, redistest.Options{})
	for _, tc := range []struct {
		mode SourceMode
		want string
	}{
		{SourceModeAuto, "CONFIG SET notify-keyspace-events KEA"},
		{SourceModePSYNC, "does not allow replication commands"},
	} {
		cfg := Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, SourceMode: tc.mode, Logger: testLogger(t)}
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = r.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mode %v: Run = %v, want an error saying %q", tc.mode, err, tc.want)
		}
	}
}

// TestScanModeResubscribes: a notification connection killed by the source
// (CLIENT KILL TYPE pubsub) is reported, subscribed again and the master
// rescanned, so the writes made while it was down are copied too.
func TestScanModeResubscribes(t *testing.T) {
	src := redistest.Start(t, redistest.Options{NoReplication: true, Config: scanNotify})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 1000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, SourceMode: SourceModeScan})
	waitScan(t, rr, 30*time.Second, func(st Status) bool { return st.Scan != nil && st.Scan.ScansDone >= 1 })
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	restores := restoreCalls(t, dst.Client())
	if err := src.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitScan(t, rr, 30*time.Second, func(st Status) bool { return st.Scan.Rescans >= 1 && rr.r.ScanIdle(ctx) })
	// The rescan compared the keys on the destination: the unchanged ones were
	// not written again, but for those whose DUMP differs on a copy of the
	// same value (a hash-table encoded set's DUMP follows the table's order,
	// which a RESTORE does not keep: about an eighth of Fill's keys here).
	st := rr.r.Status().Scan
	again := restoreCalls(t, dst.Client()) - restores
	if st.Compared == 0 || again > st.Compared/4 {
		t.Errorf("rescan: %d keys compared, %d RESTOREs on the destination since; want the unchanged keys left alone", st.Compared, again)
	}
	// Notifications flow again after the rescan.
	workFor(t, src.Client(), 500*time.Millisecond, loadgen.WorkOptions{Clients: 2, Rate: 2000, CrossSlot: true, NoScripts: true, Skip: scanUnseen})
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	requireEqual(t, src.Client(), dst.Client())
	t.Logf("rescan: %d keys compared, %d written again", st.Compared, again)
}

// TestScanModeOlderDestination: DUMP payloads of a 7.4 source are newer than a
// 7.0 destination reads; they go through the snapshot converter (relabelled or
// rewritten as commands), as the PSYNC path's snapshot does.
func TestScanModeOlderDestination(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Version: "7.4", NoReplication: true, Config: scanNotify})
	dst := redistest.Start(t, redistest.Options{Version: "7.0"})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 2000, BigKeys: 1, BigLen: 5000}); err != nil {
		t.Fatal(err)
	}
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}})
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	requireEqual(t, src.Client(), dst.Client())
}

// restoreCalls returns the RESTOREs a server ran (INFO commandstats counts those
// of scripts too).
func restoreCalls(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	s, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "cmdstat_restore:calls="); ok {
			n, _, _ := strings.Cut(v, ",")
			var k int64
			fmt.Sscan(n, &k)
			return k
		}
	}
	return 0
}

// TestScanModeCoalesces: a key written as fast as a client can is copied at
// most once per coalescing period (plus the scan's copy and one in flight),
// and its last value arrives.
func TestScanModeCoalesces(t *testing.T) {
	src := redistest.Start(t, redistest.Options{NoReplication: true, Config: scanNotify})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}, SourceMode: SourceModeScan})
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	before := rr.r.Status().Scan.Copies
	start := time.Now()
	// 1,000 writes a second for a second: 10 every 10 ms.
	const writes = 1000
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i := range writes / 10 {
		<-tick.C
		p := src.Client().Pipeline()
		for j := range 10 {
			p.Set(ctx, "hot", i*10+j, 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitScan(t, rr, 30*time.Second, func(Status) bool { return rr.r.ScanIdle(ctx) })
	elapsed := time.Since(start)
	copies := rr.r.Status().Scan.Copies - before
	if most := int64(elapsed/scansrc.DefaultCoalesce) + 2; copies > most {
		t.Errorf("%d writes of one key in %v copied %d times, want at most %d (one per %v)", writes, elapsed, copies, most, scansrc.DefaultCoalesce)
	}
	if got := dst.Client().Get(ctx, "hot").Val(); got != fmt.Sprint(writes-1) {
		t.Errorf("hot on the destination = %q, want %d", got, writes-1)
	}
	t.Logf("%d writes in %v: %d copies", writes, elapsed, copies)
}
