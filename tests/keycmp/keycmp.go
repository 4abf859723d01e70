// Package keycmp compares a source database with a key prefix on the target, which
// replicator/verify cannot do: it maps databases to databases only (DBMap), not to
// key prefixes. The comparison reads whole values (small test datasets only).
package keycmp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// HasAnyPrefix reports whether s starts with one of ps.
func HasAnyPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// CountPrefix counts the keys of c (every master of a cluster) that start with p.
func CountPrefix(t testing.TB, c redis.UniversalClient, p string) int64 {
	t.Helper()
	ctx := context.Background()
	var n atomic.Int64
	scan := func(ctx context.Context, m *redis.Client) error {
		iter := m.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Add(1)
		}
		return iter.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else {
		err = scan(ctx, c.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	return n.Load()
}

// CompareMapped compares every key k of src with prefix+k on dst (type, value, TTL
// within 2s), re-checking differing keys for a few rounds, checks that dst holds no
// other key with the prefix (not counting those under the longer prefixes of
// others), and returns the number of keys compared.
func CompareMapped(t testing.TB, src *redis.Client, dst redis.UniversalClient, prefix string, others ...string) int {
	t.Helper()
	return CompareMappedTTL(t, src, dst, prefix, 2*time.Second, others...)
}

// CompareMappedTTL is CompareMapped with TTLs allowed to be ttlTol apart.
func CompareMappedTTL(t testing.TB, src *redis.Client, dst redis.UniversalClient, prefix string, ttlTol time.Duration, others ...string) int {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := src.Scan(ctx, 0, "", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	pending := keys
	for round := 1; round <= 3 && len(pending) > 0; round++ {
		if round > 1 {
			time.Sleep(500 * time.Millisecond) // let in-flight changes land between rounds
		}
		var next []string
		var diffs []string
		for _, k := range pending {
			if d := DiffKeyTTL(ctx, src, k, dst, prefix+k, ttlTol); d != "" {
				next = append(next, k)
				diffs = append(diffs, d)
			}
		}
		pending = next
		if round == 3 && len(diffs) > 0 {
			if len(diffs) > 20 {
				diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
			}
			t.Errorf("db %d -> prefix %q: %d keys differ:\n%s", src.Options().DB, prefix, len(pending), strings.Join(diffs, "\n"))
		}
	}
	n := CountPrefix(t, dst, prefix)
	for _, o := range others {
		n -= CountPrefix(t, dst, o)
	}
	if n != int64(len(keys)) {
		t.Errorf("db %d -> prefix %q: %d keys on the source, %d with the prefix on the target", src.Options().DB, prefix, len(keys), n)
	}
	return len(keys)
}

// DiffKey describes how key a of src and key b of dst differ, or returns "".
func DiffKey(ctx context.Context, src redis.UniversalClient, a string, dst redis.UniversalClient, b string) string {
	return DiffKeyTTL(ctx, src, a, dst, b, 2*time.Second)
}

// DiffKeyTTL is DiffKey with TTLs allowed to be ttlTol apart.
func DiffKeyTTL(ctx context.Context, src redis.UniversalClient, a string, dst redis.UniversalClient, b string, ttlTol time.Duration) string {
	ta, va, ttlA, err := ReadKey(ctx, src, a)
	if err != nil {
		return fmt.Sprintf("%q: source: %v", a, err)
	}
	tb, vb, ttlB, err := ReadKey(ctx, dst, b)
	if err != nil {
		return fmt.Sprintf("%q: target: %v", b, err)
	}
	switch {
	case ta != tb:
		return fmt.Sprintf("%q: type %s, target %q: %s", a, ta, b, tb)
	case va != vb:
		return fmt.Sprintf("%q: %s value differs from %q: %.200s | %.200s", a, ta, b, va, vb)
	case (ttlA < 0) != (ttlB < 0):
		return fmt.Sprintf("%q: ttl %v, target %v", a, ttlA, ttlB)
	case ttlA >= 0 && (ttlA-ttlB > ttlTol || ttlB-ttlA > ttlTol):
		return fmt.Sprintf("%q: ttl %v, target %v", a, ttlA, ttlB)
	}
	return ""
}

// ReadKey returns a key's type, its value rendered canonically, and its PTTL
// (negative: none).
func ReadKey(ctx context.Context, c redis.UniversalClient, k string) (string, string, time.Duration, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return "", "", 0, err
	}
	var v any
	switch typ {
	case "none":
		return typ, "", -1, nil
	case "string":
		v, err = c.Get(ctx, k).Result()
	case "list":
		v, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		var m []string
		m, err = c.SMembers(ctx, k).Result()
		slices.Sort(m)
		v = m
	case "zset":
		v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, k).Result()
		v = sortedMap(m)
	case "stream":
		var entries []redis.XMessage
		entries, err = c.XRange(ctx, k, "-", "+").Result()
		if err == nil {
			var info *redis.XInfoStream
			info, err = c.XInfoStream(ctx, k).Result()
			var groups []redis.XInfoGroup
			if err == nil {
				groups, err = c.XInfoGroups(ctx, k).Result()
			}
			if err == nil {
				// entries-read and lag are left out: a Redis 7.0 master does not
				// propagate a group's entries_read for XREADGROUP (a real 7.0 replica
				// shows it as nil), so no replica can match it.
				gs := make([]string, len(groups))
				for i, g := range groups {
					gs[i] = fmt.Sprint(g.Name, g.Consumers, g.Pending, g.LastDeliveredID)
				}
				v = fmt.Sprint(entries, info.LastGeneratedID, info.Length, gs)
			}
		}
	default:
		return typ, "", 0, fmt.Errorf("type %s not compared", typ)
	}
	if err != nil {
		return typ, "", 0, err
	}
	ttl, err := c.PTTL(ctx, k).Result()
	if err != nil {
		return typ, "", 0, err
	}
	return typ, fmt.Sprint(v), ttl, nil
}

func sortedMap(m map[string]string) []string {
	out := make([]string, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k, m[k])
	}
	return out
}
