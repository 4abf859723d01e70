package translate

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xsync/xsync/internal/glob"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/slots"
)

// A destination shared by several jobs (several sources merged into one
// destination) needs each job to know which destination keys are its own, so
// that a FLUSHALL in one source, or a resync's emptying, deletes only that
// source's keys. A job's keys are identified by:
//   - Config.KeyPrefix: every key of the source is renamed to KeyPrefix+name
//     (before the --dbs prefix). The prefix has no braces, so a key's hash tag
//     stays its hashed part: "{u1}:cart" becomes "a:{u1}:cart", same slot; an
//     untagged key changes slot, which is fine since routing is by the
//     destination name;
//   - Config.Owns: destination key globs the job declares as its own, for data
//     whose names already tell the sources apart.
//
// A scoped flush SCANs every destination master with MATCH (the prefix, or each
// glob), keeps the keys that are the job's and that the source shard emptied,
// and deletes them with UNLINK in batches, as a barrier: later writes of the
// source wait behind it, exactly as for an unscoped flush.

// Owner is another job's declared set of destination keys (from the registry).
type Owner struct {
	// Name names the job in messages (its internal prefix and source).
	Name string
	// Prefix is the job's KeyPrefix ("" when it has none).
	Prefix string
	// Globs are the job's Owns globs.
	Globs []string
}

// Owns reports whether the destination key is one of o's keys.
func (o Owner) Owns(key []byte) bool {
	if o.Prefix == "" && len(o.Globs) == 0 {
		return false
	}
	if o.Prefix != "" && !bytes.HasPrefix(key, []byte(o.Prefix)) {
		return false
	}
	if len(o.Globs) == 0 {
		return true
	}
	for _, g := range o.Globs {
		if Match([]byte(g), key) {
			return true
		}
	}
	return false
}

// ErrShared reports a delete that would reach other jobs' keys on a shared
// destination because this job cannot tell its own keys apart.
var ErrShared = fmt.Errorf("xsync/translate: the destination is shared with other jobs")

// Scoped reports whether the job's keys are identifiable (KeyPrefix or Owns).
func (c *Config) Scoped() bool { return c.KeyPrefix != "" || len(c.Owns) > 0 }

// Scoped reports whether the job's keys are identifiable (Config.Scoped): its
// flushes and EmptyOp delete only them.
func (t *Translator) Scoped() bool { return t.cfg.Scoped() }

// OwnedByOther returns the name of another job (Config.Others) that declared
// the destination key as its own.
func (t *Translator) OwnedByOther(key []byte) (string, bool) {
	for i := range t.cfg.Others {
		if t.cfg.Others[i].Owns(key) {
			return t.cfg.Others[i].Name, true
		}
	}
	return "", false
}

// collide applies Config.Collision to the mapped keys of a write (t.argv at
// idx, where t.incl): it reports whether the command is dropped.
func (t *Translator) collide(args [][]byte, idx []int, offset int64) (bool, error) {
	if len(t.cfg.Others) == 0 {
		return false, nil
	}
	for j, i := range idx {
		if i >= len(t.argv) || !t.incl[j] {
			continue
		}
		other, ok := t.OwnedByOther(t.argv[i])
		if !ok {
			continue
		}
		t.st.collisions.Add(1)
		switch t.cfg.Collision {
		case Stop:
			return false, fmt.Errorf("%w: %s at offset %d writes %s, a key of another job (%s) on this destination "+
				"(--conflict stop; give this source its own --key-prefix, or --conflict replace to overwrite and count)",
				ErrPolicy, printable(args[0]), offset, printable(t.argv[i]), other)
		case Ignore:
			t.skip("write to a key of another job on this destination (--conflict skip)", args, offset)
			return true, nil
		}
		if n := t.st.collisions.Load(); n <= 10 || n%1000 == 0 {
			t.cfg.Logger.Warn("xsync/translate: write to a key of another job (--conflict replace)", "key", printable(t.argv[i]),
				"job", other, "count", n, "source", t.cfg.Source)
		}
		return false, nil
	}
	return false, nil
}

// refuseUnscoped returns the error of a delete of every key of some slots that
// a shared destination does not allow: what and the other jobs are named.
func refuseUnscoped(what string, others []string) error {
	return fmt.Errorf("%w (%s): %s would delete their keys too; give this source its keys with --key-prefix P "+
		"(every key renamed P<key>) or --owns GLOB (keys already told apart), or choose --flush ignore|stop",
		ErrShared, strings.Join(others, "; "), what)
}

// scanPatterns are the SCAN MATCH patterns of a scoped flush: each Owns glob, or
// the prefix of every flushed db (each starts with KeyPrefix).
func (f *flusher) scanPatterns() []string {
	if len(f.owns) > 0 {
		return f.owns
	}
	var out []string
	for _, tg := range f.dbs {
		out = append(out, glob.Escape(string(tg.p))+"*")
	}
	return out
}

// unlinkScript deletes the keys given as arguments. They are not declared as
// KEYS: they live on this master but in many slots, and a script without a
// shebang may touch undeclared keys of any slot the node serves (Redis
// script.c, scriptVerifyClusterState, eval compatibility mode).
const unlinkScript = "local n = 0 for i = 1, #ARGV do n = n + redis.call('UNLINK', ARGV[i]) end return n"

// runScoped deletes this job's deletable keys: SCAN MATCH on every destination
// master, UNLINK in batches.
func (f *flusher) runScoped(ctx context.Context, d apply.Dest) error {
	var masters []int // one slot per master: Do routes to it
	if t := d.Table(); t != nil && !f.standalone {
		for _, s := range t.Topology().Shards {
			if len(s.Ranges) > 0 {
				masters = append(masters, s.Ranges[0].Start)
			}
		}
	}
	if f.standalone {
		masters = []int{0}
	}
	dbs := f.dbs
	if f.allDBs {
		dbs = f.standaloneDBs(ctx, d)
	}
	for _, slot := range masters {
		if f.standalone {
			for _, tg := range dbs {
				if err := f.scanDelete(ctx, d, slot, tg); err != nil {
					return err
				}
			}
			continue
		}
		if err := f.scanDelete(ctx, d, slot, dbTarget{}); err != nil {
			return err
		}
	}
	return nil
}

// scanDelete runs the SCAN MATCH rounds of one master (and, standalone, of one
// db: tg), deleting as it goes. A key deleted behind the cursor does not move
// it (Redis db.c scanGenericCommand guarantees every key present for the whole
// scan is returned).
func (f *flusher) scanDelete(ctx context.Context, d apply.Dest, slot int, tg dbTarget) (err error) {
	if f.standalone {
		if _, err := do(ctx, d, 0, []byte("SELECT"), []byte(strconv.Itoa(tg.t.DB))); err != nil {
			return err
		}
		defer func() {
			if _, serr := do(ctx, d, 0, []byte("SELECT"), []byte("0")); err == nil {
				err = serr
			}
		}()
	}
	pats := f.scanPatterns()
	if f.standalone && len(f.owns) == 0 {
		pats = []string{glob.Escape(string(tg.p)) + "*"}
	}
	var batch [][]byte
	unlink := func() error {
		if len(batch) == 0 {
			return nil
		}
		var args [][]byte
		if f.standalone {
			args = append([][]byte{[]byte("UNLINK")}, batch...)
		} else {
			args = append([][]byte{[]byte("EVAL"), []byte(unlinkScript), []byte("0")}, batch...)
		}
		_, err := do(ctx, d, slot, args...)
		batch = batch[:0]
		return err
	}
	for _, pat := range pats {
		cursor := []byte("0")
		for {
			v, err := do(ctx, d, slot, []byte("SCAN"), cursor, []byte("MATCH"), []byte(pat), []byte("COUNT"), []byte("1000"))
			if err != nil {
				return err
			}
			if len(v.Elems) != 2 {
				return fmt.Errorf("xsync/translate: unexpected SCAN reply %s", v.String())
			}
			for _, k := range v.Elems[1].Elems {
				ok := false
				if f.standalone {
					ok = f.deletable(k.Str, tg.p)
				} else {
					ok = f.deletableAny(k.Str)
				}
				if ok && f.mine(k.Str) {
					batch = append(batch, k.Str)
				}
				if len(batch) >= flushBatch {
					if err := unlink(); err != nil {
						return err
					}
				}
			}
			cursor = append(cursor[:0], v.Elems[0].Str...)
			if string(cursor) == "0" {
				break
			}
		}
	}
	return unlink()
}

// mine reports whether a destination key is this job's (KeyPrefix and Owns).
func (f *flusher) mine(key []byte) bool {
	o := Owner{Prefix: f.keyPrefix, Globs: f.owns}
	return o.Owns(key)
}

// standaloneDBs lists every db of a standalone destination (FLUSHALL of a
// standalone source with every db synced), each under KeyPrefix.
func (f *flusher) standaloneDBs(ctx context.Context, d apply.Dest) []dbTarget {
	n := 16
	if v, err := do(ctx, d, 0, []byte("CONFIG"), []byte("GET"), []byte("databases")); err == nil && len(v.Elems) == 2 {
		if x, ok := parseInt(v.Elems[1].Str); ok && x > 0 && x < 1<<20 {
			n = int(x)
		}
	}
	out := make([]dbTarget, 0, n)
	for db := 0; db < n; db++ {
		out = append(out, dbTarget{ok: true, t: Target{DB: db, Prefix: f.keyPrefix}, p: []byte(f.keyPrefix)})
	}
	return out
}

// sourceSlotOwned reports whether a source slot is in ranges (nil: every slot).
func sourceSlotOwned(ranges []slots.Range, s int) bool {
	if ranges == nil {
		return true
	}
	for _, r := range ranges {
		if s >= r.Start && s <= r.End {
			return true
		}
	}
	return false
}
