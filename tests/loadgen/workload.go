package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// WorkOptions describes the write workload. Zero fields take the defaults.
type WorkOptions struct {
	Prefix       string // key prefix; default "w:"
	Groups       int    // hash-tag groups; default 8
	KeysPerGroup int    // keys per type per group; default 8
	Clients      int    // concurrent writers; default 4
	Rate         int    // total commands per second; 0 = as fast as the writers go
	Seed         uint64 // default 1
	// CrossSlot makes multi-key commands name keys of different groups, so that their
	// keys hash to different slots. Only a standalone source accepts that.
	CrossSlot bool
	// NonIdempotentOnly restricts the workload to commands whose double application
	// would show (LPUSH, RPUSH, INCR, APPEND, HINCRBY, ZINCRBY, SETRANGE, XADD).
	NonIdempotentOnly bool
	// Assignments adds, to NonIdempotentOnly, one command in four that sets a key
	// whole (SET and SET PXAT of the strings and counters, DEL of the strings and
	// lists), on the keys of the first half of the groups only: xsync sends these
	// without a checkpoint, and mixed into the same keys a replayed assignment that
	// undid a later INCR, APPEND or RPUSH shows; the other half keeps the history
	// of its non-idempotent commands whole, where an op applied twice shows.
	Assignments bool
	// NoScripts leaves out EVAL and FUNCTION commands.
	NoScripts bool
	// Server leaves out the commands that the server's version lacks (streams before
	// 5.0, GETEX/COPY/LMOVE/SET PXAT before 6.2, ...). Default: the newest server.
	Server ServerVersion
	// Skip leaves out these commands (names as in the list of every command).
	Skip []string
}

func (o *WorkOptions) defaults() {
	if o.Prefix == "" {
		o.Prefix = "w:"
	}
	if o.Groups == 0 {
		o.Groups = 8
	}
	if o.KeysPerGroup == 0 {
		o.KeysPerGroup = 8
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Stats counts what a workload did.
type Stats struct {
	Ops    atomic.Int64 // commands acknowledged by the server
	Errors atomic.Int64 // error replies (other than expected ones such as a missing key)
}

// Run drives the workload until ctx is done and returns the stats. The first
// unexpected error is returned along with them (the workload keeps going after it).
func Run(ctx context.Context, c redis.UniversalClient, o WorkOptions) (*Stats, error) {
	o.defaults()
	st := &Stats{}
	var firstErr atomic.Pointer[error] // errors of different types: atomic.Value would panic
	var limiter <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		defer t.Stop()
		limiter = t.C
	}
	var wg sync.WaitGroup
	for w := 0; w < o.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed+uint64(w), uint64(w)*7919+1)),
				all: commandsFor(o.Server, o.Skip, allCommands), nonIdem: commandsFor(o.Server, o.Skip, nonIdem),
				assignments: commandsFor(o.Server, o.Skip, assignments)}
			for ctx.Err() == nil {
				if limiter != nil {
					select {
					case <-ctx.Done():
						return
					case <-limiter:
					}
				}
				if err := g.step(ctx, c); err != nil {
					if ctx.Err() != nil {
						return
					}
					st.Errors.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				st.Ops.Add(1)
			}
		}(w)
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return st, *e
	}
	return st, nil
}

type gen struct {
	o   WorkOptions
	rng *rand.Rand
	// the command lists, less what o.Server lacks
	all, nonIdem, assignments []string
}

// key returns a key of type typ in group grp.
func (g *gen) key(typ string, grp int) string {
	return g.o.Prefix + typ + ":{g" + strconv.Itoa(grp) + "}:" + strconv.Itoa(g.rng.IntN(g.o.KeysPerGroup))
}

// keys returns n keys of one type: in one group, or in several when CrossSlot.
func (g *gen) keys(typ string, n int) []string {
	grp := g.rng.IntN(g.o.Groups)
	out := make([]string, n)
	for i := range out {
		if g.o.CrossSlot {
			grp = g.rng.IntN(g.o.Groups)
		}
		out[i] = g.key(typ, grp)
	}
	return out
}

func (g *gen) one(typ string) string { return g.keys(typ, 1)[0] }

// lowerHalf returns a key of type typ in one of the first half of the groups.
func (g *gen) lowerHalf(typ string) string { return g.key(typ, g.rng.IntN(max(1, g.o.Groups/2))) }

func (g *gen) val() string { return "v" + strconv.Itoa(g.rng.IntN(100000)) }

// ignorable reports replies that are part of the workload's normal life (a key of
// the wrong kind after a RENAME between kinds cannot happen: keys keep their type).
func ignorable(err error) bool {
	return err == nil || errors.Is(err, redis.Nil)
}

func (g *gen) do(ctx context.Context, c redis.UniversalClient, args ...any) error {
	err := c.Do(ctx, args...).Err()
	if ignorable(err) {
		return nil
	}
	return fmt.Errorf("loadgen: %v: %w", args[0], err)
}

var assignments = []string{"SETSTRING", "SETSTRINGPXAT", "DELSTRING", "SETCOUNTER", "DELLIST"}

var nonIdem = []string{"LPUSH", "RPUSH", "INCR", "APPEND", "HINCRBY", "ZINCRBY", "SETRANGE", "XADD"}

func (g *gen) step(ctx context.Context, c redis.UniversalClient) error {
	if g.o.NonIdempotentOnly {
		if g.o.Assignments && g.rng.IntN(4) == 0 {
			return g.command(ctx, c, g.assignments[g.rng.IntN(len(g.assignments))])
		}
		return g.command(ctx, c, g.nonIdem[g.rng.IntN(len(g.nonIdem))])
	}
	return g.command(ctx, c, g.all[g.rng.IntN(len(g.all))])
}

var allCommands = []string{
	"SET", "SETEX", "PSETEX", "SETNX", "SETPX", "SETPXAT", "APPEND", "SETRANGE", "GETSET", "GETDEL", "GETEX",
	"INCR", "INCRBY", "DECR", "DECRBY", "INCRBYFLOAT", "SETBIT", "BITOP", "MSET", "MSETNX",
	"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "DEL", "UNLINK", "RENAME", "RENAMENX", "COPY",
	"LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LINSERT", "LSET", "LREM", "LTRIM", "RPOPLPUSH", "LMOVE", "BLPOP",
	"SADD", "SREM", "SPOP", "SMOVE", "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE",
	"ZADD", "ZINCRBY", "ZREM", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZUNIONSTORE", "ZINTERSTORE",
	"HSET", "HMSET", "HSETNX", "HINCRBY", "HINCRBYFLOAT", "HDEL",
	"PFADD", "PFMERGE", "GEOADD", "XADD", "XDEL", "XTRIM", "XGROUP", "XACK", "XCLAIM",
	"MULTI", "EVAL", "PUBLISH",
}

func (g *gen) command(ctx context.Context, c redis.UniversalClient, name string) error {
	v := g.val()
	ttl := strconv.Itoa(3600 + g.rng.IntN(3600))
	switch name {
	case "SET":
		return g.do(ctx, c, "SET", g.one("s"), v)
	case "SETEX":
		return g.do(ctx, c, "SETEX", g.one("s"), ttl, v)
	case "PSETEX":
		return g.do(ctx, c, "PSETEX", g.one("s"), ttl+"000", v)
	case "SETNX":
		return g.do(ctx, c, "SETNX", g.one("s"), v)
	case "SETPX":
		return g.do(ctx, c, "SET", g.one("s"), v, "PX", ttl+"000")
	case "SETPXAT":
		return g.do(ctx, c, "SET", g.one("s"), v, "PXAT", strconv.FormatInt(time.Now().Add(2*time.Hour).UnixMilli(), 10))
	case "APPEND":
		return g.do(ctx, c, "APPEND", g.one("s"), v)
	case "SETRANGE":
		return g.do(ctx, c, "SETRANGE", g.one("s"), strconv.Itoa(g.rng.IntN(20)), v)
	case "GETSET":
		return g.do(ctx, c, "GETSET", g.one("s"), v)
	case "GETDEL":
		return g.do(ctx, c, "GETDEL", g.one("s"))
	case "GETEX":
		return g.do(ctx, c, "GETEX", g.one("s"), "EX", ttl)
	case "INCR":
		return g.do(ctx, c, "INCR", g.one("c"))
	case "INCRBY":
		return g.do(ctx, c, "INCRBY", g.one("c"), strconv.Itoa(g.rng.IntN(100)))
	case "DECR":
		return g.do(ctx, c, "DECR", g.one("c"))
	case "DECRBY":
		return g.do(ctx, c, "DECRBY", g.one("c"), strconv.Itoa(g.rng.IntN(100)))
	case "INCRBYFLOAT":
		return g.do(ctx, c, "INCRBYFLOAT", g.one("f"), "1.5")
	case "SETBIT":
		return g.do(ctx, c, "SETBIT", g.one("b"), strconv.Itoa(g.rng.IntN(512)), strconv.Itoa(g.rng.IntN(2)))
	case "BITOP":
		k := g.keys("b", 3)
		return g.do(ctx, c, "BITOP", []string{"AND", "OR", "XOR"}[g.rng.IntN(3)], k[0], k[1], k[2])
	case "MSET", "MSETNX":
		k := g.keys("s", 3)
		return g.do(ctx, c, name, k[0], v, k[1], v, k[2], v)
	case "EXPIRE":
		return g.do(ctx, c, "EXPIRE", g.one("s"), ttl)
	case "PEXPIRE":
		return g.do(ctx, c, "PEXPIRE", g.one("l"), ttl+"000")
	case "EXPIREAT":
		return g.do(ctx, c, "EXPIREAT", g.one("h"), strconv.FormatInt(time.Now().Add(3*time.Hour).Unix(), 10))
	case "PEXPIREAT":
		return g.do(ctx, c, "PEXPIREAT", g.one("z"), strconv.FormatInt(time.Now().Add(3*time.Hour).UnixMilli(), 10))
	case "PERSIST":
		return g.do(ctx, c, "PERSIST", g.one("s"))
	case "DEL":
		return g.do(ctx, c, "DEL", g.one("s"))
	case "DELLIST":
		return g.do(ctx, c, "DEL", g.lowerHalf("l"))
	case "SETCOUNTER":
		return g.do(ctx, c, "SET", g.lowerHalf("c"), strconv.Itoa(g.rng.IntN(1000)))
	case "SETSTRING":
		return g.do(ctx, c, "SET", g.lowerHalf("s"), v)
	case "SETSTRINGPXAT":
		return g.do(ctx, c, "SET", g.lowerHalf("s"), v, "PXAT", strconv.FormatInt(time.Now().Add(2*time.Hour).UnixMilli(), 10))
	case "DELSTRING":
		return g.do(ctx, c, "DEL", g.lowerHalf("s"))
	case "UNLINK":
		return g.do(ctx, c, "UNLINK", g.one("S"))
	case "RENAME", "RENAMENX":
		k := g.keys("l", 2)
		if k[0] == k[1] {
			return nil
		}
		err := c.Do(ctx, name, k[0], k[1]).Err()
		if err != nil && err.Error() == "ERR no such key" {
			return nil
		}
		if ignorable(err) {
			return nil
		}
		return fmt.Errorf("loadgen: %s: %w", name, err)
	case "COPY":
		k := g.keys("h", 2)
		if k[0] == k[1] {
			return nil
		}
		return g.do(ctx, c, "COPY", k[0], k[1], "REPLACE")
	case "LPUSH", "RPUSH":
		return g.do(ctx, c, name, g.one("l"), v, g.val())
	case "LPUSHX", "RPUSHX":
		return g.do(ctx, c, name, g.one("l"), v)
	case "LPOP", "RPOP":
		return g.do(ctx, c, name, g.one("l"))
	case "LINSERT":
		return g.do(ctx, c, "LINSERT", g.one("l"), "BEFORE", "v1", v)
	case "LSET":
		err := c.Do(ctx, "LSET", g.one("l"), "0", v).Err()
		if err != nil && (err.Error() == "ERR no such key" || err.Error() == "ERR index out of range") {
			return nil
		}
		if ignorable(err) {
			return nil
		}
		return fmt.Errorf("loadgen: LSET: %w", err)
	case "LREM":
		return g.do(ctx, c, "LREM", g.one("l"), "1", v)
	case "LTRIM":
		return g.do(ctx, c, "LTRIM", g.one("l"), "0", "50")
	case "RPOPLPUSH":
		k := g.keys("l", 2)
		return g.do(ctx, c, "RPOPLPUSH", k[0], k[1])
	case "LMOVE":
		k := g.keys("l", 2)
		return g.do(ctx, c, "LMOVE", k[0], k[1], "LEFT", "RIGHT")
	case "BLPOP":
		if !g.o.Server.has(6, 0) { // a timeout in seconds with decimals came with 6.0
			return g.do(ctx, c, "BLPOP", g.one("l"), "1")
		}
		return g.do(ctx, c, "BLPOP", g.one("l"), "0.01")
	case "SADD":
		return g.do(ctx, c, "SADD", g.one("S"), v, g.val())
	case "SREM":
		return g.do(ctx, c, "SREM", g.one("S"), v)
	case "SPOP":
		return g.do(ctx, c, "SPOP", g.one("S"))
	case "SMOVE":
		k := g.keys("S", 2)
		if k[0] == k[1] {
			return nil
		}
		return g.do(ctx, c, "SMOVE", k[0], k[1], "v"+strconv.Itoa(g.rng.IntN(100)))
	case "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE":
		k := g.keys("S", 3)
		return g.do(ctx, c, name, k[0], k[1], k[2])
	case "ZADD":
		return g.do(ctx, c, "ZADD", g.one("z"), strconv.Itoa(g.rng.IntN(1000)), v)
	case "ZINCRBY":
		return g.do(ctx, c, "ZINCRBY", g.one("z"), "2.5", "v"+strconv.Itoa(g.rng.IntN(50)))
	case "ZREM":
		return g.do(ctx, c, "ZREM", g.one("z"), v)
	case "ZREMRANGEBYRANK":
		return g.do(ctx, c, "ZREMRANGEBYRANK", g.one("z"), "0", "0")
	case "ZREMRANGEBYSCORE":
		return g.do(ctx, c, "ZREMRANGEBYSCORE", g.one("z"), "0", "10")
	case "ZREMRANGEBYLEX":
		return g.do(ctx, c, "ZREMRANGEBYLEX", g.one("z"), "[v1", "[v2")
	case "ZUNIONSTORE", "ZINTERSTORE":
		k := g.keys("z", 3)
		return g.do(ctx, c, name, k[0], "2", k[1], k[2], "WEIGHTS", "1", "2")
	case "HSET", "HMSET":
		return g.do(ctx, c, name, g.one("h"), "f"+strconv.Itoa(g.rng.IntN(20)), v)
	case "HSETNX":
		return g.do(ctx, c, "HSETNX", g.one("h"), "f"+strconv.Itoa(g.rng.IntN(20)), v)
	case "HINCRBY":
		return g.do(ctx, c, "HINCRBY", g.one("H"), "n"+strconv.Itoa(g.rng.IntN(5)), "3")
	case "HINCRBYFLOAT":
		return g.do(ctx, c, "HINCRBYFLOAT", g.one("H"), "x", "0.25")
	case "HDEL":
		return g.do(ctx, c, "HDEL", g.one("h"), "f"+strconv.Itoa(g.rng.IntN(20)))
	case "PFADD":
		return g.do(ctx, c, "PFADD", g.one("p"), v, g.val())
	case "PFMERGE":
		k := g.keys("p", 3)
		return g.do(ctx, c, "PFMERGE", k[0], k[1], k[2])
	case "GEOADD":
		return g.do(ctx, c, "GEOADD", g.one("g"), strconv.FormatFloat(g.rng.Float64()*300-150, 'f', 6, 64), strconv.FormatFloat(g.rng.Float64()*160-80, 'f', 6, 64), v)
	case "XADD":
		return g.do(ctx, c, "XADD", g.one("x"), "MAXLEN", "~", "500", "*", "f", v)
	case "XDEL":
		return g.do(ctx, c, "XDEL", g.one("x"), "1-1")
	case "XTRIM":
		return g.do(ctx, c, "XTRIM", g.one("x"), "MAXLEN", "100")
	case "XGROUP":
		k := g.one("x")
		err := c.Do(ctx, "XGROUP", "CREATE", k, "grp", "0", "MKSTREAM").Err()
		if err != nil && err.Error() == "BUSYGROUP Consumer Group name already exists" {
			return g.do(ctx, c, "XREADGROUP", "GROUP", "grp", "c"+strconv.Itoa(g.rng.IntN(3)), "COUNT", "2", "STREAMS", k, ">")
		}
		if ignorable(err) {
			return nil
		}
		return fmt.Errorf("loadgen: XGROUP: %w", err)
	case "XACK":
		return g.xpending(ctx, c, func(k, id string) error { return g.do(ctx, c, "XACK", k, "grp", id) })
	case "XCLAIM":
		return g.xpending(ctx, c, func(k, id string) error { return g.do(ctx, c, "XCLAIM", k, "grp", "c9", "0", id) })
	case "MULTI":
		k := g.keys("c", 2)
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, k[0])
			p.IncrBy(ctx, k[1], 2)
			// A list in the first counter's group: same slot for a cluster source.
			p.RPush(ctx, strings.Replace(k[0], ":c:", ":l:", 1), v)
			return nil
		})
		return err
	case "EVAL":
		if g.o.NoScripts {
			return g.do(ctx, c, "INCR", g.one("c"))
		}
		k := g.keys("c", 2)
		return g.do(ctx, c, "EVAL", "redis.call('INCR', KEYS[1]); return redis.call('INCRBY', KEYS[2], ARGV[1])", "2", k[0], k[1], "7")
	case "PUBLISH":
		return g.do(ctx, c, "PUBLISH", g.o.Prefix+"chan", v)
	}
	return fmt.Errorf("loadgen: unknown command %s", name)
}

// xpending runs f on one pending entry of a stream group, if there is one.
func (g *gen) xpending(ctx context.Context, c redis.UniversalClient, f func(k, id string) error) error {
	k := g.one("x")
	res, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: k, Group: "grp", Start: "-", End: "+", Count: 1}).Result()
	if err != nil || len(res) == 0 {
		return nil // no group or nothing pending yet
	}
	return f(k, res[0].ID)
}
