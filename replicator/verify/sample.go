package verify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Sampling, for a live comparison while a sync runs (xsync sync --verify-rate):
// random source keys compared one batch at a time with the same comparison as a
// round of Run.

// RandomKeys returns up to n keys of source database db picked with RANDOMKEY
// (on a cluster, each from a master picked at random), without the excluded
// prefix; fewer when the source is empty. A key may come twice.
func (v *Verifier) RandomKeys(ctx context.Context, db, n int) ([]string, error) {
	var nodes []*redis.Client
	if v.src.cluster != nil {
		if err := v.src.cluster.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
			nodes = append(nodes, c)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("xsync/verify: source masters: %w", err)
		}
	} else {
		nodes = []*redis.Client{v.src.stdDB(db)}
	}
	if len(nodes) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, 0, n)
	pls := map[*redis.Client]redis.Pipeliner{}
	for range n {
		c := nodes[rand.IntN(len(nodes))]
		pl := pls[c]
		if pl == nil {
			pl = c.Pipeline()
			pls[c] = pl
		}
		cmds = append(cmds, pl.RandomKey(ctx))
	}
	for _, pl := range pls {
		_, _ = pl.Exec(ctx)
	}
	out := make([]string, 0, n)
	for _, c := range cmds {
		k, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue // an empty node
		}
		if err != nil {
			return nil, fmt.Errorf("xsync/verify: RANDOMKEY on the source: %w", err)
		}
		if !v.cfg.NoExclude && strings.HasPrefix(k, v.cfg.ExcludePrefix) {
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

// CompareKeys compares the given keys of source database db with the target,
// as a round of Run does, and returns those that differ (a key gone from the
// source but still on the target is an Extra).
func (v *Verifier) CompareKeys(ctx context.Context, db int, keys []string) ([]Diff, error) {
	items, err := v.compareKeys(ctx, db, keys, true)
	if err != nil {
		return nil, err
	}
	out := make([]Diff, 0, len(items))
	for _, it := range items {
		d := Diff{Kind: it.kind, DB: it.srcDB, Key: it.key, Source: it.src, Target: it.tgt}
		if it.kind == Extra {
			d.DB = it.tgtDB
		}
		out = append(out, d)
	}
	return out, nil
}

// Close releases the per-database clients the Verifier opened (not the
// clients of Config).
func (v *Verifier) Close() {
	v.src.close()
	v.tgt.close()
}
