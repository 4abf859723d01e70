package replicator

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/tests/loadgen"
)

// End-to-end tests of what the full sync owes the destination: big keys restored
// in bounded chunks without stalling it, the conflict policies for keys already
// there, EmptyFirst, and a clear stop when the destination is full.

// bigFillScript adds members ARGV[1]..ARGV[2] to the sorted set KEYS[1] (score i/3,
// member "m:<i>") or fields to the hash KEYS[2] (field "f:<i>", value "v:<i>"),
// ARGV[3] saying which, in commands of 1000 elements.
const bigFillScript = `
local from, to, kind = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local args, cmd, key = {}, 'HSET', KEYS[2]
if kind == 'z' then cmd, key = 'ZADD', KEYS[1] end
for i = from, to do
  if kind == 'z' then
    args[#args+1] = i / 3
    args[#args+1] = 'm:' .. i
  else
    args[#args+1] = 'f:' .. i
    args[#args+1] = 'v:' .. i
  end
  if #args == 2000 then
    redis.call(cmd, key, unpack(args))
    args = {}
  end
end
if #args > 0 then redis.call(cmd, key, unpack(args)) end
return 0`

// fillBig writes a sorted set zkey and a hash hkey of n elements each, by EVAL
// in batches of 100k elements, and returns how long it took.
func fillBig(t *testing.T, c *redis.Client, zkey, hkey string, n int) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	sha, err := c.ScriptLoad(ctx, bigFillScript).Result()
	if err != nil {
		t.Fatal(err)
	}
	const batch = 100_000
	for _, kind := range []string{"z", "h"} {
		for from := 0; from < n; from += batch {
			to := min(from+batch, n) - 1
			if err := c.EvalSha(ctx, sha, []string{zkey, hkey}, from, to, kind).Err(); err != nil {
				t.Fatalf("filling %s: %v", kind, err)
			}
		}
	}
	if z, h := c.ZCard(ctx, zkey).Val(), c.HLen(ctx, hkey).Val(); z != int64(n) || h != int64(n) {
		t.Fatalf("filled ZCARD %d, HLEN %d, want %d", z, h, n)
	}
	return time.Since(start)
}

// latencyEvent is one line of LATENCY LATEST.
type latencyEvent struct {
	Name        string
	At          time.Time // of the latest occurrence
	Latest, Max int64     // milliseconds
}

func latencyLatest(t *testing.T, c *redis.Client) []latencyEvent {
	t.Helper()
	v, err := c.Do(context.Background(), "LATENCY", "LATEST").Slice()
	if err != nil {
		t.Fatal(err)
	}
	var out []latencyEvent
	for _, e := range v {
		f, ok := e.([]any)
		if !ok || len(f) < 4 {
			t.Fatalf("LATENCY LATEST: unexpected entry %v", e)
		}
		name, _ := f[0].(string)
		at, _ := f[1].(int64)
		latest, _ := f[2].(int64)
		mx, _ := f[3].(int64)
		out = append(out, latencyEvent{Name: name, At: time.Unix(at, 0), Latest: latest, Max: mx})
	}
	return out
}

// digest returns DEBUG DIGEST-VALUE of key: equal digests mean equal values,
// whatever their encodings.
func digest(t *testing.T, c *redis.Client, key string) string {
	t.Helper()
	v, err := c.Do(context.Background(), "DEBUG", "DIGEST-VALUE", key).Slice()
	if err != nil {
		t.Fatalf("DEBUG DIGEST-VALUE %s: %v", key, err)
	}
	if len(v) != 1 {
		t.Fatalf("DEBUG DIGEST-VALUE %s: %v", key, v)
	}
	return fmt.Sprint(v[0])
}

// waitStreaming waits up to d for every one of shards to have finished its full
// sync (for snapshots too big for waitCaughtUp's 90s), for waitCaughtUp, and
// then for the applier to have no op pending.
func waitStreaming(t *testing.T, rr *running, d time.Duration, shards int, masters ...*redis.Client) Status {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		st := rr.r.Status()
		if len(st.Shards) == shards && st.State == StateStream && st.LagBytes == 0 {
			waitCaughtUp(t, rr, shards, masters...)
			waitApplied(t, rr, time.Until(deadline))
			return rr.r.Status()
		}
		if time.Now().After(deadline) {
			t.Fatalf("full sync not done after %v: %+v", d, st)
		}
		select {
		case err := <-rr.done:
			rr.done = nil
			t.Fatalf("replicator stopped: %v", err)
		case <-tick.C:
		}
	}
}

// waitApplied waits up to d for the applier to have no op pending.
func waitApplied(t *testing.T, rr *running, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for rr.r.Applier().Stats().Pending > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ops still pending after %v", rr.r.Applier().Stats().Pending, d)
		}
		select {
		case err := <-rr.done:
			rr.done = nil
			t.Fatalf("replicator stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runError waits up to d for Run to return by itself and returns its error.
func runError(t *testing.T, rr *running, d time.Duration) error {
	t.Helper()
	select {
	case err := <-rr.done:
		rr.done = nil // nothing left for the cleanup to stop
		return err
	case <-time.After(d):
		st := rr.r.Status()
		t.Fatalf("Run still running %v after the start; status %+v", d, st)
		return nil
	}
}

// bigKeysSize is the number of elements of each big key: 500k, or 5M with
// XSYNC_BIG=1.
func bigKeysSize() int {
	if os.Getenv("XSYNC_BIG") == "1" {
		return 5_000_000
	}
	return 500_000
}

// TestFullSyncBigKeys syncs a sorted set and a hash of 500k elements each (5M
// with XSYNC_BIG=1) plus small keys from a standalone source into a 3-master
// cluster whose masters record every event of 10 ms or more: the big keys arrive
// whole, as many bounded commands, and no destination master records an event
// of 50 ms or more.
func TestFullSyncBigKeys(t *testing.T) {
	n := bigKeysSize()
	if testing.Short() && n <= 500_000 {
		t.Skip("big keys in -short mode (XSYNC_BIG=1 runs them with 5M elements)")
	}
	const (
		zkey     = "big:zset"
		hkey     = "big:hash"
		maxEvent = 50 // ms
	)
	ctx := context.Background()
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3,
		Options: redistest.Options{Config: []string{"latency-monitor-threshold 10", "slowlog-log-slower-than 10000", "slowlog-max-len 100000"}}})

	fill := fillBig(t, src.Client(), zkey, hkey, n)
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 10000}); err != nil {
		t.Fatal(err)
	}
	t.Logf("filled the source in %v: %s and %s of %d elements each, 10000 small keys; used_memory %d MB",
		fill.Round(time.Millisecond), zkey, hkey, n, infoInt(t, src.Client(), "memory", "used_memory")>>20)
	var waited []time.Duration // CPU run-queue waits of the masters before the sync
	for _, m := range dst.Masters() {
		if err := m.Client().Do(ctx, "LATENCY", "RESET").Err(); err != nil {
			t.Fatal(err)
		}
		if err := m.Client().SlowLogReset(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		waited = append(waited, runQueueWait(m.Pid()))
	}

	start := time.Now()
	rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()})
	st := waitStreaming(t, rr, 10*time.Minute, 1, src.Client())
	took := time.Since(start)
	elems := float64(2*n + 10000)
	t.Logf("full sync of %d keys (%d elements in the big keys) in %.1fs: %.0f keys/s, %.0f elements/s, %d ops applied",
		st.KeysDone, 2*n, took.Seconds(), float64(st.KeysDone)/took.Seconds(), elems/took.Seconds(), st.OpsApplied)

	// No destination master stalled (read first: the checks below are slow
	// commands), and whatever was slow was a bounded chunk.
	for i, m := range dst.Masters() {
		checkNoStall(t, m, waited[i], start, maxEvent)
		checkChunked(t, m.Client())
	}
	// The big keys are whole and equal.
	if got := dst.Client().ZCard(ctx, zkey).Val(); got != int64(n) {
		t.Errorf("destination ZCARD %s = %d, want %d", zkey, got, n)
	}
	if got := dst.Client().HLen(ctx, hkey).Val(); got != int64(n) {
		t.Errorf("destination HLEN %s = %d, want %d", hkey, got, n)
	}
	for _, r := range [][2]int64{{0, 999}, {int64(n/2 - 500), int64(n/2 + 499)}, {-1000, -1}} {
		want := src.Client().ZRangeWithScores(ctx, zkey, r[0], r[1]).Val()
		got := dst.Client().ZRangeWithScores(ctx, zkey, r[0], r[1]).Val()
		if len(want) != 1000 || !slices.Equal(got, want) {
			t.Errorf("ZRANGE %s %d %d WITHSCORES: destination differs from the source (%d and %d members)", zkey, r[0], r[1], len(got), len(want))
		}
	}
	fields := make([]string, 0, 100)
	for i := 0; i < n; i += n / 97 {
		fields = append(fields, "f:"+strconv.Itoa(i))
	}
	if want, got := src.Client().HMGet(ctx, hkey, fields...).Val(), dst.Client().HMGet(ctx, hkey, fields...).Val(); !slices.Equal(got, want) {
		t.Errorf("HMGET %s of %d fields: destination %v, source %v", hkey, len(fields), got, want)
	}

	// They went as commands of at most 1000 elements: at least n/1000 of each.
	for k, cmd := range map[string]string{zkey: "zadd", hkey: "hset"} {
		stats := dst.MasterFor(k).Client().Info(ctx, "commandstats").Val()
		calls := commandCalls(stats, cmd)
		if calls < int64(n/snapshot.DefaultMaxElements) {
			t.Errorf("%s: %d %s calls on its destination master, want at least %d (chunks of %d elements)",
				k, calls, strings.ToUpper(cmd), n/snapshot.DefaultMaxElements, snapshot.DefaultMaxElements)
		}
	}

	// Every key, element by element (verify's MaxElements default, 16Mi, covers
	// the 5M-element keys).
	vstart := time.Now()
	requireEqual(t, src.Client(), dst.Client())
	t.Logf("verify.Run took %v", time.Since(vstart).Round(time.Millisecond))
	rr.halt(t)
}

// checkNoStall fails the test when LATENCY LATEST of m shows an event of max
// ms or more since start. An event that the time m's main thread waited for a
// CPU since then (waitedBefore at start, from /proc/<pid>/schedstat) can
// explain is logged instead: on a busy 2-core machine a 2 ms chunk command can
// take 100 ms of wall time, which says nothing of the sync. checkChunked holds
// such commands to the chunk limits.
func checkNoStall(t *testing.T, m *redistest.Server, waitedBefore time.Duration, start time.Time, max int64) {
	t.Helper()
	waited := runQueueWait(m.Pid()) - waitedBefore
	var worst latencyEvent
	evs := latencyLatest(t, m.Client())
	for _, e := range evs {
		if e.Max > worst.Max {
			worst = e
		}
		if e.Max < max {
			continue
		}
		msg := fmt.Sprintf("destination master %s: LATENCY LATEST event %q max %d ms (latest %d ms at %s, %.0fs into the sync), want < %d ms",
			m.Addr(), e.Name, e.Max, e.Latest, e.At.Format(time.TimeOnly), e.At.Sub(start).Seconds(), max)
		if waited >= time.Duration(e.Max-max)*time.Millisecond {
			t.Logf("%s: not counted, the server waited %v in total for a CPU during the sync (load %s)", msg, waited.Round(time.Millisecond), loadAvg())
			continue
		}
		t.Error(msg)
	}
	t.Logf("destination master %s: %d latency events, largest %q %d ms; %v waiting for a CPU", m.Addr(), len(evs), worst.Name, worst.Max, waited.Round(time.Millisecond))
}

// runQueueWait returns how long the process pid has waited for a CPU (the
// second field of /proc/<pid>/schedstat), or 0 when unknown.
func runQueueWait(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	ns, _ := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(ns)
}

// loadAvg returns the first field of /proc/loadavg, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// checkChunked checks every command in c's SLOWLOG (all that took 10 ms or
// more): those that write a collection hold at most DefaultMaxElements elements,
// and a RESTORE payload is at most DefaultMaxBytes.
func checkChunked(t *testing.T, c *redis.Client) {
	t.Helper()
	logs, err := c.SlowLogGet(context.Background(), -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var slowest time.Duration
	for _, l := range logs {
		if len(l.Args) == 0 {
			continue
		}
		slowest = max(slowest, l.Duration)
		name := strings.ToUpper(l.Args[0])
		argc := len(l.Args)
		if last := l.Args[len(l.Args)-1]; strings.HasPrefix(last, "... (") {
			var more int
			fmt.Sscanf(last, "... (%d more arguments)", &more)
			argc = len(l.Args) - 1 + more
		}
		elems := 0
		switch name {
		case "ZADD", "HSET", "HMSET":
			elems = (argc - 2) / 2
		case "SADD", "RPUSH":
			elems = argc - 2
		case "RESTORE":
			if len(l.Args) > 3 {
				var more int
				p := l.Args[3]
				if i := strings.LastIndex(p, "... ("); i >= 0 {
					fmt.Sscanf(p[i:], "... (%d more bytes)", &more)
					p = p[:i]
				}
				if size := len(p) + more; size > snapshot.DefaultMaxBytes {
					t.Errorf("%v: RESTORE %s with a payload of %d bytes, over %d", l.Duration, l.Args[1], size, snapshot.DefaultMaxBytes)
				}
			}
		}
		if elems > snapshot.DefaultMaxElements {
			t.Errorf("%v: %s %s with %d elements, over %d", l.Duration, name, l.Args[1], elems, snapshot.DefaultMaxElements)
		}
	}
	t.Logf("  %d commands of 10 ms or more, the slowest %v", len(logs), slowest)
}

// commandCalls returns the calls of cmd in INFO commandstats.
func commandCalls(info, cmd string) int64 {
	for _, line := range strings.Split(info, "\r\n") {
		rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, ','); i >= 0 {
			rest = rest[:i]
		}
		n, _ := strconv.ParseInt(rest, 10, 64)
		return n
	}
	return 0
}

// bigConflictKey is a hash the conflict tests make the converter write as
// commands (Convert.BigKeyBytes is set below its size), not as RESTORE.
const bigConflictKey = "big:conflict"

// writeConflictSource writes the source of the conflict tests: keys of every
// type that the destination will hold too (both:*), keys only the source has
// (src:*), and bigConflictKey.
func writeConflictSource(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	p := c.Pipeline()
	p.Set(ctx, "both:str", "source", 0)
	p.HSet(ctx, "both:hash", "a", "1", "b", "2")
	p.RPush(ctx, "both:list", "a", "b", "c")
	p.SAdd(ctx, "both:set", "a", "b", "c")
	p.ZAdd(ctx, "both:zset", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2.5, Member: "b"})
	p.Set(ctx, "both:ttl", "source", time.Hour)
	p.RPush(ctx, "both:type", "a", "b") // a string on the destination
	for i := range 200 {
		p.Set(ctx, "src:"+strconv.Itoa(i), "v"+strconv.Itoa(i), 0)
	}
	p.SAdd(ctx, "src:set", "x", "y")
	fields := make([]any, 0, 6000)
	for i := range 3000 {
		fields = append(fields, "f:"+strconv.Itoa(i), "value-of-field-"+strconv.Itoa(i))
	}
	p.HSet(ctx, bigConflictKey, fields...)
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// conflictKeys are the keys of writeConflictSource that the destination holds
// with other values before the sync (bigConflictKey aside).
var conflictKeys = []string{"both:str", "both:hash", "both:list", "both:set", "both:zset", "both:ttl", "both:type"}

// writeConflictDest empties dst and writes keys only the destination has
// (dst:*), the conflicting keys with values of its own when restore (the
// converter writes them as RESTORE), and bigConflictKey as a hash (big
// "hash") or a string (big "string"; "" leaves it out). It returns the
// digests of the conflicting keys it wrote.
func writeConflictDest(t *testing.T, dst *redistest.Cluster, restore bool, big string) map[string]string {
	t.Helper()
	ctx := context.Background()
	for _, m := range dst.Masters() {
		if err := m.Client().FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c := dst.Client()
	var cmds, conflicts [][]any
	conflicts = [][]any{
		{"SET", "both:str", "destination"},
		{"HSET", "both:hash", "a", "9", "z", "9"},
		{"RPUSH", "both:list", "z"},
		{"SADD", "both:set", "z"},
		{"ZADD", "both:zset", "9", "z"},
		{"SET", "both:ttl", "destination"},
		{"SET", "both:type", "destination"},
	}
	var keys []string
	if restore {
		cmds = append(cmds, conflicts...)
		keys = append(keys, conflictKeys...)
	}
	switch big {
	case "hash":
		keys = append(keys, bigConflictKey)
		cmds = append(cmds, []any{"HSET", bigConflictKey, "destination", "1"})
	case "string":
		keys = append(keys, bigConflictKey)
		cmds = append(cmds, []any{"SET", bigConflictKey, "destination"})
	}
	for i := range 50 {
		cmds = append(cmds, []any{"SET", "dst:" + strconv.Itoa(i), "only here"})
	}
	for _, cmd := range cmds {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	digests := map[string]string{}
	for _, k := range keys {
		digests[k] = digest(t, dst.MasterFor(k).Client(), k)
	}
	return digests
}

// sameAsSource checks that every key of keys has the same value on src and dst.
func sameAsSource(t *testing.T, src *redistest.Server, dst *redistest.Cluster, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if want, got := digest(t, src.Client(), k), digest(t, dst.MasterFor(k).Client(), k); got != want {
			t.Errorf("%s: destination digest %s, source %s", k, got, want)
		}
	}
}

// dstOnly counts the dst:* keys left on the destination.
func dstOnly(t *testing.T, dst *redistest.Cluster) int {
	t.Helper()
	n := 0
	for i := range 50 {
		n += int(dst.Client().Exists(context.Background(), "dst:"+strconv.Itoa(i)).Val())
	}
	return n
}

// TestFullSyncConflicts runs a full sync into a destination that already holds
// some of the source's keys, with other values, under each Conflict policy and
// with EmptyFirst.
func TestFullSyncConflicts(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	writeConflictSource(t, src.Client())
	srcKeys := append(slices.Clone(conflictKeys), "src:0", "src:199", "src:set", bigConflictKey)
	ctx := context.Background()
	cases := []struct {
		name       string
		conflict   Conflict
		emptyFirst bool
		restore    bool   // the destination holds the conflictKeys (written as RESTORE)
		big        string // bigConflictKey (written as commands) on the destination: "hash", "string" or ""
	}{
		{name: "replace", conflict: ConflictReplace, restore: true, big: "hash"},
		{name: "skip", conflict: ConflictSkip, restore: true},
		{name: "stop", conflict: ConflictStop, restore: true},
		{name: "skip-command-path", conflict: ConflictSkip, big: "hash"},
		{name: "stop-command-path", conflict: ConflictStop, big: "hash"},
		{name: "skip-command-path-other-type", conflict: ConflictSkip, big: "string"},
		{name: "empty-first", conflict: ConflictReplace, emptyFirst: true, restore: true, big: "hash"},
		{name: "empty-first-stop", conflict: ConflictStop, emptyFirst: true, restore: true, big: "hash"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := writeConflictDest(t, dst, tc.restore, tc.big)
			cfg := Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs(), Conflict: tc.conflict, EmptyFirst: tc.emptyFirst,
				Convert: snapshot.Options{BigKeyBytes: 8 << 10}}
			rr := startReplicator(t, cfg)
			wantStop := tc.conflict == ConflictStop && !tc.emptyFirst
			if wantStop {
				checkConflictStop(t, rr, slices.Collect(maps.Keys(before)))
				return
			}
			st := waitStreaming(t, rr, time.Minute, 1, src.Client())
			busy := rr.r.Applier().Stats().Errors[apply.KindBusyKey]
			switch {
			case tc.emptyFirst:
				if n := dstOnly(t, dst); n != 0 {
					t.Errorf("%d of the 50 keys only the destination had survived EmptyFirst", n)
				}
				requireEqual(t, src.Client(), dst.Client())
			case tc.conflict == ConflictReplace:
				sameAsSource(t, src, dst, srcKeys...)
				if ttl := dst.Client().TTL(ctx, "both:ttl").Val(); ttl <= 0 {
					t.Errorf("both:ttl: TTL %v on the destination, want the source's hour", ttl)
				}
				if n := dstOnly(t, dst); n != 50 {
					t.Errorf("%d of the 50 keys only the destination had are left, want all (no EmptyFirst)", n)
				}
			case tc.conflict == ConflictSkip:
				for k, want := range before {
					if got := digest(t, dst.MasterFor(k).Client(), k); got != want {
						t.Errorf("%s: the destination's value was changed (digest %s, was %s); policy skip keeps it", k, got, want)
					}
				}
				for _, k := range srcKeys {
					if _, ok := before[k]; !ok {
						sameAsSource(t, src, dst, k)
					}
				}
				if n := dstOnly(t, dst); n != 50 {
					t.Errorf("%d of the 50 keys only the destination had are left, want all", n)
				}
				// RESTORE refuses an existing key with BUSYKEY (the applier counts
				// it); a key written as commands is looked up first (the shard
				// counts it). Status.DestErrors[busykey] holds both.
				if want := uint64(len(before)); busy > want {
					t.Errorf("applier counted %d BUSYKEY errors, want at most %d (one per conflicting key)", busy, want)
				}
				if st.Errors < int64(len(before)) {
					t.Errorf("Status.Errors = %d, want at least the %d skipped keys", st.Errors, len(before))
				}
				if got := st.DestErrors[apply.KindBusyKey.String()]; got != int64(len(before)) {
					t.Errorf("Status.DestErrors[busykey] = %d, want %d", got, len(before))
				}
				// The replicator goes on streaming.
				if err := src.Client().Set(ctx, "after:skip", "streamed", 0).Err(); err != nil {
					t.Fatal(err)
				}
				waitStreaming(t, rr, time.Minute, 1, src.Client())
				if v := dst.Client().Get(ctx, "after:skip").Val(); v != "streamed" {
					t.Errorf("after:skip written on the source after the full sync: destination has %q", v)
				}
				src.Client().Del(ctx, "after:skip")
			}
			t.Logf("caught up: %d keys, %d BUSYKEY replies, Status.Errors %d", st.KeysDone, busy, st.Errors)
			rr.halt(t)
		})
	}
}

// checkConflictStop checks that Run stopped on its own with an error that names
// a conflicting key and says what to do.
func checkConflictStop(t *testing.T, rr *running, keys []string) {
	t.Helper()
	err := runError(t, rr, 60*time.Second)
	if err == nil {
		t.Fatal("Run returned nil, want an error naming a key that exists on the destination")
	}
	t.Logf("Run: %v", err)
	msg := err.Error()
	named := false
	for _, k := range keys {
		named = named || strings.Contains(msg, strconv.Quote(k))
	}
	if !named {
		t.Errorf("the error names none of the conflicting keys %v", keys)
	}
	if !strings.Contains(msg, "BUSYKEY") && !strings.Contains(strings.ToLower(msg), "exists") {
		t.Errorf("the error does not say that the key exists on the destination")
	}
	checkWrappedKey(t, msg)
	if !strings.Contains(msg, "conflict") && !strings.Contains(msg, "empty-first") {
		t.Error("the error does not say what to do (--conflict replace|skip, or --empty-first)")
	}
}

// TestFullSyncDestinationFull syncs about 20 MB into a destination whose masters
// have maxmemory 5mb and noeviction: under the default policy Run stops with an
// error that says the destination is full and how to make room; under
// PolicySkip it keeps going and counts the OOM replies.
func TestFullSyncDestinationFull(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3,
		Options: redistest.Options{Config: []string{"maxmemory 5mb", "maxmemory-policy noeviction"}}})
	ctx := context.Background()
	// 20,000 strings of 1000 bytes.
	const fill = `for i = 1, 20000 do redis.call('SET', 'oom:' .. i, string.rep(string.format('%09d', i), 111) .. '.') end return 0`
	if err := src.Client().Eval(ctx, fill, nil).Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("source used_memory %d MB", infoInt(t, src.Client(), "memory", "used_memory")>>20)

	cases := []struct {
		name   string
		policy apply.ErrorPolicy
	}{
		{"stop", apply.PolicyStop},
		{"skip", apply.PolicySkip},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range dst.Masters() {
				if err := m.Client().FlushAll(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			cfg := Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()}
			cfg.Apply.OnError = tc.policy
			rr := startReplicator(t, cfg)
			if tc.policy == apply.PolicySkip {
				st := waitStreaming(t, rr, time.Minute, 1, src.Client())
				oom := rr.r.Applier().Stats().Errors[apply.KindOOM]
				t.Logf("caught up: %d keys read, %d OOM replies skipped, %d keys on the destination", st.KeysDone, oom, dst.Client().DBSize(ctx).Val())
				if oom == 0 {
					t.Error("no OOM reply counted")
				}
				rr.halt(t)
				return
			}
			err := runError(t, rr, 60*time.Second)
			if err == nil {
				t.Fatal("Run returned nil, want an error saying the destination is full")
			}
			t.Logf("Run: %v", err)
			msg := err.Error()
			for _, want := range []string{"is full", "maxmemory", "raise maxmemory", `"oom:`} {
				if !strings.Contains(msg, want) {
					t.Errorf("the error does not contain %q", want)
				}
			}
			checkWrappedKey(t, msg)
		})
	}
}

// checkWrappedKey checks that an error names no key quoted twice (an applier
// failure once got wrapped with the key being converted at the time).
func checkWrappedKey(t *testing.T, msg string) {
	t.Helper()
	if !strings.Contains(msg, `key "\"`) {
		return
	}
	t.Error("the error names a second key, quoted twice, besides the one the destination refused")
}

// TestFullSyncCaughtUpMeansApplied holds the writes of one destination master
// for 2 s while a full sync runs: Status must not report the shard caught up
// (streaming, no lag, applied offset at the source's offset) while the
// applier still has ops of the snapshot unacknowledged.
func TestFullSyncCaughtUpMeansApplied(t *testing.T) {
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	for _, history := range []bool{false, true} {
		name := "fresh-source"
		if history {
			name = "source-with-replication-history"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			src := redistest.Start(t, redistest.Options{})
			if history {
				giveReplicationHistory(t, src)
			}
			for _, m := range dst.Masters() {
				if err := m.Client().FlushAll(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 2000}); err != nil {
				t.Fatal(err)
			}
			if err := dst.Masters()[0].Client().Do(ctx, "CLIENT", "PAUSE", 2000, "WRITE").Err(); err != nil {
				t.Fatal(err)
			}
			rr := startReplicator(t, Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: dst.Addrs()})
			pending, offset := caughtUpPending(t, rr, src.Client())
			t.Logf("source offset %d; caught up reported with %d ops pending", offset, pending)
			waitStreaming(t, rr, time.Minute, 1, src.Client())
			requireEqual(t, src.Client(), dst.Client())
			rr.halt(t)
			if pending > 0 {
				t.Errorf("Status reported caught up with %d ops of the snapshot unacknowledged", pending)
			}
		})
	}
}

// giveReplicationHistory makes src's replication offset non-zero: a replica
// syncs from it and goes.
func giveReplicationHistory(t *testing.T, src *redistest.Server) {
	t.Helper()
	r := redistest.Start(t, redistest.Options{Config: []string{"replicaof 127.0.0.1 " + strconv.Itoa(src.Port())}})
	deadline := time.Now().Add(20 * time.Second)
	for infoInt(t, src.Client(), "replication", "master_repl_offset") == 0 || infoInt(t, r.Client(), "replication", "master_sync_in_progress") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not sync")
		}
		src.Client().Set(context.Background(), "history", "1", 0)
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	src.Client().Del(context.Background(), "history")
}

// caughtUpPending polls Status until it reports the only shard caught up and
// returns the applier's pending ops at that moment, and the source's offset.
func caughtUpPending(t *testing.T, rr *running, src *redis.Client) (int, int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st := rr.r.Status()
		if len(st.Shards) == 1 && st.State == StateStream && st.LagBytes == 0 {
			off := infoInt(t, src, "replication", "master_repl_offset")
			if st.Shards[0].AppliedOffset >= off {
				return rr.r.Applier().Stats().Pending, off
			}
		}
		select {
		case err := <-rr.done:
			rr.done = nil
			t.Fatalf("replicator stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("never caught up")
	return 0, 0
}
