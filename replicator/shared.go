package replicator

import (
	"context"
	"fmt"
	"strings"
)

// A destination shared with other jobs (several sources merged into one; see
// translate/scope.go and package registry): the full sync applies the conflict
// policy to keys another job declared, and a resync's emptying is scoped to
// this job's keys, or left out when they cannot be told apart.

// snapCollision applies Config.Conflict to a snapshot key that another job
// declared as its own: skip reports that the key is left out.
func (s *shard) snapCollision(key []byte) (skip bool, err error) {
	other, ok := s.tr.OwnedByOther(key)
	if !ok {
		return false, nil
	}
	n := s.collisions.Add(1)
	switch s.r.cfg.Conflict {
	case ConflictStop:
		return false, fmt.Errorf("xsync/replicator: shard %d: snapshot key %s is a key of another job on this destination (%s) "+
			"(--conflict stop): give this source its own --key-prefix, or choose --conflict replace or skip", s.index, printable(key), other)
	case ConflictSkip:
		if n <= 10 || n%1000 == 0 {
			s.r.log.Warn("snapshot key of another job kept as it is (--conflict skip)", "shard", s.index, "key", printable(key), "job", other, "count", n)
		}
		s.keysDone.Add(1)
		return true, nil
	}
	if n <= 10 || n%1000 == 0 {
		s.r.log.Warn("snapshot key of another job overwritten (--conflict replace)", "shard", s.index, "key", printable(key), "job", other, "count", n)
	}
	return false, nil
}

// mayEmpty reports whether the shard's emptying may run: always when its keys
// are identifiable (the emptying is scoped to them); otherwise only while no
// other job is registered on the destination. Left out, keys deleted on the
// source while the link was down may survive on the destination: it is logged.
func (s *shard) mayEmpty(ctx context.Context) (bool, error) {
	g := s.r.cfg.Translate.SharedGuard
	if s.tr.Scoped() || g == nil {
		return true, nil
	}
	others, err := g(ctx, s.r.applier)
	if err != nil {
		return false, err
	}
	if len(others) == 0 {
		return true, nil
	}
	s.r.log.Warn("not emptying the shard's slots before its full sync: the destination is shared with other jobs and this job "+
		"cannot tell its keys from theirs; keys deleted on the source meanwhile may survive (give the source --key-prefix or --owns)",
		"shard", s.index, "other_jobs", strings.Join(others, "; "))
	return false, nil
}
