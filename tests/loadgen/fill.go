package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// FillOptions describes the generated dataset. Zero fields take the defaults.
type FillOptions struct {
	Keys      int    // number of keys; default 10000
	Prefix    string // key prefix; default "d:"
	Seed      uint64 // random seed; default 1
	Batch     int    // commands per pipeline; default 500
	BigKeys   int    // number of big keys (one list, hash, set, zset each per unit); default 0
	BigLen    int    // elements of a big key; default 100000
	TTLPct    int    // percent of keys with an expire (1–2 days); default 10
	StreamPct int    // percent of streams; default 5
	// Server leaves out what the server's version lacks: streams before 5.0 (strings
	// instead), HSET of several fields before 4.0 (HMSET instead). Default: the newest.
	Server ServerVersion
}

func (o *FillOptions) defaults() {
	if o.Keys == 0 {
		o.Keys = 10000
	}
	if o.Prefix == "" {
		o.Prefix = "d:"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Batch == 0 {
		o.Batch = 500
	}
	if o.BigLen == 0 {
		o.BigLen = 100000
	}
	if o.TTLPct == 0 {
		o.TTLPct = 10
	}
	if o.StreamPct == 0 {
		o.StreamPct = 5
	}
}

// Fill writes the dataset: 50% strings of 64–512 bytes, then hashes (5–50 fields),
// lists, sets and sorted sets (5–100 elements), StreamPct% streams, TTLPct% with a TTL.
func Fill(ctx context.Context, c redis.Cmdable, o FillOptions) error {
	o.defaults()
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	pipe := c.Pipeline()
	flush := func() error {
		if pipe.Len() == 0 {
			return nil
		}
		_, err := pipe.Exec(ctx)
		if err != nil {
			return fmt.Errorf("loadgen: fill: %w", err)
		}
		return nil
	}
	for i := 0; i < o.Keys; i++ {
		key := o.Prefix + strconv.Itoa(i)
		r := rng.IntN(100)
		switch {
		case r < o.StreamPct && o.Server.has(5, 0):
			key = "stream:" + key
			n := 5 + rng.IntN(20)
			for j := 0; j < n; j++ {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"f", rng.IntN(1000), "g", randBytes(rng, 16)}})
			}
			if rng.IntN(2) == 0 {
				pipe.XGroupCreate(ctx, key, "grp", "0")
			}
		case r < 50:
			pipe.Set(ctx, "str:"+key, randBytes(rng, 64+rng.IntN(449)), 0)
			key = "str:" + key
		case r < 63:
			key = "hash:" + key
			n := 5 + rng.IntN(46)
			args := make([]any, 0, 2*n)
			for j := 0; j < n; j++ {
				args = append(args, "f"+strconv.Itoa(j), randBytes(rng, 8+rng.IntN(40)))
			}
			hset(ctx, pipe, o.Server, key, args)
		case r < 76:
			key = "list:" + key
			pipe.RPush(ctx, key, elems(rng, 5+rng.IntN(96))...)
		case r < 88:
			key = "set:" + key
			pipe.SAdd(ctx, key, elems(rng, 5+rng.IntN(96))...)
		default:
			key = "zset:" + key
			n := 5 + rng.IntN(96)
			zs := make([]redis.Z, n)
			for j := range zs {
				zs[j] = redis.Z{Score: float64(rng.IntN(100000)) / 7, Member: "m" + strconv.Itoa(j)}
			}
			pipe.ZAdd(ctx, key, zs...)
		}
		if rng.IntN(100) < o.TTLPct {
			pipe.Expire(ctx, key, 24*time.Hour+time.Duration(rng.IntN(86400))*time.Second)
		}
		if pipe.Len() >= o.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for b := 0; b < o.BigKeys; b++ {
		if err := fillBig(ctx, c, o, b, rng); err != nil {
			return err
		}
	}
	return nil
}

func fillBig(ctx context.Context, c redis.Cmdable, o FillOptions, b int, rng *rand.Rand) error {
	base := o.Prefix + "big:" + strconv.Itoa(b)
	const step = 1000
	for start := 0; start < o.BigLen; start += step {
		n := min(step, o.BigLen-start)
		pipe := c.Pipeline()
		list := make([]any, n)
		hash := make([]any, 0, 2*n)
		zs := make([]redis.Z, n)
		for j := 0; j < n; j++ {
			e := "e" + strconv.Itoa(start+j)
			list[j] = e
			hash = append(hash, e, randBytes(rng, 8))
			zs[j] = redis.Z{Score: float64(start + j), Member: e}
		}
		pipe.RPush(ctx, base+":list", list...)
		pipe.SAdd(ctx, base+":set", list...)
		hset(ctx, pipe, o.Server, base+":hash", hash)
		pipe.ZAdd(ctx, base+":zset", zs...)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("loadgen: fill big key %s: %w", base, err)
		}
	}
	return nil
}

// hset sets the fields of a hash: HSET, or HMSET before 4.0 (whose HSET takes one).
func hset(ctx context.Context, p redis.Pipeliner, v ServerVersion, key string, fv []any) {
	if v.has(4, 0) {
		p.HSet(ctx, key, fv...)
		return
	}
	p.HMSet(ctx, key, fv...)
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randBytes(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func elems(rng *rand.Rand, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = "e" + strconv.Itoa(rng.IntN(1000))
	}
	return out
}
