package verify

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Member is one source of a union: several sources merged into one target,
// each under its own key prefix (the sync's --key-prefix).
type Member struct {
	// Source is the source's client (*redis.Client or *redis.ClusterClient).
	Source redis.UniversalClient
	// KeyPrefix is put before each of its key names on the target.
	KeyPrefix string
	// Name names the member in errors and logs (its URL, redacted).
	Name string
}

// Union compares the union of the members with cfg.Target: each member's keys
// under its prefix, and no target key outside them (the internal keys of
// cfg.ExcludePrefix and ExcludePrefixes aside). It runs one comparison per
// member, in turn; a target key goes to the member whose prefix is the longest
// one it starts with. cfg.Source is ignored. The Result adds up the members':
// counts, keys read and differences (Excluded too, so a target key left out
// counts once per member).
func Union(ctx context.Context, cfg Config, members []Member) (*Result, error) {
	if len(members) == 0 {
		return nil, ErrNoClient
	}
	seen := map[string]string{}
	hasEmpty := false
	for _, m := range members {
		if prev, dup := seen[m.KeyPrefix]; dup {
			return nil, fmt.Errorf("xsync/verify: %s and %s have the same key prefix %q: the union cannot tell their keys apart "+
				"(give each --source its own --key-prefix)", prev, m.Name, m.KeyPrefix)
		}
		seen[m.KeyPrefix] = m.Name
		hasEmpty = hasEmpty || m.KeyPrefix == ""
	}
	total := &Result{}
	for i, m := range members {
		c := cfg
		c.Source, c.KeyPrefix, c.OtherPrefixes = m.Source, m.KeyPrefix, nil
		for j, o := range members {
			if j != i {
				c.OtherPrefixes = append(c.OtherPrefixes, o.KeyPrefix)
			}
		}
		c.Leftovers = i == 0 && !hasEmpty
		res, err := Run(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%w (source %s)", err, m.Name)
		}
		total.add(res)
	}
	return total, nil
}

// add sums r into t.
func (t *Result) add(r *Result) {
	t.Rounds = max(t.Rounds, r.Rounds)
	t.SourceKeys += r.SourceKeys
	t.TargetKeys += r.TargetKeys
	t.Excluded += r.Excluded
	t.Skipped += r.Skipped
	for k := range t.Counts {
		t.Counts[k] += r.Counts[k]
	}
	for i, n := range r.PerRound {
		if i < len(t.PerRound) {
			t.PerRound[i] += n
		} else {
			t.PerRound = append(t.PerRound, n)
		}
	}
	t.Diffs = append(t.Diffs, r.Diffs...)
	t.Duration += r.Duration
}
