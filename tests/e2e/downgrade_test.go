package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/precheck"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/replicator/verify"
)

// sharedServer returns the redis-server of ../shared/redis/<dir> beside the
// project root (or under $XSYNC_REDIS_VERSIONS); missing, the test skips, or
// fails when CI is set.
func sharedServer(t *testing.T, dir string) string {
	t.Helper()
	base := os.Getenv("XSYNC_REDIS_VERSIONS")
	if base == "" {
		wd, _ := os.Getwd()
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				base = filepath.Join(filepath.Dir(d), "shared", "redis")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	name := "redis-server"
	if strings.HasPrefix(dir, "valkey-") {
		name = "valkey-server"
	}
	p := filepath.Join(base, dir, name)
	if _, err := os.Stat(p); err != nil {
		msg := "redis-server of " + dir + " not found at " + p + " (../shared/redis/ beside the project root, or set XSYNC_REDIS_VERSIONS)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// fillNewer writes what a 7.4 source has and older servers cannot hold: a hash
// with field expires, a function library, a stream whose group has read (7.0
// entries-read), next to plain keys.
func fillNewer(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"SET", "plain", "v"},
		{"HSET", "hfe", "a", "1", "b", "2"},
		{"HPEXPIREAT", "hfe", "4102444800000", "FIELDS", "1", "a"},
		{"HSET", "hplain", "a", "1"},
		{"FUNCTION", "LOAD", "#!lua name=dglib\nredis.register_function('dg', function(keys, args) return 1 end)"},
		{"XADD", "st", "1-1", "f", "v"},
		{"XADD", "st", "1-2", "f", "v"},
		{"XGROUP", "CREATE", "st", "g", "0"},
		{"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "st", ">"},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
}

func downgradePrecheck(t *testing.T, src, dst *redistest.Server, policy string) precheck.Result {
	t.Helper()
	rs := precheck.Run(context.Background(), precheck.Config{
		Source: precheck.Endpoint{Seeds: []string{src.Addr()}}, Target: precheck.Endpoint{Seeds: []string{dst.Addr()}}, Downgrade: policy})
	for _, r := range rs {
		if r.Name == "downgrade" {
			return r
		}
	}
	t.Fatalf("no downgrade check in %+v", rs)
	return precheck.Result{}
}

// TestDowngrade74 syncs a live Redis 7.4 source into 7.0, Valkey 8.0 and 6.2
// destinations:
// check names each feature the destination cannot hold with its count; sync
// stops by default with the key and the reason; with --downgrade drop it syncs
// the rest, and counts what it left out, also for commands of the stream.
func TestDowngrade74(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	src74 := sharedServer(t, "redis-7.4.1")
	for _, tc := range []struct {
		name, dest string // dest "": the system's 7.0
		want       []string
		stopAt     string
	}{
		{"7.0", "", []string{"hash field expires (Redis 7.4) on 1 of 2 hashes", `"hfe"`, "HPEXPIREAT (hash field expires, Redis 7.4: 1 call)"}, `key "hfe"`},
		{"valkey-8.0", "valkey-8.0.1", []string{"destination Valkey 8.0.1", "hash field expires (Redis 7.4) on 1 of 2 hashes", `"hfe"`}, `key "hfe"`},
		{"6.2", "redis-6.2.16", []string{"hash field expires", "1 function library (Redis 7.0: dglib)", "consumer groups' entries-read", `"st"`, "FUNCTION (functions, Redis 7.0: 1 call)"}, "dglib"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var bin string
			if tc.dest != "" {
				bin = sharedServer(t, tc.dest)
			}
			src := redistest.Start(t, redistest.Options{Binary: src74})
			dst := redistest.Start(t, redistest.Options{Binary: bin})
			fillNewer(t, src.Client())

			r := downgradePrecheck(t, src, dst, "stop")
			t.Logf("check: %s %s", r.Level, r.Found)
			if r.Level != precheck.Fail {
				t.Errorf("check under --downgrade stop: %s, want FAIL", r.Level)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Found, w) {
					t.Errorf("check does not name %s", w)
				}
			}
			if r := downgradePrecheck(t, src, dst, "drop"); r.Level != precheck.Warn || !strings.Contains(r.Found, "leaves them out and counts them") {
				t.Errorf("check under --downgrade drop: %+v, want WARN", r)
			}

			// Default: the sync stops, naming the key and the reason.
			rr := startReplicator(t, replicator.Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}})
			var err error
			poll(t, 60*time.Second, 50*time.Millisecond, "the sync stops", func() error {
				if err = rr.failed(); err == nil {
					return errors.New("still running")
				}
				return nil
			})
			if !errors.Is(err, snapshot.ErrUnsupported) || !strings.Contains(err.Error(), tc.stopAt) || !strings.Contains(err.Error(), "--downgrade drop") {
				t.Fatalf("sync stopped with %v, want ErrUnsupported naming %s and --downgrade drop", err, tc.stopAt)
			}
			t.Logf("sync stopped: %v", err)
			if err := dst.Client().FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}

			// --downgrade drop: everything else arrives, what was left out is counted.
			cfg := replicator.Config{SourceSeeds: []string{src.Addr()}, TargetSeeds: []string{dst.Addr()}}
			cfg.Convert.Downgrade = snapshot.DowngradeDrop
			cfg.Translate.Downgrade = translate.Ignore
			rr = startReplicator(t, cfg)
			st := waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 60*time.Second)
			snap := st.DowngradeDropped
			if snap == 0 {
				t.Errorf("nothing counted as dropped after the snapshot: %+v", st)
			}
			ctx := context.Background()
			for _, cmd := range [][]any{{"HSET", "hfe2", "x", "1"}, {"HPEXPIRE", "hfe2", "100000", "FIELDS", "1", "x"}, {"SET", "after", "1"}} {
				if err := src.Client().Do(ctx, cmd...).Err(); err != nil {
					t.Fatal(err)
				}
			}
			st = waitCaughtUp(t, rr, []string{src.Addr()}, "", 1, 60*time.Second)
			if st.DowngradeDropped != snap+1 {
				t.Errorf("downgrade_dropped %d after HPEXPIRE in the stream, want %d", st.DowngradeDropped, snap+1)
			}
			for _, k := range []string{"plain", "hfe", "hplain", "st", "hfe2", "after"} {
				if n, err := dst.Client().Exists(ctx, k).Result(); err != nil || n != 1 {
					t.Errorf("key %s on the destination: %d, %v", k, n, err)
				}
			}
			if v, err := dst.Client().HGetAll(ctx, "hfe").Result(); err != nil || v["a"] != "1" || v["b"] != "2" {
				t.Errorf("hfe on the destination: %v, %v", v, err)
			}
			t.Logf("downgrade_dropped: %d after the snapshot, %d after the stream", snap, st.DowngradeDropped)
			res := requireEqual(t, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 2, TTLTolerance: 2 * time.Second})
			t.Logf("verify: %d source keys, %d target keys", res.SourceKeys, res.TargetKeys)
		})
	}
}
