package translate

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// testDest is a minimal apply.Dest over a go-redis cluster client: commands go
// to the master of their slot (found through a key with that slot's tag). It
// also applies plain ops, one dedicated connection per op so that a MULTI
// group stays on one connection.
type testDest struct{ c *redis.ClusterClient }

func (d testDest) node(ctx context.Context, slot int) (*redis.Client, error) {
	return d.c.MasterForKey(ctx, "{"+slotTag(slot)+"}")
}

func (d testDest) Do(ctx context.Context, slot int, args ...[]byte) (resp.Value, error) {
	n, err := d.node(ctx, slot)
	if err != nil {
		return resp.Value{}, err
	}
	v, err := n.Do(ctx, anyArgs(args)...).Result()
	if errors.Is(err, redis.Nil) {
		return resp.Value{Type: resp.TypeBulkString, Null: true}, nil
	}
	if rerr := redis.Error(nil); errors.As(err, &rerr) {
		// As the applier's Dest does: an error reply is a *conn.ReplyError.
		return resp.Value{}, &conn.ReplyError{Msg: rerr.Error()}
	}
	if err != nil {
		return resp.Value{}, err
	}
	return toValue(v), nil
}

func (d testDest) DoAll(ctx context.Context, args ...[]byte) error {
	return d.c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		return n.Do(ctx, anyArgs(args)...).Err()
	})
}

func (d testDest) Table() *slots.Table { return nil }

// apply runs ops as the applier would, in order.
func (d testDest) apply(ctx context.Context, t *testing.T, ops []apply.Op) {
	t.Helper()
	for _, op := range ops {
		if op.Barrier != nil {
			if err := op.Barrier(ctx, d); err != nil {
				t.Fatalf("barrier %q: %v", op.Key, err)
			}
			continue
		}
		cmds := parseCmds(t, op.Cmd)
		if len(cmds) != op.N {
			t.Fatalf("op N=%d but %d commands", op.N, len(cmds))
		}
		if op.Slot == apply.AllMasters {
			for _, c := range cmds {
				if err := d.DoAll(ctx, c...); err != nil {
					t.Fatalf("%q on all masters: %v", c[0], err)
				}
			}
			continue
		}
		n, err := d.node(ctx, op.Slot)
		if err != nil {
			t.Fatal(err)
		}
		conn := n.Conn()
		for _, c := range cmds {
			if err := conn.Do(ctx, anyArgs(c)...).Err(); err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("%s: %v", formatOp(op), err)
			}
		}
		conn.Close()
	}
}

func parseCmds(t *testing.T, b []byte) [][][]byte {
	t.Helper()
	var out [][][]byte
	for len(b) > 0 {
		args, n, err := resp.ParseCommand(b, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, args)
		b = b[n:]
	}
	return out
}

func anyArgs(args [][]byte) []any {
	a := make([]any, len(args))
	for i, x := range args {
		a[i] = string(x)
	}
	return a
}

func toValue(v any) resp.Value {
	switch x := v.(type) {
	case nil:
		return resp.Value{Type: resp.TypeBulkString, Null: true}
	case string:
		return resp.Value{Type: resp.TypeBulkString, Str: []byte(x)}
	case int64:
		return resp.Value{Type: resp.TypeInteger, Int: x}
	case []any:
		out := resp.Value{Type: resp.TypeArray}
		for _, e := range x {
			out.Elems = append(out.Elems, toValue(e))
		}
		return out
	}
	return resp.Value{Type: resp.TypeBulkString, Str: []byte(fmt.Sprint(v))}
}

// snapshotKey renders a key's type, value and whether it has an expire.
func snapshotKey(ctx context.Context, c redis.Cmdable, key string) string {
	typ := c.Type(ctx, key).Val()
	var val any
	switch typ {
	case "none":
		return "none"
	case "string":
		val = c.Get(ctx, key).Val()
	case "list":
		val = c.LRange(ctx, key, 0, -1).Val()
	case "set":
		m := c.SMembers(ctx, key).Val()
		slices.Sort(m)
		val = m
	case "zset":
		val = c.ZRangeWithScores(ctx, key, 0, -1).Val()
	case "hash":
		val = c.HGetAll(ctx, key).Val()
	case "stream":
		var groups []string
		for _, g := range c.XInfoGroups(ctx, key).Val() {
			groups = append(groups, fmt.Sprintf("%s pending=%d last=%s", g.Name, g.Pending, g.LastDeliveredID))
		}
		val = fmt.Sprint(c.XRange(ctx, key, "-", "+").Val(), groups)
	default:
		val = c.Dump(ctx, key).Val()
	}
	ttl := c.PTTL(ctx, key).Val()
	return fmt.Sprintf("%s %v ttl=%v", typ, val, ttl > 0)
}

// TestEmulationMatchesStandalone runs a standalone source's commands, many of
// them multi-key across slots, on a standalone redis-server and, through the
// translator (split, emulation barriers, per-slot transactions), on a 3-master
// cluster, and compares every key.
func TestEmulationMatchesStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := redistest.Start(t, redistest.Options{}).Client()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dest := testDest{c: cl.Client()}

	stream := []string{
		"SET a hello", "SET b world", "RENAME a a2", "RENAME b a2",
		"SET r1 v", "RENAMENX r1 r2",
		"SADD s1 x y z", "SADD s2 y z w", "SUNIONSTORE su s1 s2", "SINTERSTORE si s1 s2",
		"SDIFFSTORE sd s1 s2", "SUNIONSTORE s1 s1 s2", "SMOVE s2 s3 w",
		"SET empty x", "SINTERSTORE empty s1 nosuchset",
		"RPUSH l1 1 2 3 4", "LMOVE l1 l2 LEFT RIGHT", "RPOPLPUSH l1 l2", "LMOVE l2 l2 LEFT RIGHT",
		"RPOPLPUSH l1 l1",
		"SET bit1 abc", "SET bit2 xyz", "BITOP AND bo bit1 bit2", "BITOP OR bit1 bit1 bit2", "BITOP NOT bn bit2",
		"SET c1 v PX 100000", "COPY c1 c2", "COPY bit2 c2 REPLACE", "COPY c1 c3",
		"PFADD h1 a b", "PFADD h2 c", "PFMERGE h3 h1 h2", "PFMERGE h1 h2",
		"ZADD z1 1 a 2 b", "ZADD z2 3 b 4 c", "ZUNIONSTORE zu 2 z1 z2 WEIGHTS 1 10", "ZINTERSTORE zi 2 z1 z2",
		"ZDIFFSTORE zd 2 z1 z2", "ZRANGESTORE zr z2 0 0",
		"MSET m1 1 m2 2 m3 3", "DEL m1 m2 nosuch", "MSETNX n1 1 n2 2", "UNLINK n1 n2",
		"RPUSH sl 3 1 2", "SORT sl STORE sorted",
		// SORT with BY/GET patterns: a cluster refuses them (7.4 unless the
		// pattern's slot is the key's); xsync evaluates them.
		"RPUSH sl2 3 1 2 10", "SET w_1 5", "SET w_2 1", "SET w_3 9", "SET w_10 -1.5",
		"HSET hw_1 f b", "HSET hw_2 f a", "HSET hw_3 f c",
		"SORT sl2 BY w_* STORE so1", "SORT sl2 BY w_* DESC GET # GET hw_*->f STORE so2",
		"SORT sl2 BY hw_*->f ALPHA STORE so3", "SORT sl2 BY nosort DESC LIMIT 1 2 GET w_* STORE so4",
		"SADD ss2 b a c", "SORT ss2 BY nosort STORE so5", "ZADD zs 1 c 2 a 3 b",
		"SORT zs BY nosort DESC GET # GET w_* STORE so6", "SET so7 x EX 100", "SORT zs ALPHA GET hw_* STORE so7",
		"SORT sl2 BY w_* LIMIT 1 -1 STORE sl2", "SORT nosuch BY w_* STORE so1",
		"RPUSH {t}l 2 1", "SET {t}w_1 3", "SORT {t}l BY {t}w_* STORE {t}d",
		"GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
		"GEORADIUS g 15 37 200 km STORE gstore",
		// Both STORE and STOREDIST: the last one wins, the other key is left as it is.
		"GEORADIUS g 15 37 200 km STORE gstore STOREDIST gdist",
		"GEORADIUSBYMEMBER g Palermo 200 km STOREDIST gdist STORE gstore2",
		"EVAL \"redis.call('set', KEYS[1], redis.call('get', KEYS[2])) return redis.call('incr', KEYS[3])\" 3 e1 c1 ectr",
		"MULTI", "SET t1 1", "INCR t2", "RENAME t1 t3", "LPUSH l2 z", "EXEC",
		"HSET hh f v", "RENAME hh hh2",
		`EVAL "redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', KEYS[2])" 2 es1 es2 x`,
		"EVALSHA " + sha1hex("redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', KEYS[2])") + " 2 es3 es4 y",
	}
	tr, err := New(Config{SourceKind: SourceStandalone})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for i, line := range stream {
		args, err := splitArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Do(ctx, anyArgs(args)...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reference %s: %v", line, err)
		}
		idx, _ := slots.KeyIndexes(args, nil)
		for _, k := range idx {
			keys[string(args[k])] = true
		}
		ops, err := tr.Translate(0, args, int64(i+1), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		dest.apply(ctx, t, ops)
	}
	if s := tr.Stats(); s.Emulated < 20 || s.Split < 3 || s.TxSplit != 1 {
		t.Errorf("stats %+v: expected emulations, splits and a split transaction", s)
	}
	present := 0
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		want := snapshotKey(ctx, ref, k)
		if want != "none" {
			present++
		}
		got := snapshotKey(ctx, dest.c, k)
		if got != want {
			t.Errorf("key %q: cluster %s, standalone %s", k, got, want)
		}
	}
	if present < 35 {
		t.Errorf("only %d keys exist on the reference: the stream did not run", present)
	}
	// No temporary key is left behind.
	err = dest.c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		if ks := n.Keys(ctx, "__xsync:*").Val(); len(ks) > 0 {
			return fmt.Errorf("%s keeps %v", n.Options().Addr, ks)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func sha1hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestFlushBarrier checks that FLUSHALL from one cluster source shard empties
// only that shard's slots, never internal keys, and that FLUSHDB of a db
// mapped to a prefix deletes only that prefix.
func TestFlushBarrier(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dest := testDest{c: cl.Client()}
	c := dest.c
	var all []string
	for i := 0; i < 2000; i++ {
		k := fmt.Sprintf("k%d", i)
		all = append(all, k)
		c.Set(ctx, k, "v", 0)
	}
	for _, s := range []int{0, 100, 6000, 12000} {
		c.Set(ctx, "__xsync:ckpt:{"+slotTag(s)+"}", "1", 0)
	}
	c.Set(ctx, "db3:k1", "v", 0)

	owned := []slots.Range{{Start: 0, End: 5460}, {Start: 12000, End: 12100}}
	tr, err := New(Config{SourceKind: SourceCluster, Source: 0, SourceSlots: owned, Exclude: []string{"k1999"}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := tr.Translate(0, [][]byte{[]byte("FLUSHALL")}, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dest.apply(ctx, t, ops)
	in := func(s int) bool { return s <= 5460 || s >= 12000 && s <= 12100 }
	for _, k := range all {
		exists := c.Exists(ctx, k).Val() == 1
		if want := !in(slots.SlotString(k)) || k == "k1999"; exists != want {
			t.Errorf("%s (slot %d): exists=%v, want %v", k, slots.SlotString(k), exists, want)
		}
	}
	for _, s := range []int{0, 100, 6000, 12000} {
		if c.Exists(ctx, "__xsync:ckpt:{"+slotTag(s)+"}").Val() != 1 {
			t.Errorf("internal key of slot %d deleted", s)
		}
	}

	// Standalone source, db 3 mapped to "db3:": FLUSHDB in db 3 deletes db3:* only.
	c.Set(ctx, "db3:k1", "v", 0)
	c.Set(ctx, "db3:{x}", "v", 0)
	tr, err = New(Config{SourceKind: SourceStandalone, DBs: map[int]Target{0: {}, 3: {Prefix: "db3:"}}})
	if err != nil {
		t.Fatal(err)
	}
	left := c.DBSize(ctx).Val()
	ops, err = tr.Translate(3, [][]byte{[]byte("FLUSHDB")}, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dest.apply(ctx, t, ops)
	if c.Exists(ctx, "db3:k1", "db3:{x}").Val() != 0 {
		t.Error("db3 keys survived FLUSHDB")
	}
	if got := c.DBSize(ctx).Val(); got != left-2 {
		t.Errorf("FLUSHDB of db3 deleted %d other keys", left-2-got)
	}
}
