package verify_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/verify"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// afterRound1 is a slog handler that runs fn once, when round 1 is done.
type afterRound1 struct {
	once sync.Once
	fn   func()
}

func (h *afterRound1) Enabled(context.Context, slog.Level) bool { return true }
func (h *afterRound1) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *afterRound1) WithGroup(string) slog.Handler            { return h }
func (h *afterRound1) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if r.Message == "xsync verify: round done" && a.Key == "round" && a.Value.Int64() == 1 {
			h.once.Do(h.fn)
		}
		return true
	})
	return nil
}

// TestDifferences injects each kind of difference into a target and checks that
// each is reported once with its kind, and nothing else.
func TestDifferences(t *testing.T) {
	ctx := testCtx(t)
	src := redistest.Start(t, redistest.Options{}).Client()
	tgt := redistest.Start(t, redistest.Options{}).Client()
	tests := []struct {
		name string
		cfg  verify.Config
	}{
		{"defaults", verify.Config{}},
		{"small pages", verify.Config{PageSize: 7, StringChunk: 1000, ScanCount: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := rows()
			for _, c := range []*redis.Client{src, tgt} {
				if err := c.FlushAll(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				apply(ctx, t, c, "", rs, seedOf)
			}
			apply(ctx, t, tgt, "", rs, mutateOf)
			cfg := tc.cfg
			cfg.Source, cfg.Target, cfg.RoundDelay = src, tgt, 50*time.Millisecond
			cfg.Logger = slog.New(&afterRound1{fn: func() { apply(ctx, t, tgt, "", rs, fixOf) }})
			res, err := verify.Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkDiffs(t, res, rs)
		})
	}
}

// checkDiffs checks that res reports each row's key with its kind, and nothing else.
func checkDiffs(t *testing.T, res *verify.Result, rs []row) {
	t.Helper()
	var report strings.Builder
	if err := res.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", report.String())
	got := map[string]verify.Diff{}
	for _, d := range res.Diffs {
		if _, dup := got[d.Key]; dup {
			t.Errorf("key %q reported twice", d.Key)
		}
		got[d.Key] = d
	}
	want := 0
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			d, ok := got[r.key]
			switch {
			case r.want == none && ok:
				t.Errorf("reported as %v (%s / %s), want nothing", d.Kind, d.Source, d.Target)
			case r.want != none && !ok:
				t.Errorf("not reported, want %v", r.want)
			case ok && d.Kind != r.want:
				t.Errorf("reported as %v, want %v", d.Kind, r.want)
			}
		})
		if r.want != none {
			want++
		}
	}
	if res.Total() != int64(want) || len(res.Diffs) != want {
		t.Errorf("Total %d, %d diffs; want %d", res.Total(), len(res.Diffs), want)
	}
	if res.Rounds != 3 || len(res.PerRound) != 3 || res.PerRound[0] != int64(want+1) {
		t.Errorf("rounds %d per round %v; want 3 rounds starting with %d", res.Rounds, res.PerRound, want+1)
	}
	if res.Excluded != 1 {
		t.Errorf("Excluded = %d, want 1", res.Excluded)
	}
}

func TestEqual(t *testing.T) {
	ctx := testCtx(t)
	s, g := redistest.Start(t, redistest.Options{}), redistest.Start(t, redistest.Options{})
	src, tgt := s.Client(), g.Client()
	rs := rows()
	for _, c := range []*redis.Client{src, tgt} {
		apply(ctx, t, c, "", rs, seedOf)
	}
	resp3 := func(s *redistest.Server) *redis.Client {
		o := s.ClientOptions()
		o.Protocol = 3
		c := redis.NewClient(o)
		t.Cleanup(func() { c.Close() })
		return c
	}
	tests := []struct {
		name    string
		cfg     verify.Config
		resp3   bool
		skipped int64
	}{
		{"defaults", verify.Config{}, false, 0},
		{"RESP3 clients", verify.Config{}, true, 0},
		{"small pages", verify.Config{PageSize: 7, StringChunk: 1000, ScanCount: 10}, false, 0},
		{"sample", verify.Config{Sample: 0.5, SampleSeed: 42}, false, -1},
		{"rate", verify.Config{Rate: 200, ScanCount: 10}, false, 0},
		{"max elements", verify.Config{MaxElements: 100}, false, 4}, // eq: and k: bigset, bighash
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Source, cfg.Target = src, tgt
			if tc.resp3 {
				cfg.Source, cfg.Target = resp3(s), resp3(g)
			}
			start := time.Now()
			res, err := verify.Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !res.Equal() || res.Rounds != 1 {
				var b strings.Builder
				_ = res.WriteReport(&b)
				t.Errorf("not equal in one round:\n%s", b.String())
			}
			if tc.skipped >= 0 && res.Skipped != tc.skipped {
				t.Errorf("Skipped = %d, want %d", res.Skipped, tc.skipped)
			}
			n := int64(len(rs) - 2) // the extra-only and the excluded rows have no key
			switch {
			case tc.cfg.Sample > 0:
				if res.SourceKeys == 0 || res.SourceKeys >= n {
					t.Errorf("sampled %d of %d keys", res.SourceKeys, n)
				}
			case res.SourceKeys != n || res.TargetKeys != n:
				t.Errorf("keys %d/%d, want %d", res.SourceKeys, res.TargetKeys, n)
			}
			// Batches of about 10 keys; each waits for the ones before it.
			if tc.cfg.Rate > 0 && time.Since(start) < 250*time.Millisecond {
				t.Errorf("rate %d/s: %d keys in %v", tc.cfg.Rate, res.SourceKeys+res.TargetKeys, time.Since(start))
			}
		})
	}
}

// TestStandaloneToCluster compares a standalone source with two databases to a
// cluster holding both, in both directions.
func TestStandaloneToCluster(t *testing.T) {
	ctx := testCtx(t)
	s := redistest.Start(t, redistest.Options{})
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	db1o := s.ClientOptions()
	db1o.DB = 1
	db1 := redis.NewClient(db1o)
	defer db1.Close()
	rs := rows()
	apply(ctx, t, s.Client(), "a:", rs, seedOf)
	apply(ctx, t, db1, "b:", rs, seedOf)
	apply(ctx, t, cl.Client(), "a:", rs, seedOf)
	apply(ctx, t, cl.Client(), "b:", rs, seedOf)

	run := func(cfg verify.Config) *verify.Result {
		t.Helper()
		cfg.RoundDelay = 10 * time.Millisecond
		res, err := verify.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		var b strings.Builder
		_ = res.WriteReport(&b)
		t.Logf("report:\n%s", b.String())
		return res
	}
	n := int64(len(rs) - 2)
	res := run(verify.Config{Source: s.Client(), Target: cl.Client()})
	if !res.Equal() || res.SourceKeys != 2*n || res.TargetKeys != 2*n {
		t.Fatalf("equal data: total %d, keys %d/%d, want 0, %d/%d", res.Total(), res.SourceKeys, res.TargetKeys, 2*n, 2*n)
	}

	if err := cl.Client().Del(ctx, "b:k:str").Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Client().Set(ctx, "c:new", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	res = run(verify.Config{Source: s.Client(), Target: cl.Client(), DBs: []int{0, 1}})
	want := []verify.Diff{
		{Kind: verify.Missing, DB: 1, Key: "b:k:str", Source: "string", Target: "none"},
		{Kind: verify.Extra, DB: 0, Key: "c:new", Source: "none", Target: "string"},
	}
	if len(res.Diffs) != len(want) || res.Total() != int64(len(want)) {
		t.Fatalf("diffs %+v, want %+v", res.Diffs, want)
	}
	for i := range want {
		if res.Diffs[i] != want[i] {
			t.Errorf("diff %d = %+v, want %+v", i, res.Diffs[i], want[i])
		}
	}

	// The cluster as the source, db 0 of the standalone as the target: the b: keys
	// (in db 1) are missing there, and c:new too.
	res = run(verify.Config{Source: cl.Client(), Target: s.Client()})
	if got := res.Count(verify.Missing); got != n {
		t.Errorf("cluster -> standalone db0: %d missing, want %d", got, n)
	}
	if res.Total() != n {
		t.Errorf("cluster -> standalone db0: %d differ, want %d", res.Total(), n)
	}
}
