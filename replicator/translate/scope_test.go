package translate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// tableDest is a testDest that also knows the destination's slot table, as
// the applier does (a scoped flush SCANs each master).
type tableDest struct {
	testDest
	t *slots.Table
}

func (d tableDest) Table() *slots.Table { return d.t }

func clusterTable(ctx context.Context, t *testing.T, cl *redistest.Cluster) *slots.Table {
	t.Helper()
	v, err := cl.Masters()[0].Client().Do(ctx, "CLUSTER", "SLOTS").Result() // SHARDS needs 7.0
	if err != nil {
		t.Fatal(err)
	}
	topo, err := slots.ParseClusterSlots(toValue(v))
	if err != nil {
		t.Fatal(err)
	}
	return slots.NewTable(topo)
}

// TestScopedFlush: two jobs share a 3-master destination, job a with
// KeyPrefix "a:" (from a cluster source shard owning slots 0-8000 of the
// source names), job b with its own keys. FLUSHALL in a's stream deletes
// exactly a's keys of that shard's source slots (hash tags kept), never b's,
// never internal keys; the same job unscoped refuses while others exist.
func TestScopedFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	d := tableDest{testDest{c: cl.Client()}, clusterTable(ctx, t, cl)}
	c := d.c
	owned := []slots.Range{{Start: 0, End: 8000}}
	tr, err := New(Config{SourceKind: SourceCluster, SourceSlots: owned, KeyPrefix: "a:",
		Others: []Owner{{Name: "b", Prefix: "b:"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Names as the translator maps them: a tag stays the hashed part.
	ops, err := tr.Translate(0, [][]byte{[]byte("SET"), []byte("{u7}:cart"), []byte("1")}, 1, time.Now())
	if err != nil || len(ops) != 1 || string(ops[0].Key) != "a:{u7}:cart" || ops[0].Slot != slots.SlotString("{u7}") {
		t.Fatalf("SET {u7}:cart: %v %q slot %d", err, ops[0].Key, ops[0].Slot)
	}
	var src []string
	for i := 0; i < 3000; i++ {
		k := fmt.Sprintf("k%d", i)
		if i%3 == 0 {
			k = fmt.Sprintf("{t%d}:k", i)
		}
		src = append(src, k)
		c.Set(ctx, "a:"+k, "v", 0)
		c.Set(ctx, "b:"+k, "v", 0)
	}
	c.Set(ctx, "__xsync:ckpt:{"+slotTag(5)+"}", "1", 0)
	ops, err = tr.Translate(0, [][]byte{[]byte("FLUSHALL")}, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].Barrier == nil {
		t.Fatalf("FLUSHALL: %d ops, want one barrier", len(ops))
	}
	if err := ops[0].Barrier(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, k := range src {
		want := slots.SlotString(k) > 8000
		if got := c.Exists(ctx, "a:"+k).Val() == 1; got != want {
			t.Errorf("a:%s (source slot %d): exists=%v, want %v", k, slots.SlotString(k), got, want)
		}
		if c.Exists(ctx, "b:"+k).Val() != 1 {
			t.Errorf("b:%s deleted by a's flush", k)
		}
	}
	if c.Exists(ctx, "__xsync:ckpt:{"+slotTag(5)+"}").Val() != 1 {
		t.Error("internal key deleted")
	}

	// A write into b's keys is a collision: counted (replace), or refused (stop).
	tb, err := New(Config{SourceKind: SourceStandalone, Others: []Owner{{Name: "b", Prefix: "b:"}}, Collision: Stop})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Translate(0, [][]byte{[]byte("SET"), []byte("b:k1"), []byte("x")}, 1, time.Now()); !errors.Is(err, ErrPolicy) {
		t.Errorf("collision under Stop: %v, want ErrPolicy", err)
	}
	tb, _ = New(Config{SourceKind: SourceStandalone, Others: []Owner{{Name: "b", Prefix: "b:"}}})
	if ops, err := tb.Translate(0, [][]byte{[]byte("SET"), []byte("b:k1"), []byte("x")}, 1, time.Now()); err != nil || len(ops) != 1 {
		t.Errorf("collision under Apply: %v, %d ops", err, len(ops))
	}
	if n := tb.Stats().Collisions; n != 1 {
		t.Errorf("collisions %d, want 1", n)
	}
	// MOVE between dbs mapped to prefixes renames into another job's keys.
	tm, _ := New(Config{SourceKind: SourceStandalone, DBs: map[int]Target{0: {}, 1: {Prefix: "b:"}},
		Others: []Owner{{Name: "b", Prefix: "b:"}}, Collision: Stop})
	if _, err := tm.Translate(0, [][]byte{[]byte("MOVE"), []byte("k"), []byte("1")}, 1, time.Now()); !errors.Is(err, ErrPolicy) {
		t.Errorf("MOVE into another job's keys under Stop: %v, want ErrPolicy", err)
	}

	// Unscoped, with another job registered: the flush refuses and deletes nothing.
	tu, _ := New(Config{SourceKind: SourceStandalone, SharedGuard: func(context.Context, apply.Dest) ([]string, error) {
		return []string{"b"}, nil
	}})
	ops, _ = tu.Translate(0, [][]byte{[]byte("FLUSHALL")}, 10, time.Now())
	before := c.DBSize(ctx).Val()
	if err := ops[0].Barrier(ctx, d); !errors.Is(err, ErrShared) || !strings.Contains(err.Error(), "--key-prefix") {
		t.Errorf("unscoped flush on a shared destination: %v", err)
	}
	if after := c.DBSize(ctx).Val(); after != before {
		t.Errorf("refused flush deleted %d keys", before-after)
	}
}

// standaloneDest is an apply.Dest over one standalone server: every slot is
// its own, and the connection keeps its SELECTed db between calls as the
// applier's control connection does.
type standaloneDest struct{ c *redis.Conn }

func (d standaloneDest) Do(ctx context.Context, slot int, args ...[]byte) (resp.Value, error) {
	v, err := d.c.Do(ctx, anyArgs(args)...).Result()
	if errors.Is(err, redis.Nil) {
		return resp.Value{Type: resp.TypeBulkString, Null: true}, nil
	}
	if err != nil {
		return resp.Value{}, err
	}
	return toValue(v), nil
}

func (d standaloneDest) DoAll(ctx context.Context, args ...[]byte) error {
	_, err := d.Do(ctx, 0, args...)
	return err
}

func (d standaloneDest) Table() *slots.Table { return nil }

// TestScopedFlushStandalone: a standalone destination with dbs 0 and 2 synced
// under KeyPrefix "a:": FLUSHALL deletes a:* in both dbs, nothing else;
// FLUSHDB of db 2 only a:* of db 2.
func TestScopedFlushStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := redistest.Start(t, redistest.Options{})
	conn := s.Client().Conn()
	defer conn.Close()
	d := standaloneDest{conn}
	put := func(db int, keys ...string) {
		for _, k := range keys {
			conn.Select(ctx, db)
			conn.Set(ctx, k, "v", 0)
		}
		conn.Select(ctx, 0)
	}
	count := func(db int, pat string) int {
		conn.Select(ctx, db)
		defer conn.Select(ctx, 0)
		return len(conn.Keys(ctx, pat).Val())
	}
	put(0, "a:k1", "a:{t}2", "b:k1", "__xsync:ckpt:{x}")
	put(2, "a:k1", "a:k2", "b:k1")
	tr, err := New(Config{SourceKind: SourceStandalone, DestKind: DestStandalone, KeyPrefix: "a:", DBs: map[int]Target{0: {DB: 0}, 2: {DB: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := tr.Translate(2, [][]byte{[]byte("FLUSHDB")}, 5, time.Now())
	if err != nil || len(ops) != 1 {
		t.Fatalf("FLUSHDB: %v, %d ops", err, len(ops))
	}
	if err := ops[0].Barrier(ctx, d); err != nil {
		t.Fatal(err)
	}
	if count(2, "a:*") != 0 || count(2, "b:*") != 1 || count(0, "a:*") != 2 {
		t.Fatalf("FLUSHDB of db 2: db2 a:%d b:%d, db0 a:%d", count(2, "a:*"), count(2, "b:*"), count(0, "a:*"))
	}
	ops, _ = tr.Translate(0, [][]byte{[]byte("FLUSHALL")}, 6, time.Now())
	if err := ops[0].Barrier(ctx, d); err != nil {
		t.Fatal(err)
	}
	if count(0, "a:*") != 0 || count(0, "b:*") != 1 || count(0, "__xsync:*") != 1 || count(2, "b:*") != 1 {
		t.Fatalf("FLUSHALL: db0 a:%d b:%d internal:%d, db2 b:%d", count(0, "a:*"), count(0, "b:*"), count(0, "__xsync:*"), count(2, "b:*"))
	}
	if v, _ := conn.Do(ctx, "CLIENT", "INFO").Text(); !strings.Contains(v, "db=0") {
		t.Errorf("the flush left another db selected: %s", v)
	}
}
