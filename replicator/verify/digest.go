package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// digest summarises a value: its length (bytes of a string, elements otherwise) and
// a SHA-256 over a canonical encoding.
type digest struct {
	n       int64
	sum     [sha256.Size]byte
	err     string // a reply error while reading (the key changed type meanwhile)
	skipped bool   // too big to compare
}

func (d digest) equal(o digest) bool {
	return d.err == "" && o.err == "" && d.n == o.n && d.sum == o.sum
}

// String describes the digest for reports.
func (d digest) String() string {
	if d.err != "" {
		return "error: " + d.err
	}
	return fmt.Sprintf("len %d sha256:%s", d.n, hex.EncodeToString(d.sum[:4]))
}

// pager reads one key's value, first page pipelined with other keys, the rest alone.
type pager struct {
	key, typ string
	first    redis.Cmder
	groups   *redis.XInfoGroupsCmd // streams
	cfg      *Config
}

// queue adds the first page of key's value to the pipeline.
func (p *pager) queue(ctx context.Context, pl redis.Pipeliner) {
	page, key := int64(p.cfg.PageSize), p.key
	switch p.typ {
	case "string":
		p.first = pl.GetRange(ctx, key, 0, int64(p.cfg.StringChunk)-1)
	case "list":
		p.first = pl.LRange(ctx, key, 0, page-1)
	case "zset":
		p.first = pl.ZRangeWithScores(ctx, key, 0, page-1)
	case "set":
		p.first = pl.SScan(ctx, key, 0, "", page)
	case "hash":
		p.first = pl.HScan(ctx, key, 0, "", page)
	case "stream":
		p.first = pl.Do(ctx, "XRANGE", key, "-", "+", "COUNT", page)
		p.groups = pl.XInfoGroups(ctx, key)
	default:
		p.first = pl.Dump(ctx, key)
	}
}

// replyErr reports whether err is an error reply from the server (as opposed to a
// failed connection).
func replyErr(err error) bool {
	var re redis.Error
	return err != nil && !errors.Is(err, redis.Nil) && errors.As(err, &re)
}

// finish reads the rest of the value with c and returns its digest. A reply error
// becomes part of the digest (so the key differs and is re-checked); other errors
// are returned.
func (p *pager) finish(ctx context.Context, c conn) (digest, error) {
	var d digest
	var err error
	switch p.typ {
	case "string":
		d, err = p.stringDigest(ctx, c)
	case "list":
		d, err = p.listDigest(ctx, c)
	case "zset":
		d, err = p.zsetDigest(ctx, c)
	case "set", "hash":
		d, err = p.unorderedDigest(ctx, c)
	case "stream":
		d, err = p.streamDigest(ctx, c)
	default:
		d, err = p.dumpDigest()
	}
	if replyErr(err) {
		return digest{err: err.Error()}, nil
	}
	if err != nil {
		return d, fmt.Errorf("xsync/verify: read %s %q: %w", p.typ, p.key, err)
	}
	return d, nil
}

// writeLen writes a length-prefixed byte string into h.
func writeLen(h hash.Hash, s string) {
	var b [binary.MaxVarintLen64]byte
	h.Write(b[:binary.PutUvarint(b[:], uint64(len(s)))])
	h.Write([]byte(s))
}

func (p *pager) stringDigest(ctx context.Context, c conn) (digest, error) {
	h := sha256.New()
	chunk := int64(p.cfg.StringChunk)
	s, err := p.first.(*redis.StringCmd).Result()
	var d digest
	for off := int64(0); ; off += chunk {
		if err != nil && !errors.Is(err, redis.Nil) {
			return d, err
		}
		h.Write([]byte(s))
		d.n += int64(len(s))
		if int64(len(s)) < chunk {
			break
		}
		s, err = c.GetRange(ctx, p.key, off+chunk, off+2*chunk-1).Result()
	}
	h.Sum(d.sum[:0])
	return d, nil
}

func (p *pager) listDigest(ctx context.Context, c conn) (digest, error) {
	h := sha256.New()
	page := int64(p.cfg.PageSize)
	vals, err := p.first.(*redis.StringSliceCmd).Result()
	var d digest
	for off := int64(0); ; off += page {
		if err != nil {
			return d, err
		}
		for _, v := range vals {
			writeLen(h, v)
		}
		d.n += int64(len(vals))
		if int64(len(vals)) < page {
			break
		}
		vals, err = c.LRange(ctx, p.key, off+page, off+2*page-1).Result()
	}
	h.Sum(d.sum[:0])
	return d, nil
}

func (p *pager) zsetDigest(ctx context.Context, c conn) (digest, error) {
	h := sha256.New()
	page := int64(p.cfg.PageSize)
	zs, err := p.first.(*redis.ZSliceCmd).Result()
	var d digest
	var b [8]byte
	for off := int64(0); ; off += page {
		if err != nil {
			return d, err
		}
		for _, z := range zs {
			m, _ := z.Member.(string)
			writeLen(h, m)
			score := z.Score
			if score == 0 {
				score = 0 // -0 and 0 are the same score
			}
			binary.BigEndian.PutUint64(b[:], math.Float64bits(score))
			h.Write(b[:])
		}
		d.n += int64(len(zs))
		if int64(len(zs)) < page {
			break
		}
		zs, err = c.ZRangeWithScores(ctx, p.key, off+page, off+2*page-1).Result()
	}
	h.Sum(d.sum[:0])
	return d, nil
}

// unorderedDigest reads a set (members) or hash (field, value pairs) by SCAN, hashes
// each element to 16 bytes, and digests the sorted, deduplicated element hashes.
func (p *pager) unorderedDigest(ctx context.Context, c conn) (digest, error) {
	step := 1
	if p.typ == "hash" {
		step = 2
	}
	var elems [][16]byte
	keys, cursor, err := p.first.(*redis.ScanCmd).Result()
	for {
		if err != nil {
			return digest{}, err
		}
		for i := 0; i+step <= len(keys); i += step {
			h := sha256.New()
			for _, k := range keys[i : i+step] {
				writeLen(h, k)
			}
			var e [16]byte
			copy(e[:], h.Sum(nil))
			elems = append(elems, e)
		}
		if int64(len(elems)) > p.cfg.MaxElements {
			return digest{skipped: true}, nil
		}
		if cursor == 0 {
			break
		}
		if p.typ == "hash" {
			keys, cursor, err = c.HScan(ctx, p.key, cursor, "", int64(p.cfg.PageSize)).Result()
		} else {
			keys, cursor, err = c.SScan(ctx, p.key, cursor, "", int64(p.cfg.PageSize)).Result()
		}
	}
	sort.Slice(elems, func(i, j int) bool { return bytes.Compare(elems[i][:], elems[j][:]) < 0 })
	h := sha256.New()
	var d digest
	for i, e := range elems {
		if i > 0 && e == elems[i-1] {
			continue // SCAN may return an element twice
		}
		h.Write(e[:])
		d.n++
	}
	h.Sum(d.sum[:0])
	return d, nil
}

func (p *pager) dumpDigest() (digest, error) {
	s, err := p.first.(*redis.StringCmd).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return digest{}, err
	}
	d := digest{n: int64(len(s)), sum: sha256.Sum256([]byte(s))}
	return d, nil
}

// nextID returns the smallest stream id after id ("ms-seq").
func nextID(id string) (string, error) {
	ms, seq, ok := strings.Cut(id, "-")
	m, err1 := strconv.ParseUint(ms, 10, 64)
	s, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return "", fmt.Errorf("xsync/verify: bad stream id %q", id)
	}
	if s == math.MaxUint64 {
		return strconv.FormatUint(m+1, 10) + "-0", nil
	}
	return ms + "-" + strconv.FormatUint(s+1, 10), nil
}
