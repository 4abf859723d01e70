// Package registry records, on the destination, every xsync job that writes to
// it, so that jobs merging several sources into one destination know they are
// not alone: a job whose keys cannot be told apart from the others' must not
// empty slots (FLUSHALL, a resync), and writes into another job's keys are
// collisions.
//
// The registry is one hash at a fixed name, outside every internal prefix so
// that each job finds it whatever its own prefix is:
//
//	__xsync_registry   field <internal prefix>   value JSON Entry
//
// A job writes its field when it starts (HSET) and 'xsync reset' removes it
// (HDEL). Jobs that predate the registry, or whose entry was removed while
// their checkpoints stayed, are found by their checkpoint keys
// (<prefix>ckpt:{<tag>}, SCAN MATCH *ckpt:{* on every master).
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// Key is the name of the registry hash on the destination.
const Key = "__xsync_registry"

// Source is one source master of a job.
type Source struct {
	Addr   string `json:"addr"`
	ReplID string `json:"replid,omitempty"`
}

// Entry is one job in the registry.
type Entry struct {
	// InternalPrefix is the job's --internal-prefix: its field in the hash.
	InternalPrefix string `json:"internal_prefix"`
	// KeyPrefix is the job's --key-prefix ("" when none).
	KeyPrefix string `json:"key_prefix,omitempty"`
	// Owns are the job's --owns globs.
	Owns []string `json:"owns,omitempty"`
	// DBs is the job's --dbs mapping as given ("" when the default).
	DBs string `json:"dbs,omitempty"`
	// Sources are the source masters the job follows, with their replication ids.
	Sources []Source `json:"sources"`
	// Started is when the job last started (unix seconds).
	Started int64 `json:"started"`
	// Host is the host name of the process.
	Host string `json:"host,omitempty"`
	// Unregistered marks a job found only by its checkpoint keys (not stored).
	Unregistered bool `json:"-"`
}

// Scoped reports whether the job's keys are identifiable.
func (e Entry) Scoped() bool { return e.KeyPrefix != "" || len(e.Owns) > 0 }

// String describes the job for logs and errors.
func (e Entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %q", e.InternalPrefix)
	if e.Unregistered {
		b.WriteString(" (checkpoint keys only, not registered)")
		return b.String()
	}
	addrs := make([]string, len(e.Sources))
	for i, s := range e.Sources {
		addrs[i] = s.Addr
	}
	fmt.Fprintf(&b, " source=%s", strings.Join(addrs, "|"))
	switch {
	case e.KeyPrefix != "" && len(e.Owns) > 0:
		fmt.Fprintf(&b, " key_prefix=%q owns=%q", e.KeyPrefix, strings.Join(e.Owns, ","))
	case e.KeyPrefix != "":
		fmt.Fprintf(&b, " key_prefix=%q", e.KeyPrefix)
	case len(e.Owns) > 0:
		fmt.Fprintf(&b, " owns=%q", strings.Join(e.Owns, ","))
	default:
		b.WriteString(" keys=unscoped")
	}
	if e.Started > 0 {
		fmt.Fprintf(&b, " started=%s", time.Unix(e.Started, 0).UTC().Format(time.RFC3339))
	}
	return b.String()
}

// Info is the entry as one INFO value: comma-separated key=value pairs.
func (e Entry) Info() string {
	addrs := make([]string, len(e.Sources))
	for i, s := range e.Sources {
		addrs[i] = s.Addr
	}
	return fmt.Sprintf("internal_prefix=%s,key_prefix=%s,owns=%s,source=%s,registered=%d,started=%d",
		e.InternalPrefix, e.KeyPrefix, strings.Join(e.Owns, "|"), strings.Join(addrs, "|"), b2i(!e.Unregistered), e.Started)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Owner is the entry as a translate.Owner.
func (e Entry) Owner() translate.Owner {
	return translate.Owner{Name: e.String(), Prefix: e.KeyPrefix, Globs: e.Owns}
}

// Register writes (or overwrites) e's field.
func Register(ctx context.Context, c redis.UniversalClient, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("xsync/registry: %w", err)
	}
	if err := c.HSet(ctx, Key, e.InternalPrefix, b).Err(); err != nil {
		return fmt.Errorf("xsync/registry: registering on the destination (HSET %s): %w", Key, err)
	}
	return nil
}

// Remove deletes the field of the job with internal prefix p; it reports
// whether there was one.
func Remove(ctx context.Context, c redis.UniversalClient, p string) (bool, error) {
	n, err := c.HDel(ctx, Key, p).Result()
	if err != nil {
		return false, fmt.Errorf("xsync/registry: HDEL %s: %w", Key, err)
	}
	return n > 0, nil
}

// Read returns every registered job, by internal prefix.
func Read(ctx context.Context, c redis.UniversalClient) ([]Entry, error) {
	m, err := c.HGetAll(ctx, Key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("xsync/registry: HGETALL %s: %w", Key, err)
	}
	return decode(m)
}

func decode(m map[string]string) ([]Entry, error) {
	out := make([]Entry, 0, len(m))
	for field, v := range m {
		var e Entry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("xsync/registry: field %q of %s is not an entry (%v): remove it with HDEL %s %q", field, Key, err, Key, field)
		}
		e.InternalPrefix = field
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InternalPrefix < out[j].InternalPrefix })
	return out, nil
}

// checkpointMark is what every checkpoint key holds after its prefix.
const checkpointMark = "ckpt:{"

// Checkpointed returns the internal prefixes of every job with checkpoint keys
// on the destination (SCAN MATCH *ckpt:{* on every master: it reads every key
// name once, about a second per million keys).
func Checkpointed(ctx context.Context, c redis.UniversalClient) ([]string, error) {
	var mu sync.Mutex
	seen := map[string]bool{}
	scan := func(ctx context.Context, n *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := n.Scan(ctx, cursor, "*"+checkpointMark+"*", 1000).Result()
			if err != nil {
				return fmt.Errorf("xsync/registry: SCAN on %s: %w", n.Options().Addr, err)
			}
			mu.Lock()
			for _, k := range keys {
				if i := strings.LastIndex(k, checkpointMark); i >= 0 && strings.HasSuffix(k, "}") {
					seen[k[:i]] = true
				}
			}
			mu.Unlock()
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, cc)
	default:
		return nil, fmt.Errorf("xsync/registry: unsupported client %T", c)
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Others returns the jobs on the destination other than the one with internal
// prefix own: the registered ones, then those found only by their checkpoints.
func Others(ctx context.Context, c redis.UniversalClient, own string) ([]Entry, error) {
	reg, err := Read(ctx, c)
	if err != nil {
		return nil, err
	}
	cps, err := Checkpointed(ctx, c)
	if err != nil {
		return nil, err
	}
	return others(reg, cps, own), nil
}

func others(reg []Entry, cps []string, own string) []Entry {
	var out []Entry
	known := map[string]bool{own: true}
	for _, e := range reg {
		if !known[e.InternalPrefix] {
			out = append(out, e)
		}
		known[e.InternalPrefix] = true
	}
	for _, p := range cps {
		if !known[p] {
			out = append(out, Entry{InternalPrefix: p, Unregistered: true})
		}
	}
	return out
}

// Overlap returns a job among others whose declared keys may be the same as
// those of a job with key prefix kp (two prefixes where one starts the
// other); ok is false when there is none.
func Overlap(kp string, others []Entry) (Entry, bool) {
	if kp == "" {
		return Entry{}, false
	}
	for _, o := range others {
		if o.KeyPrefix != "" && (strings.HasPrefix(o.KeyPrefix, kp) || strings.HasPrefix(kp, o.KeyPrefix)) {
			return o, true
		}
	}
	return Entry{}, false
}

// Guard returns a translate.Config.SharedGuard: before an unscoped flush it
// reads the registry through the applier's destination and returns the other
// registered jobs (a job that started alone may have company by now), and the
// jobs found at start only by their checkpoint keys (known).
func Guard(own string, known []Entry) func(context.Context, apply.Dest) ([]string, error) {
	slot := slots.SlotString(Key)
	return func(ctx context.Context, d apply.Dest) ([]string, error) {
		v, err := d.Do(ctx, slot, []byte("HGETALL"), []byte(Key))
		if err != nil {
			return nil, fmt.Errorf("xsync/registry: reading %s before a flush: %w", Key, err)
		}
		m, err := hashOf(v)
		if err != nil {
			return nil, err
		}
		reg, err := decode(m)
		if err != nil {
			return nil, err
		}
		var cps []string
		for _, e := range known {
			if e.Unregistered {
				cps = append(cps, e.InternalPrefix)
			}
		}
		var names []string
		for _, e := range others(reg, cps, own) {
			names = append(names, e.String())
		}
		return names, nil
	}
}

// hashOf reads an HGETALL reply (a RESP2 array of pairs or a RESP3 map).
func hashOf(v resp.Value) (map[string]string, error) {
	if v.IsError() {
		return nil, fmt.Errorf("xsync/registry: HGETALL %s: %s", Key, v.Str)
	}
	if len(v.Elems)%2 != 0 {
		return nil, fmt.Errorf("xsync/registry: HGETALL %s: odd reply", Key)
	}
	m := make(map[string]string, len(v.Elems)/2)
	for i := 0; i+1 < len(v.Elems); i += 2 {
		m[string(v.Elems[i].Str)] = string(v.Elems[i+1].Str)
	}
	return m, nil
}
