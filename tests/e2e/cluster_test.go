package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

// workRate bounds the workload (commands per second, all writers together) so that
// the tests stay within their budget on a loaded 2-core CI machine with -race.
const workRate = 3000

// TestClusterToCluster syncs a 3-master cluster into a 4-master cluster (different
// slot ownership on each side) while a workload of every replicated command writes
// to the source, then compares them key by key.
func TestClusterToCluster(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 4})
	ctx := context.Background()
	sc := src.Client()

	if err := loadgen.Fill(ctx, sc, loadgen.FillOptions{Keys: 3000, BigKeys: 1, BigLen: 50_000}); err != nil {
		t.Fatal(err)
	}
	keys := clusterKeys(t, sc)
	t.Logf("source filled: %d keys (one big list, set, hash and zset of 50000 elements)", keys)

	rr := startReplicator(t, replicator.Config{SourceSeeds: src.Addrs(), TargetSeeds: dst.Addrs()})
	d := workloadDuration(t, 20*time.Second)
	ws := runWorkload(t, sc, d, loadgen.WorkOptions{Rate: workRate})
	t.Logf("workload: %d commands in %v (%d error replies)", ws.Ops.Load(), d, ws.Errors.Load())

	var masters []string
	for _, m := range src.Masters() {
		masters = append(masters, m.Addr())
	}
	st := waitCaughtUp(t, rr, masters, "", 3, 60*time.Second)
	for _, sh := range st.Shards {
		t.Logf("shard %d %s: applied offset %d, keys %d/%d, ops submitted %d, errors %d",
			sh.Index, sh.Addr, sh.AppliedOffset, sh.KeysDone, sh.KeysTotal, sh.OpsSubmitted, sh.Errors)
	}
	t.Logf("caught up after %v: %d ops applied, %d errors", time.Since(begin).Round(time.Millisecond), st.OpsApplied, st.Errors)
	if st.Errors != 0 {
		t.Errorf("Status counts %d errors", st.Errors)
	}

	res := requireEqual(t, verify.Config{Source: sc, Target: dst.Client(), Rounds: 3, TTLTolerance: 2 * time.Second})
	t.Logf("verify: %d source keys, %d target keys, %d excluded, rounds %v", res.SourceKeys, res.TargetKeys, res.Excluded, res.PerRound)

	stopStart := time.Now()
	if err := rr.stop(5 * time.Second); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	t.Logf("Run returned %v after the cancel; whole test %v", time.Since(stopStart).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// clusterKeys sums DBSIZE over the masters of a cluster.
func clusterKeys(t *testing.T, c *redis.ClusterClient) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		k, err := m.DBSize(ctx).Result()
		if err == nil {
			// ForEachMaster runs concurrently.
			addInt64(&n, k)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
