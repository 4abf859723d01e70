package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/verify"
)

// none marks a row where nothing may be reported.
const none verify.Kind = -1

type op func(ctx context.Context, c redis.Cmdable, key string) error

// row is one key: seeded the same on both sides, then mutated on the target, and
// fixed on the target after round 1 when fix is set.
type row struct {
	name   string
	key    string
	seed   op
	mutate op
	fix    op
	want   verify.Kind
}

func do(args ...any) op {
	return func(ctx context.Context, c redis.Cmdable, key string) error {
		a := make([]any, 0, len(args))
		for _, x := range args {
			if x == "$k" {
				x = key
			}
			a = append(a, x)
		}
		return c.(interface {
			Do(context.Context, ...any) *redis.Cmd
		}).Do(ctx, a...).Err()
	}
}

func seq(ops ...op) op {
	return func(ctx context.Context, c redis.Cmdable, key string) error {
		for _, o := range ops {
			if err := o(ctx, c, key); err != nil {
				return err
			}
		}
		return nil
	}
}

// many runs a command n times with "$i" replaced by the index.
func many(n int, args ...any) op {
	return func(ctx context.Context, c redis.Cmdable, key string) error {
		pl := c.Pipeline()
		for i := range n {
			a := make([]any, 0, len(args))
			for _, x := range args {
				switch x {
				case "$k":
					x = key
				case "$i":
					x = i
				}
				if s, ok := x.(string); ok && strings.Contains(s, "$i") {
					x = strings.ReplaceAll(s, "$i", fmt.Sprint(i))
				}
				a = append(a, x)
			}
			pl.Do(ctx, a...)
		}
		_, err := pl.Exec(ctx)
		return err
	}
}

func bigList() op   { return many(2500, "RPUSH", "$k", "elem-$i") }
func bigSet() op    { return many(3000, "SADD", "$k", "member-$i") }
func bigHash() op   { return many(3000, "HSET", "$k", "field-$i", "value-$i") }
func bigZSet() op   { return many(2500, "ZADD", "$k", "$i", "m-$i") }
func bigStream() op { return many(2500, "XADD", "$k", "1-$i", "f", "v-$i", "g", "w") }
func bigString() op { return do("SET", "$k", strings.Repeat("0123456789abcdef", 3<<16)) } // 3 MiB

func stream() op {
	return seq(do("XADD", "$k", "1-1", "a", "1", "b", "2"), do("XADD", "$k", "1-2", "a", "3"),
		do("XADD", "$k", "2-0", "c", "4"), do("XGROUP", "CREATE", "$k", "g", "0"),
		do("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "$k", ">"),
		do("XGROUP", "CREATE", "$k", "h", "$"))
}

// rows covers every kind of difference, every type, paging of big keys, and
// things that must not be reported.
func rows() []row {
	set := func(v string) op { return do("SET", "$k", v) }
	return []row{
		{name: "equal string", key: "eq:str", seed: set("v"), want: none},
		{name: "equal list", key: "eq:list", seed: do("RPUSH", "$k", "a", "b", "a"), want: none},
		{name: "equal set", key: "eq:set", seed: do("SADD", "$k", "a", "b", "1"), want: none},
		{name: "equal zset", key: "eq:zset", seed: do("ZADD", "$k", "1.5", "a", "-inf", "b", "inf", "c"), want: none},
		{name: "equal hash", key: "eq:hash", seed: do("HSET", "$k", "f", "v", "g", ""), want: none},
		{name: "equal stream", key: "eq:stream", seed: stream(), want: none},
		{name: "equal big list", key: "eq:biglist", seed: bigList(), want: none},
		{name: "equal big set", key: "eq:bigset", seed: bigSet(), want: none},
		{name: "equal big hash", key: "eq:bighash", seed: bigHash(), want: none},
		{name: "equal big zset", key: "eq:bigzset", seed: bigZSet(), want: none},
		{name: "equal big string", key: "eq:bigstr", seed: bigString(), want: none},
		{name: "equal big stream", key: "eq:bigstream", seed: bigStream(), want: none},
		{name: "zset score written differently", key: "eq:zscore", seed: do("ZADD", "$k", "1", "a"), mutate: do("ZADD", "$k", "1.000", "a"), want: none},
		{name: "ttl within tolerance", key: "eq:ttl", seed: do("SET", "$k", "v", "PX", "1000000"), mutate: do("PEXPIRE", "$k", "999000"), want: none},
		{name: "excluded prefix", key: "__xsync:ckpt", mutate: set("x"), want: none},
		{name: "fixed before round 2", key: "k:fixed", seed: set("v"), mutate: set("w"), fix: set("v"), want: none},
		{name: "missing", key: "k:missing", seed: set("v"), mutate: do("DEL", "$k"), want: verify.Missing},
		{name: "extra", key: "k:extra", mutate: set("v"), want: verify.Extra},
		{name: "type", key: "k:type", seed: set("v"), mutate: seq(do("DEL", "$k"), do("RPUSH", "$k", "v")), want: verify.Type},
		{name: "string value", key: "k:str", seed: set("v"), mutate: set("w"), want: verify.Value},
		{name: "list order", key: "k:list", seed: do("RPUSH", "$k", "a", "b"), mutate: seq(do("DEL", "$k"), do("RPUSH", "$k", "b", "a")), want: verify.Value},
		{name: "set member", key: "k:set", seed: do("SADD", "$k", "a", "b"), mutate: seq(do("SREM", "$k", "b"), do("SADD", "$k", "c")), want: verify.Value},
		{name: "zset score", key: "k:zset", seed: do("ZADD", "$k", "1", "a", "2", "b"), mutate: do("ZADD", "$k", "1.5", "a"), want: verify.Value},
		{name: "hash value", key: "k:hash", seed: do("HSET", "$k", "f", "v"), mutate: do("HSET", "$k", "f", "w"), want: verify.Value},
		{name: "hash field", key: "k:hash2", seed: do("HSET", "$k", "f", "v"), mutate: do("HSET", "$k", "g", "v"), want: verify.Value},
		{name: "stream entry", key: "k:stream", seed: stream(), mutate: do("XADD", "$k", "3-0", "d", "5"), want: verify.Value},
		{name: "stream group last id", key: "k:stream2", seed: stream(), mutate: do("XGROUP", "SETID", "$k", "h", "1-1"), want: verify.Value},
		{name: "stream PEL", key: "k:stream3", seed: stream(), mutate: do("XACK", "$k", "g", "1-1"), want: verify.Value},
		{name: "big list tail", key: "k:biglist", seed: bigList(), mutate: do("LSET", "$k", "-1", "x"), want: verify.Value},
		{name: "big set member", key: "k:bigset", seed: bigSet(), mutate: seq(do("SREM", "$k", "member-7"), do("SADD", "$k", "other")), want: verify.Value},
		{name: "big hash value", key: "k:bighash", seed: bigHash(), mutate: do("HSET", "$k", "field-2999", "x"), want: verify.Value},
		{name: "big zset score", key: "k:bigzset", seed: bigZSet(), mutate: do("ZADD", "$k", "2498.5", "m-2499"), want: verify.Value},
		{name: "big string tail", key: "k:bigstr", seed: bigString(), mutate: do("SETRANGE", "$k", 3<<20-1, "x"), want: verify.Value},
		{name: "big stream entry", key: "k:bigstream", seed: bigStream(), mutate: do("XDEL", "$k", "1-2400"), want: verify.Value},
		{name: "ttl differs", key: "k:ttl", seed: do("SET", "$k", "v", "EX", "1000"), mutate: do("EXPIRE", "$k", "100"), want: verify.TTL},
		{name: "ttl missing on target", key: "k:ttl2", seed: do("SET", "$k", "v", "EX", "1000"), mutate: do("PERSIST", "$k"), want: verify.TTL},
		{name: "ttl extra on target", key: "k:ttl3", seed: set("v"), mutate: do("EXPIRE", "$k", "1000"), want: verify.TTL},
	}
}

// apply runs the op of each row chosen by pick on c, keys prefixed with prefix.
func apply(ctx context.Context, t *testing.T, c redis.Cmdable, prefix string, rs []row, pick func(row) op) {
	t.Helper()
	for _, r := range rs {
		k := r.key
		if !strings.HasPrefix(k, verify.DefaultExcludePrefix) {
			k = prefix + k
		}
		if o := pick(r); o != nil {
			if err := o(ctx, c, k); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
		}
	}
}

func seedOf(r row) op   { return r.seed }
func mutateOf(r row) op { return r.mutate }
func fixOf(r row) op    { return r.fix }
