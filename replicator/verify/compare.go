package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// item is one differing key.
type item struct {
	kind     Kind
	srcDB    int // -1 for Extra
	tgtDB    int
	key      string
	src, tgt string // descriptions for the report
}

// keyMeta is a key's type ("none" when missing) and TTL (negative: none).
type keyMeta struct {
	typ string
	ttl time.Duration
}

// meta reads TYPE and PTTL of keys in one pipeline.
func meta(ctx context.Context, c conn, keys []string) ([]keyMeta, error) {
	types := make([]*redis.StatusCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	_, _ = c.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, k := range keys {
			types[i] = pl.Type(ctx, k)
			ttls[i] = pl.PTTL(ctx, k)
		}
		return nil
	})
	out := make([]keyMeta, len(keys))
	for i := range keys {
		t, err := types[i].Result()
		if err != nil {
			return nil, fmt.Errorf("xsync/verify: TYPE %q: %w", keys[i], err)
		}
		d, err := ttls[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("xsync/verify: PTTL %q: %w", keys[i], err)
		}
		out[i] = keyMeta{typ: t, ttl: d}
	}
	return out, nil
}

// digests reads the values of keys[i] for i in idx, of type types[i].
func (v *Verifier) digests(ctx context.Context, c conn, keys []string, types []string, idx []int) ([]digest, error) {
	pagers := make([]*pager, len(idx))
	for j, i := range idx {
		pagers[j] = &pager{key: keys[i], typ: types[i], cfg: &v.cfg}
	}
	_, _ = c.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, p := range pagers {
			p.queue(ctx, pl)
		}
		return nil
	})
	out := make([]digest, len(idx))
	for j, p := range pagers {
		d, err := p.finish(ctx, c)
		if err != nil {
			return nil, err
		}
		out[j] = d
	}
	return out, nil
}

// compareKeys compares keys of source database srcDB with the target. With
// reportExtra, a key gone from the source but still on the target is an Extra (round
// 1 leaves those to the target scan).
func (v *Verifier) compareKeys(ctx context.Context, srcDB int, keys []string, reportExtra bool) ([]item, error) {
	tgtDB := v.mapDB(srcDB)
	src, err := v.src.db(srcDB)
	if err != nil {
		return nil, err
	}
	tgt, err := v.tgt.db(tgtDB)
	if err != nil {
		return nil, err
	}
	sm, err := meta(ctx, src, keys)
	if err != nil {
		return nil, fmt.Errorf("%w (source)", err)
	}
	tkeys := v.targetNames(keys)
	tm, err := meta(ctx, tgt, tkeys)
	if err != nil {
		return nil, fmt.Errorf("%w (target)", err)
	}
	out, same := classify(srcDB, tgtDB, keys, sm, tm, reportExtra)
	for i := range out {
		if out[i].kind == Extra {
			out[i].key = v.cfg.KeyPrefix + out[i].key // an Extra is named as on the target
		}
	}
	if len(same) == 0 {
		return out, nil
	}
	types := make([]string, len(keys))
	for i := range keys {
		types[i] = sm[i].typ
	}
	sd, err := v.digests(ctx, src, keys, types, same)
	if err != nil {
		return nil, fmt.Errorf("%w (source)", err)
	}
	td, err := v.digests(ctx, tgt, tkeys, types, same)
	if err != nil {
		return nil, fmt.Errorf("%w (target)", err)
	}
	for j, i := range same {
		it := item{srcDB: srcDB, tgtDB: tgtDB, key: keys[i]}
		switch {
		case sd[j].skipped || td[j].skipped:
			v.skipped.Add(1)
		case !sd[j].equal(td[j]):
			it.kind, it.src, it.tgt = Value, sd[j].String(), td[j].String()
			out = append(out, it)
			continue
		}
		if !v.ttlEqual(sm[i].ttl, tm[i].ttl) {
			it.kind, it.src, it.tgt = TTL, ttlString(sm[i].ttl), ttlString(tm[i].ttl)
			out = append(out, it)
		}
	}
	return out, nil
}

// targetNames returns the target names of source keys (KeyPrefix before each).
func (v *Verifier) targetNames(keys []string) []string {
	if v.cfg.KeyPrefix == "" {
		return keys
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = v.cfg.KeyPrefix + k
	}
	return out
}

// classify sorts keys by existence and type: the differing ones become items, the
// indexes of those present on both sides with the same type are returned in same.
func classify(srcDB, tgtDB int, keys []string, sm, tm []keyMeta, reportExtra bool) (out []item, same []int) {
	for i, k := range keys {
		s, t := sm[i], tm[i]
		it := item{srcDB: srcDB, tgtDB: tgtDB, key: k, src: s.typ, tgt: t.typ}
		switch {
		case s.typ == "none" && t.typ == "none":
		case s.typ == "none":
			if reportExtra {
				it.kind, it.srcDB = Extra, -1
				out = append(out, it)
			}
		case t.typ == "none":
			it.kind = Missing
			out = append(out, it)
		case s.typ != t.typ:
			it.kind = Type
			out = append(out, it)
		default:
			same = append(same, i)
		}
	}
	return out, same
}

func (v *Verifier) ttlEqual(a, b time.Duration) bool {
	if a < 0 || b < 0 {
		return (a < 0) == (b < 0)
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= v.cfg.TTLTolerance
}

func ttlString(d time.Duration) string {
	if d < 0 {
		return "no ttl"
	}
	return "ttl " + d.Round(time.Millisecond).String()
}

// checkExtra looks up target keys of database tgtDB on the source. It returns the
// keys missing from every source database mapped to tgtDB, and, by source
// database, the keys found on both sides (re-checks compare those).
func (v *Verifier) checkExtra(ctx context.Context, tgtDB int, keys []string) ([]item, map[int][]string, error) {
	tgt, err := v.tgt.db(tgtDB)
	if err != nil {
		return nil, nil, err
	}
	tm, err := meta(ctx, tgt, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (target)", err)
	}
	found := map[int][]string{}
	where := make([]int, len(keys))
	for i := range where {
		where[i] = -1
	}
	for _, srcDB := range v.inverse[tgtDB] {
		src, err := v.src.db(srcDB)
		if err != nil {
			return nil, nil, err
		}
		exists := make([]*redis.IntCmd, len(keys))
		_, _ = src.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for i, k := range keys {
				if sk, ok := strings.CutPrefix(k, v.cfg.KeyPrefix); ok {
					exists[i] = pl.Exists(ctx, sk)
				}
			}
			return nil
		})
		for i, e := range exists {
			if e == nil {
				continue // not under KeyPrefix: a leftover, on no source
			}
			n, err := e.Result()
			if err != nil {
				return nil, nil, fmt.Errorf("xsync/verify: EXISTS %q (source): %w", keys[i], err)
			}
			if n > 0 && where[i] < 0 {
				where[i] = srcDB
				found[srcDB] = append(found[srcDB], strings.TrimPrefix(keys[i], v.cfg.KeyPrefix))
			}
		}
	}
	var out []item
	for i, k := range keys {
		if where[i] < 0 && tm[i].typ != "none" {
			out = append(out, item{kind: Extra, srcDB: -1, tgtDB: tgtDB, key: k, src: "none", tgt: tm[i].typ})
		}
	}
	return out, found, nil
}
