package verify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// streamDigest digests the entries in id order (fields in their order) and then the
// consumer groups by name: name, last-delivered-id, PEL length.
func (p *pager) streamDigest(ctx context.Context, c conn) (digest, error) {
	h := sha256.New()
	var d digest
	reply, err := p.first.(*redis.Cmd).Result()
	for {
		if err != nil {
			return d, err
		}
		n, last, herr := hashEntries(h, reply)
		if herr != nil {
			return d, herr
		}
		d.n += int64(n)
		if n < p.cfg.PageSize {
			break
		}
		from, ierr := nextID(last)
		if ierr != nil {
			return d, ierr
		}
		reply, err = c.Do(ctx, "XRANGE", p.key, from, "+", "COUNT", p.cfg.PageSize).Result()
	}
	groups, err := p.groups.Result()
	if err != nil {
		return d, err
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	writeLen(h, "groups")
	for _, g := range groups {
		writeLen(h, g.Name)
		writeLen(h, g.LastDeliveredID)
		writeLen(h, strconv.FormatInt(g.Pending, 10))
	}
	h.Sum(d.sum[:0])
	return d, nil
}

// hashEntries writes an XRANGE reply into h and returns the number of entries and
// the last id.
func hashEntries(h hash.Hash, reply any) (int, string, error) {
	entries, ok := reply.([]any)
	if !ok {
		return 0, "", fmt.Errorf("xsync/verify: XRANGE reply is %T", reply)
	}
	last := ""
	for _, e := range entries {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return 0, "", fmt.Errorf("xsync/verify: XRANGE entry is %T", e)
		}
		id, _ := pair[0].(string)
		writeLen(h, id)
		fields, _ := pair[1].([]any)
		writeLen(h, strconv.Itoa(len(fields)))
		for _, f := range fields {
			s, _ := f.(string)
			writeLen(h, s)
		}
		last = id
	}
	return len(entries), last, nil
}
