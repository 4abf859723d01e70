package verify

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/internal/sleep"
)

// Verifier compares a source and a target. It is used for one Run at a time.
type Verifier struct {
	cfg      Config
	src, tgt *side
	dbs      []int         // source databases
	inverse  map[int][]int // target db -> source dbs
	lim      *limiter

	srcKeys, tgtKeys, excluded, skipped atomic.Int64
}

// New checks cfg and returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	src, err := newSide("source", cfg.Source)
	if err != nil {
		return nil, err
	}
	tgt, err := newSide("target", cfg.Target)
	if err != nil {
		return nil, err
	}
	for s, t := range cfg.DBMap {
		if (tgt.cluster != nil && t != 0) || (src.cluster != nil && s != 0) || s < 0 || t < 0 {
			return nil, fmt.Errorf("%w: DBMap %d -> %d", ErrClusterDB, s, t)
		}
	}
	for _, d := range cfg.DBs {
		if (src.cluster != nil && d != 0) || d < 0 {
			return nil, fmt.Errorf("%w: DBs has %d", ErrClusterDB, d)
		}
	}
	return &Verifier{cfg: cfg, src: src, tgt: tgt, lim: newLimiter(cfg.Rate)}, nil
}

// Run compares the two sides in rounds and returns what differs. An error means the
// comparison could not be completed (a side unreachable, ctx cancelled); differences
// are never errors.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return v.Run(ctx)
}

// mapDB returns the target database of source database n.
func (v *Verifier) mapDB(n int) int {
	if t, ok := v.cfg.DBMap[n]; ok {
		return t
	}
	if v.tgt.cluster != nil {
		return 0
	}
	return n
}

// Run compares the two sides in rounds and returns what differs.
func (v *Verifier) Run(ctx context.Context) (*Result, error) {
	defer v.src.close()
	defer v.tgt.close()
	start := time.Now()
	for _, c := range []*atomic.Int64{&v.srcKeys, &v.tgtKeys, &v.excluded, &v.skipped} {
		c.Store(0)
	}
	if err := v.setDBs(ctx); err != nil {
		return nil, err
	}
	res := &Result{}
	cur := newTally(v.cfg.MaxPending)
	v.cfg.Logger.Info("xsync verify: round 1", "source_dbs", v.dbs)
	if err := v.fullRound(ctx, cur); err != nil {
		return nil, err
	}
	res.Rounds, res.PerRound = 1, []int64{cur.total()}
	v.cfg.Logger.Info("xsync verify: round done", "round", 1, "differing", cur.total(),
		"source_keys", v.srcKeys.Load(), "target_keys", v.tgtKeys.Load())
	for r := 2; r <= v.cfg.Rounds && cur.total() > 0; r++ {
		if err := sleep.For(ctx, v.cfg.RoundDelay); err != nil {
			return nil, fmt.Errorf("xsync/verify: %w", err)
		}
		next := newTally(v.cfg.MaxPending)
		next.overflow = cur.overflow
		if err := v.recheck(ctx, cur, next); err != nil {
			return nil, err
		}
		cur = next
		res.Rounds, res.PerRound = r, append(res.PerRound, cur.total())
		v.cfg.Logger.Info("xsync verify: round done", "round", r, "differing", cur.total())
	}
	v.finish(res, cur)
	res.Duration = time.Since(start)
	return res, nil
}

// setDBs chooses the source databases and the inverse database map.
func (v *Verifier) setDBs(ctx context.Context) error {
	v.dbs = append([]int(nil), v.cfg.DBs...)
	if len(v.dbs) == 0 && v.src.cluster == nil {
		seen := map[int]bool{}
		for _, s := range []*side{v.src, v.tgt} {
			if s == v.tgt && (s.cluster != nil || v.cfg.DBMap != nil) {
				continue
			}
			dbs, err := s.keyspaceDBs(ctx)
			if err != nil {
				return err
			}
			for _, d := range dbs {
				if !seen[d] {
					seen[d] = true
					v.dbs = append(v.dbs, d)
				}
			}
		}
		sort.Ints(v.dbs)
	}
	if len(v.dbs) == 0 {
		v.dbs = []int{0}
	}
	v.inverse = map[int][]int{}
	for _, d := range v.dbs {
		t := v.mapDB(d)
		v.inverse[t] = append(v.inverse[t], d)
	}
	return nil
}

// fullRound scans every source key, then every target key.
func (v *Verifier) fullRound(ctx context.Context, t *tally) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.cfg.Concurrency)
	for _, db := range v.dbs {
		nodes, err := v.src.scanners(ctx, db)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			g.Go(func() error {
				return v.scan(gctx, n, &v.srcKeys, func(keys []string) error {
					items, err := v.compareKeys(gctx, db, keys, false)
					t.add(items)
					return err
				})
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(v.cfg.Concurrency)
	for db := range v.inverse {
		nodes, err := v.tgt.scanners(ctx, db)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			g.Go(func() error {
				return v.scan(gctx, n, &v.tgtKeys, func(keys []string) error {
					items, _, err := v.checkExtra(gctx, db, keys)
					t.add(items)
					return err
				})
			})
		}
	}
	return g.Wait()
}

// scan SCANs node and hands batches of kept keys to fn.
func (v *Verifier) scan(ctx context.Context, node *redis.Client, count *atomic.Int64, fn func([]string) error) error {
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, "", int64(v.cfg.ScanCount)).Result()
		if err != nil {
			return fmt.Errorf("xsync/verify: SCAN on %s: %w", node.Options().Addr, err)
		}
		kept := keys[:0]
		for _, k := range keys {
			switch {
			case v.excludedKey(k):
				v.excluded.Add(1)
			case count == &v.tgtKeys && !v.targetMine(k):
				// Another source's key in a union: its own Run compares it.
			case v.sampled(k):
				kept = append(kept, k)
			}
		}
		if len(kept) > 0 {
			count.Add(int64(len(kept)))
			if err := v.lim.wait(ctx, len(kept)); err != nil {
				return fmt.Errorf("xsync/verify: %w", err)
			}
			if err := fn(kept); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// excludedKey reports whether k is left out on both sides (internal keys).
func (v *Verifier) excludedKey(k string) bool {
	if v.cfg.ExcludePrefix != "" && strings.HasPrefix(k, v.cfg.ExcludePrefix) {
		return true
	}
	if !v.cfg.NoExclude && k == RegistryKey {
		return true
	}
	for _, p := range v.cfg.ExcludePrefixes {
		if p != "" && strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// targetMine reports whether a target key is this source's: the longest of
// KeyPrefix and OtherPrefixes that it starts with is KeyPrefix, or it starts
// with none of them and Leftovers is set.
func (v *Verifier) targetMine(k string) bool {
	if v.cfg.KeyPrefix == "" && len(v.cfg.OtherPrefixes) == 0 {
		return true
	}
	best, owner := -1, -2 // owner -1: KeyPrefix
	if strings.HasPrefix(k, v.cfg.KeyPrefix) {
		best, owner = len(v.cfg.KeyPrefix), -1
	}
	for i, p := range v.cfg.OtherPrefixes {
		if len(p) > best && strings.HasPrefix(k, p) {
			best, owner = len(p), i
		}
	}
	return owner == -1 || owner == -2 && v.cfg.Leftovers
}

// sampled reports whether key is in the sample (a hash of the key, so both sides
// pick the same keys).
func (v *Verifier) sampled(key string) bool {
	if v.cfg.Sample >= 1 {
		return true
	}
	h := fnv.New64a()
	var seed [8]byte
	for i := range seed {
		seed[i] = byte(v.cfg.SampleSeed >> (8 * i))
	}
	h.Write(seed[:])
	h.Write([]byte(key))
	return float64(h.Sum64()>>11)/float64(1<<53) < v.cfg.Sample
}

// recheck compares again the keys of cur and records what still differs in next.
func (v *Verifier) recheck(ctx context.Context, cur, next *tally) error {
	fwd, extra := cur.byDB()
	for db, keys := range fwd {
		if err := v.inBatches(ctx, keys, func(b []string) error {
			items, err := v.compareKeys(ctx, db, b, true)
			next.add(items)
			return err
		}); err != nil {
			return err
		}
	}
	for db, keys := range extra {
		if err := v.inBatches(ctx, keys, func(b []string) error {
			items, found, err := v.checkExtra(ctx, db, b)
			next.add(items)
			if err != nil {
				return err
			}
			for sdb, fk := range found {
				items, err := v.compareKeys(ctx, sdb, fk, true)
				next.add(items)
				if err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (v *Verifier) inBatches(ctx context.Context, keys []string, fn func([]string) error) error {
	for len(keys) > 0 {
		n := min(len(keys), v.cfg.ScanCount)
		if err := v.lim.wait(ctx, n); err != nil {
			return fmt.Errorf("xsync/verify: %w", err)
		}
		if err := fn(keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// finish fills res from the last round's tally.
func (v *Verifier) finish(res *Result, t *tally) {
	res.SourceKeys, res.TargetKeys = v.srcKeys.Load(), v.tgtKeys.Load()
	res.Excluded, res.Skipped = v.excluded.Load(), v.skipped.Load()
	res.Counts = t.overflow
	items := make([]item, 0, len(t.items))
	for _, it := range t.items {
		res.Counts[it.kind]++
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.tgtDB != b.tgtDB {
			return a.tgtDB < b.tgtDB
		}
		return a.key < b.key
	})
	var per [numKinds]int
	for _, it := range items {
		if per[it.kind] >= v.cfg.MaxReport {
			continue
		}
		per[it.kind]++
		db := it.srcDB
		if it.kind == Extra {
			db = it.tgtDB
		}
		res.Diffs = append(res.Diffs, Diff{Kind: it.kind, DB: db, Key: it.key, Source: it.src, Target: it.tgt})
	}
}
