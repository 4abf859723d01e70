package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/keycmp"
	"github.com/xsync/xsync/tests/loadgen"
)

// dbClient returns a client of database db of s, closed when the test ends.
func dbClient(t *testing.T, s *redistest.Server, db int) *redis.Client {
	t.Helper()
	o := s.ClientOptions()
	o.DB = db
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// fillDBs fills each database of the standalone server s with its own prefix
// ("d<db>:"), keys keys each; db 0 also gets big keys of bigLen elements.
func fillDBs(t *testing.T, s *redistest.Server, dbs []int, keys, bigLen int) {
	t.Helper()
	for _, db := range dbs {
		o := loadgen.FillOptions{Keys: keys, Prefix: fmt.Sprintf("d%d:", db), Seed: uint64(db + 1)}
		if db == 0 && bigLen > 0 {
			o.BigKeys, o.BigLen = 1, bigLen
		}
		if err := loadgen.Fill(context.Background(), dbClient(t, s, db), o); err != nil {
			t.Fatalf("fill db %d: %v", db, err)
		}
	}
}

// workDBs runs a cross-slot workload (multi-key commands spanning slots,
// transactions spanning slots) on each of dbs at once, prefix "w<db>:", for d.
func workDBs(t *testing.T, s *redistest.Server, dbs []int, d time.Duration) int64 {
	t.Helper()
	var wg sync.WaitGroup
	stats := make([]*loadgen.Stats, len(dbs))
	for i, db := range dbs {
		c := dbClient(t, s, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			st, err := loadgen.Run(ctx, c, loadgen.WorkOptions{Prefix: fmt.Sprintf("w%d:", db), CrossSlot: true,
				Rate: workRate / len(dbs), Seed: uint64(10 + db)})
			if err != nil {
				t.Logf("workload db %d: %d errors, first: %v", db, st.Errors.Load(), err)
			}
			stats[i] = st
		}()
	}
	wg.Wait()
	var ops int64
	for i, st := range stats {
		if st.Ops.Load() == 0 {
			t.Errorf("workload on db %d ran no command", dbs[i])
		}
		ops += st.Ops.Load()
	}
	return ops
}

// TestStandaloneToCluster syncs a standalone source with data in databases 0, 1
// and 5 into a cluster, database 1 under the prefix "db1:" and 5 under "db5:",
// while a cross-slot workload writes to databases 0 and 1 (split and emulated
// multi-key commands and transactions).
func TestStandaloneToCluster(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dbs := []int{0, 1, 5}
	fillDBs(t, src, dbs, 1500, 50_000)
	prefixes := map[int]string{0: "", 1: "db1:", 5: "db5:"}
	tdbs := map[int]translate.Target{}
	for db, p := range prefixes {
		tdbs[db] = translate.Target{Prefix: p}
	}
	rr := startReplicator(t, replicator.Config{
		SourceSeeds: []string{src.Addr()},
		TargetSeeds: dst.Addrs(),
		Translate:   translate.Config{DBs: tdbs},
	})
	d := workloadDuration(t, 20*time.Second)
	ops := workDBs(t, src, []int{0, 1}, d)
	t.Logf("workload: %d commands in %v on dbs 0 and 1 (cross-slot)", ops, d)

	st := waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 60*time.Second)
	t.Logf("caught up after %v: %d keys in the snapshot, %d ops applied, %d errors",
		time.Since(begin).Round(time.Millisecond), st.KeysDone, st.OpsApplied, st.Errors)
	if st.Errors != 0 {
		t.Errorf("Status counts %d errors", st.Errors)
	}

	tc := dst.Client()
	// verify has no key prefix mapping: db 0 is compared with verify, whose target
	// scan then reports every "db1:" and "db5:" key as extra; those must be exactly
	// the prefixed keys, and the prefixed databases are compared by compareMapped.
	prefixed := int64(0)
	for _, db := range []int{1, 5} {
		prefixed += keycmp.CountPrefix(t, tc, prefixes[db])
	}
	res, err := verify.Run(context.Background(), verify.Config{Source: dbClient(t, src, 0), Target: tc, DBs: []int{0}, Rounds: 3, TTLTolerance: 2 * time.Second, RoundDelay: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range verify.Kinds() {
		want := int64(0)
		if k == verify.Extra {
			want = prefixed
		}
		if got := res.Count(k); got != want {
			var b strings.Builder
			_ = res.WriteReport(&b)
			t.Errorf("verify db 0: %d keys %s, want %d:\n%s", got, k, want, b.String())
		}
	}
	for _, dif := range res.Diffs {
		if dif.Kind == verify.Extra && !keycmp.HasAnyPrefix(dif.Key, "db1:", "db5:") {
			t.Errorf("verify db 0: extra key %q on the target", dif.Key)
		}
	}
	t.Logf("verify db 0: %d source keys, %d target keys (%d of them prefixed db1:/db5:)", res.SourceKeys, res.TargetKeys, prefixed)
	for _, db := range dbs {
		var others []string
		if db == 0 {
			others = []string{"db1:", "db5:", "__xsync:"}
		}
		n := keycmp.CompareMapped(t, dbClient(t, src, db), tc, prefixes[db], others...)
		t.Logf("db %d -> prefix %q: %d keys equal", db, prefixes[db], n)
	}
	if err := rr.stop(5 * time.Second); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	t.Logf("whole test %v", time.Since(begin).Round(time.Millisecond))
}

// TestStandaloneToStandalone syncs databases 0, 1 and 5 of a standalone server into
// the same databases of another one, under a short cross-slot workload.
func TestStandaloneToStandalone(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.Start(t, redistest.Options{})
	dbs := []int{0, 1, 5}
	fillDBs(t, src, dbs, 500, 5000)
	rr := startReplicator(t, replicator.Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}})
	d := workloadDuration(t, 5*time.Second)
	ops := workDBs(t, src, []int{0, 1, 5}, d)
	st := waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 60*time.Second)
	t.Logf("workload: %d commands in %v; caught up after %v: %d snapshot keys, %d ops applied, %d errors",
		ops, d, time.Since(begin).Round(time.Millisecond), st.KeysDone, st.OpsApplied, st.Errors)
	res := requireEqual(t, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 3, TTLTolerance: 2 * time.Second})
	t.Logf("verify: %d source keys, %d target keys, rounds %v", res.SourceKeys, res.TargetKeys, res.PerRound)
	if err := rr.stop(5 * time.Second); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// TestStandaloneToStandaloneStreamOnly is TestStandaloneToStandalone with an empty
// source when the sync starts: every key of databases 0, 1 and 5 comes through the
// replication stream, none through the snapshot. It separates the stream path
// from the snapshot path (which TestStandaloneToStandalone and the fixture replays
// cover too).
func TestStandaloneToStandaloneStreamOnly(t *testing.T) {
	t.Parallel()
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.Start(t, redistest.Options{})
	rr := startReplicator(t, replicator.Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}})
	poll(t, 30*time.Second, 50*time.Millisecond, "streaming", func() error {
		if st := rr.r.Status(); st.State != replicator.StateStream {
			return fmt.Errorf("state %s", st.State)
		}
		return nil
	})
	d := workloadDuration(t, 5*time.Second)
	ops := workDBs(t, src, []int{0, 1, 5}, d)
	st := waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 60*time.Second)
	t.Logf("workload: %d commands in %v; %d ops applied, %d errors", ops, d, st.OpsApplied, st.Errors)
	res := requireEqual(t, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 3, TTLTolerance: 2 * time.Second})
	t.Logf("verify: %d source keys, %d target keys", res.SourceKeys, res.TargetKeys)
	if err := rr.stop(5 * time.Second); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// TestSnapshotKeepsDatabases is the smallest reproduction of a snapshot key of a
// database other than 0 written to a standalone destination: it must land in the
// same database number (the default mapping), never in db 0.
func TestSnapshotKeepsDatabases(t *testing.T) {
	t.Parallel()
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	for _, db := range []int{0, 1, 5} {
		if err := dbClient(t, src, db).Set(ctx, fmt.Sprintf("snap:db%d", db), db, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rr := startReplicator(t, replicator.Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}})
	waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 30*time.Second)
	for _, db := range []int{0, 1, 5} {
		c := dbClient(t, dst, db)
		keys, err := c.Keys(ctx, "snap:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("snap:db%d", db)}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Errorf("destination db %d holds %q, want %q", db, keys, want)
		}
	}
}
