package fidelity

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/slots"
)

// internalPrefix is where xsync keeps its own keys on the destination.
const internalPrefix = "__xsync:"

// keyState is what the comparison reads of one key.
type keyState struct {
	typ   string
	value string // digest or canonical content
	ttl   time.Duration
}

func (s keyState) String() string {
	if s.typ == "none" {
		return "none"
	}
	ttl := "no ttl"
	if s.ttl >= 0 {
		ttl = "ttl " + s.ttl.Round(time.Second).String()
	}
	v := s.value
	if len(v) > 300 {
		v = v[:300] + "..."
	}
	return fmt.Sprintf("%s %s (%s)", s.typ, v, ttl)
}

// same compares two states, TTLs within tol.
func same(a, b keyState, tol time.Duration) bool {
	if a.typ != b.typ || a.value != b.value {
		return false
	}
	if (a.ttl < 0) != (b.ttl < 0) {
		return false
	}
	d := a.ttl - b.ttl
	return d <= tol && -d <= tol
}

// side reads keys of one side: a function from (db, key) to the client
// holding it, and the clients to SCAN per db.
type side struct {
	scan  func(db int) []*redis.Client
	owner func(db int, key string) *redis.Client
}

func (e *env) sourceSide() side {
	return side{
		scan:  func(db int) []*redis.Client { return e.dbClients(e.srcMasters, db) },
		owner: func(db int, key string) *redis.Client { return e.dbClient(e.srcMasters[e.slotMaster(key)], db) },
	}
}

func (e *env) replicaSide() side {
	return side{
		scan:  func(db int) []*redis.Client { return e.dbClients(e.replicas, db) },
		owner: func(db int, key string) *redis.Client { return e.dbClient(e.replicas[e.slotMaster(key)], db) },
	}
}

func (e *env) destSide() side {
	if !e.dstCluster {
		return side{
			scan:  func(db int) []*redis.Client { return e.dbClients(e.dstMasters, db) },
			owner: func(db int, key string) *redis.Client { return e.dbClient(e.dstMasters[0], db) },
		}
	}
	bySlot := func(key string) *redis.Client { return e.dstOwner(slots.SlotString(key)) }
	return side{
		scan:  func(int) []*redis.Client { return e.dstMasters },
		owner: func(_ int, key string) *redis.Client { return bySlot(key) },
	}
}

// dstOwner finds the destination master of slot (CLUSTER SLOTS, cached).
func (e *env) dstOwner(slot int) *redis.Client {
	if e.dstSlots == nil {
		e.dstSlots = make([]int, slots.NumSlots)
		idx := map[string]int{}
		for i, m := range e.dstMasters {
			idx[m.Options().Addr] = i
		}
		//lint:ignore SA1019 CLUSTER SHARDS is 7.0+; the setups run older servers too
		rs, err := e.dstMasters[0].ClusterSlots(context.Background()).Result()
		if err != nil {
			e.t.Fatalf("CLUSTER SLOTS: %v", err)
		}
		for _, r := range rs {
			for s := r.Start; s <= r.End; s++ {
				e.dstSlots[s] = idx[r.Nodes[0].Addr]
			}
		}
	}
	return e.dstMasters[e.dstSlots[slot]]
}

// dbClient returns a client of c's server on db (cached).
func (e *env) dbClient(c *redis.Client, db int) *redis.Client {
	if db == 0 {
		return c
	}
	k := fmt.Sprintf("%s/%d", c.Options().Addr, db)
	if d, ok := e.dbc[k]; ok {
		return d
	}
	o := *c.Options()
	o.DB = db
	d := redis.NewClient(&o)
	if e.dbc == nil {
		e.dbc = map[string]*redis.Client{}
		e.t.Cleanup(func() {
			for _, c := range e.dbc {
				c.Close()
			}
		})
	}
	e.dbc[k] = d
	return d
}

func (e *env) dbClients(cs []*redis.Client, db int) []*redis.Client {
	out := make([]*redis.Client, len(cs))
	for i, c := range cs {
		out[i] = e.dbClient(c, db)
	}
	return out
}

// keys lists a side's keys of db (xsync's own excluded).
func (s side) keys(ctx context.Context, db int) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range s.scan(db) {
		it := c.Scan(ctx, 0, "*", 1000).Iterator()
		for it.Next(ctx) {
			if k := it.Val(); !strings.HasPrefix(k, internalPrefix) {
				out[k] = true
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// read reads one key: type, content, TTL.
func read(ctx context.Context, c *redis.Client, key string, digest bool) (keyState, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return keyState{}, err
	}
	st := keyState{typ: typ, ttl: -1}
	if typ == "none" {
		return st, nil
	}
	if ttl, err := c.PTTL(ctx, key).Result(); err == nil && ttl > 0 {
		st.ttl = ttl
	}
	if digest && typ != "stream" {
		if v, err := c.Do(ctx, "DEBUG", "DIGEST-VALUE", key).StringSlice(); err == nil && len(v) == 1 {
			st.value = "digest " + v[0]
			return st, nil
		}
	}
	st.value, err = canonical(ctx, c, typ, key, digest)
	return st, err
}

// canonical reads a value in a form that does not depend on the encoding.
// full is false when the sides run different versions: stream fields that
// older versions do not have (7.0's entries-added, max-deleted-entry-id,
// entries-read) are left out then, and a -0 score reads as 0.
func canonical(ctx context.Context, c *redis.Client, typ, key string, full bool) (string, error) {
	switch typ {
	case "string":
		v, err := c.Get(ctx, key).Result()
		return fmt.Sprintf("%q", v), err
	case "list":
		v, err := c.LRange(ctx, key, 0, -1).Result()
		return fmt.Sprintf("%q", v), err
	case "set":
		v, err := c.SMembers(ctx, key).Result()
		sort.Strings(v)
		return fmt.Sprintf("%q", v), err
	case "zset":
		v, err := c.ZRangeWithScores(ctx, key, 0, -1).Result()
		if !full {
			// Before 7.0 a score may be -0; 7.0 stores 0 (docs/operations.md,
			// "Versions"): equal as numbers, not a difference of xsync.
			for i := range v {
				if v[i].Score == 0 {
					v[i].Score = 0
				}
			}
		}
		return fmt.Sprint(v), err
	case "hash":
		v, err := c.HGetAll(ctx, key).Result()
		ks := make([]string, 0, len(v))
		for k := range v {
			ks = append(ks, k+"="+v[k])
		}
		sort.Strings(ks)
		return fmt.Sprintf("%q", ks), err
	case "stream":
		return canonicalStream(ctx, c, key, full)
	}
	v, err := c.Dump(ctx, key).Result()
	return fmt.Sprintf("%q", v), err
}

// canonicalStream reads a stream's entries, metadata and groups (without
// the times of deliveries and of consumers' activity, which differ).
func canonicalStream(ctx context.Context, c *redis.Client, key string, full bool) (string, error) {
	var b strings.Builder
	ents, err := c.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		return "", err
	}
	fmt.Fprint(&b, ents)
	if info, err := c.Do(ctx, "XINFO", "STREAM", key).Slice(); err == nil {
		for i := 0; i+1 < len(info); i += 2 {
			switch info[i] {
			case "length", "last-generated-id":
				fmt.Fprintf(&b, " %v=%v", info[i], info[i+1])
			case "max-deleted-entry-id", "entries-added":
				if full {
					fmt.Fprintf(&b, " %v=%v", info[i], info[i+1])
				}
			}
		}
	}
	groups, err := c.XInfoGroups(ctx, key).Result()
	if err != nil {
		return b.String(), nil
	}
	for _, g := range groups {
		fmt.Fprintf(&b, " group %s consumers=%d pending=%d last=%s", g.Name, g.Consumers, g.Pending, g.LastDeliveredID)
		if full {
			fmt.Fprintf(&b, " read=%d", g.EntriesRead)
		}
		pend, _ := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: g.Name, Start: "-", End: "+", Count: 1000}).Result()
		for _, p := range pend {
			fmt.Fprintf(&b, " pel %s %s %d", p.ID, p.Consumer, p.RetryCount)
		}
		cons, _ := c.XInfoConsumers(ctx, key, g.Name).Result()
		for _, cn := range cons {
			fmt.Fprintf(&b, " consumer %s pending=%d", cn.Name, cn.Pending)
		}
	}
	return b.String(), nil
}

// Difference is a key where the destination differs from the native
// replica (the reference), or the replicator stopping.
type Difference struct {
	DB       int
	Key      string
	Source   string
	Replica  string
	Dest     string
	Err      string // the replicator's error, when it stopped
	Sequence []Unit // the shortest command sequence found that shows it
	Seed     uint64
}

func (d Difference) String() string {
	var b strings.Builder
	if d.Err != "" {
		fmt.Fprintf(&b, "replicator stopped: %s\n", d.Err)
	} else {
		fmt.Fprintf(&b, "db %d key %q:\n  source      %s\n  replica     %s\n  destination %s\n", d.DB, d.Key, d.Source, d.Replica, d.Dest)
	}
	fmt.Fprintf(&b, "  seed %d, %d units to replay:\n", d.Seed, len(d.Sequence))
	for _, u := range d.Sequence {
		fmt.Fprintf(&b, "    %s\n", u)
	}
	return b.String()
}

// compare reads every key of every db on the three sides. It returns the
// keys where the destination differs from the replica, and how many keys
// differ between the source and its replica (effects no replica sees).
func (e *env) compare(ctx context.Context) ([]Difference, int, int, error) {
	src, rep, dst := e.sourceSide(), e.replicaSide(), e.destSide()
	var diffs []Difference
	unreplicated, total := 0, 0
	tol := e.opts.TTLTolerance
	for db := 0; db < e.dbs; db++ {
		if e.opts.Debug {
			fmt.Fprintf(e.opts.Log, "db %d: dbsize source %d replica %d\n", db, e.dbClient(e.srcMasters[0], db).DBSize(ctx).Val(), e.dbClient(e.replicas[0], db).DBSize(ctx).Val())
		}
		all := map[string]bool{}
		for _, s := range []side{src, rep, dst} {
			ks, err := s.keys(ctx, db)
			if err != nil {
				return nil, 0, 0, err
			}
			for k := range ks {
				all[k] = true
			}
		}
		for k := range all {
			total++
			ss, err := read(ctx, src.owner(db, k), k, e.digest)
			if err != nil {
				return nil, 0, 0, err
			}
			rs, err := read(ctx, rep.owner(db, k), k, e.digest)
			if err != nil {
				return nil, 0, 0, err
			}
			ds, err := read(ctx, dst.owner(db, k), k, e.digest)
			if err != nil {
				return nil, 0, 0, err
			}
			if !same(ss, rs, tol) {
				unreplicated++
				if unreplicated <= 3 {
					fmt.Fprintf(e.opts.Log, "source and replica differ: db %d key %q: source %s, replica %s\n", db, k, ss, rs)
				}
			}
			if !same(rs, ds, tol) {
				diffs = append(diffs, Difference{DB: db, Key: k, Source: ss.String(), Replica: rs.String(), Dest: ds.String()})
			}
		}
	}
	sort.Slice(diffs, func(i, j int) bool {
		return diffs[i].DB < diffs[j].DB || diffs[i].DB == diffs[j].DB && diffs[i].Key < diffs[j].Key
	})
	return diffs, unreplicated, total, nil
}
