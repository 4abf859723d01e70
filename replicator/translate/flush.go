package translate

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/slots"
)

// flushBatch is how many keys one GETKEYSINSLOT / SCAN round asks for.
const flushBatch = 512

// flush handles FLUSHALL and FLUSHDB under Config.Flush. Apply never sends
// FLUSHALL/FLUSHDB to the destination: it would delete the other source
// shards' keys and xsync's own (checkpoints). It emits a barrier that deletes
// exactly the keys this command emptied on the source:
//   - keys of the flushed dbs (by prefix; a longer prefix of another synced db
//     wins), never keys with the internal prefix, only keys the key filter
//     includes (xsync never deletes what it does not sync);
//   - from a cluster source, only keys whose source slot the shard owns;
//   - on a cluster destination, per slot: CLUSTER COUNTKEYSINSLOT, then
//     CLUSTER GETKEYSINSLOT + DEL in batches (only the source shard's slots
//     when the db maps to no prefix, every slot otherwise); on a standalone
//     destination, SELECT + SCAN + DEL.
func (t *Translator) flush(db int, name string, args [][]byte, offset int64) error {
	switch t.cfg.Flush {
	case Ignore:
		t.st.ignored.Add(1)
		t.skip("FLUSHALL/FLUSHDB ignored (Config.Flush is Ignore)", args, offset)
		return nil
	case Stop:
		return fmt.Errorf("%w: %s at offset %d (Config.Flush is Stop; set it to Apply or Ignore)",
			ErrPolicy, strings.ToUpper(name), offset)
	}
	f := t.newFlusher()
	if name == "flushdb" {
		tg, ok := t.kf.db(db)
		if !ok {
			t.st.filtered.Add(1)
			return nil
		}
		f.dbs = append(f.dbs, tg)
	} else {
		t.allDBs(f)
	}
	t.st.flushes.Add(1)
	f.name = strings.ToUpper(name)
	t.emitBarrier(apply.AllMasters, []byte(f.name), f)
	return nil
}

type flusher struct {
	name       string
	keyPrefix  string   // Config.KeyPrefix
	owns       []string // Config.Owns
	scoped     bool     // KeyPrefix or Owns: delete by SCAN MATCH (scope.go)
	others     []string // Config.Others by name: an unscoped flush refuses to run
	guard      func(context.Context, apply.Dest) ([]string, error)
	kf         *KeyFilter
	internal   []byte
	dbs        []dbTarget
	allDBs     bool          // standalone destination, FLUSHALL, every db synced
	owned      []slots.Range // nil: every slot (standalone source)
	standalone bool
}

// String describes what the flush deletes.
func (f *flusher) String() string {
	var b strings.Builder
	b.WriteString(f.name + ": delete")
	if f.allDBs {
		b.WriteString(" every db")
	}
	for _, tg := range f.dbs {
		if f.standalone {
			fmt.Fprintf(&b, " db%d", tg.t.DB)
		}
		fmt.Fprintf(&b, " prefix=%q", tg.p)
	}
	if f.owned == nil {
		b.WriteString(" in every slot")
	} else {
		b.WriteString(" in source slots")
		for _, r := range f.owned {
			fmt.Fprintf(&b, " %d-%d", r.Start, r.End)
		}
	}
	return b.String()
}

// deletable reports whether key (a destination name in a flushed db with
// prefix p) was emptied on the source.
func (f *flusher) deletable(key, p []byte) bool {
	if bytes.HasPrefix(key, f.internal) {
		return false
	}
	src, ok := f.kf.owner(key, p)
	if !ok || !f.kf.Included(src) {
		return false
	}
	return sourceSlotOwned(f.owned, slots.Slot(src))
}

func (f *flusher) run(ctx context.Context, d apply.Dest) error {
	if f.scoped {
		return f.runScoped(ctx, d)
	}
	others := f.others
	if f.guard != nil && len(others) == 0 {
		// A job that started alone may have company by now.
		o, err := f.guard(ctx, d)
		if err != nil {
			return err
		}
		others = o
	}
	if len(others) > 0 {
		return refuseUnscoped(f.name+" (every key of the source's slots)", others)
	}
	if f.standalone {
		return f.runStandalone(ctx, d)
	}
	visitOwned := f.owned != nil
	for _, tg := range f.dbs {
		if len(tg.p) > 0 {
			visitOwned = false
		}
	}
	if visitOwned {
		for _, r := range f.owned {
			for s := r.Start; s <= r.End; s++ {
				if err := f.flushSlot(ctx, d, s); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for s := 0; s < slots.NumSlots; s++ {
		if err := f.flushSlot(ctx, d, s); err != nil {
			return err
		}
	}
	return nil
}

func (f *flusher) deletableAny(key []byte) bool {
	for _, tg := range f.dbs {
		if f.deletable(key, tg.p) {
			return true
		}
	}
	return false
}

// flushSlot deletes the deletable keys of one destination slot. Keys it keeps
// come back in every GETKEYSINSLOT answer, so each round asks for as many more
// as it keeps, and it ends when an answer is shorter than asked.
func (f *flusher) flushSlot(ctx context.Context, d apply.Dest, slot int) error {
	sl := []byte(strconv.Itoa(slot))
	v, err := do(ctx, d, slot, []byte("CLUSTER"), []byte("COUNTKEYSINSLOT"), sl)
	if err != nil || v.Int == 0 {
		return err
	}
	kept := 0
	for {
		want := kept + flushBatch
		v, err := do(ctx, d, slot, []byte("CLUSTER"), []byte("GETKEYSINSLOT"), sl, []byte(strconv.Itoa(want)))
		if err != nil {
			return err
		}
		del := [][]byte{[]byte("DEL")}
		for _, k := range v.Elems {
			if f.deletableAny(k.Str) {
				del = append(del, k.Str)
			}
		}
		if len(del) > 1 {
			if _, err := do(ctx, d, slot, del...); err != nil {
				return err
			}
		}
		kept = len(v.Elems) - (len(del) - 1)
		if len(v.Elems) < want {
			return nil
		}
	}
}

// runStandalone empties the flushed dbs of a standalone destination with SCAN
// and DEL, leaving db 0 selected.
func (f *flusher) runStandalone(ctx context.Context, d apply.Dest) (err error) {
	dbs := f.dbs
	if f.allDBs {
		n := 16
		if v, err := do(ctx, d, 0, []byte("CONFIG"), []byte("GET"), []byte("databases")); err == nil && len(v.Elems) == 2 {
			if x, ok := parseInt(v.Elems[1].Str); ok && x > 0 && x < 1<<20 {
				n = int(x)
			}
		}
		for db := 0; db < n; db++ {
			dbs = append(dbs, dbTarget{ok: true, t: Target{DB: db}})
		}
	}
	defer func() {
		if _, serr := do(ctx, d, 0, []byte("SELECT"), []byte("0")); err == nil {
			err = serr
		}
	}()
	for _, tg := range dbs {
		if _, err := do(ctx, d, 0, []byte("SELECT"), []byte(strconv.Itoa(tg.t.DB))); err != nil {
			return err
		}
		cursor := []byte("0")
		for {
			v, err := do(ctx, d, 0, []byte("SCAN"), cursor, []byte("COUNT"), []byte(strconv.Itoa(flushBatch)))
			if err != nil {
				return err
			}
			if len(v.Elems) != 2 {
				return fmt.Errorf("xsync/translate: unexpected SCAN reply %s", v.String())
			}
			del := [][]byte{[]byte("DEL")}
			for _, k := range v.Elems[1].Elems {
				if f.deletable(k.Str, tg.p) {
					del = append(del, k.Str)
				}
			}
			if len(del) > 1 {
				if _, err := do(ctx, d, 0, del...); err != nil {
					return err
				}
			}
			cursor = append([]byte(nil), v.Elems[0].Str...)
			if string(cursor) == "0" {
				break
			}
		}
	}
	return nil
}

// newFlusher returns a flusher of this shard's slots, scoped to the job's keys
// when Config.KeyPrefix or Config.Owns say which they are.
func (t *Translator) newFlusher() *flusher {
	f := &flusher{kf: t.kf, internal: t.kf.internal, standalone: t.cfg.DestKind == DestStandalone,
		keyPrefix: t.cfg.KeyPrefix, owns: t.cfg.Owns, scoped: t.cfg.Scoped(), guard: t.cfg.SharedGuard}
	for _, o := range t.cfg.Others {
		f.others = append(f.others, o.Name)
	}
	if t.cfg.SourceKind == SourceCluster {
		f.owned = append([]slots.Range{}, t.owned...) // never nil: nil means every slot
	}
	return f
}

// allDBs makes f delete in every synced db (FLUSHALL).
func (t *Translator) allDBs(f *flusher) {
	if t.kf.allDBs {
		f.allDBs = true
		return
	}
	for _, db := range slices.Sorted(maps.Keys(t.kf.dbMap)) {
		tg := t.kf.dbMap[db]
		f.dbs = append(f.dbs, dbTarget{ok: true, t: tg, p: []byte(tg.Prefix)})
	}
}

// EmptyOp returns a Barrier op that deletes from the destination every synced key
// of the slots this shard owns (every slot for a standalone source), in every synced
// database, as FLUSHALL in the shard's stream would, whatever Config.Flush says. The
// replicator runs it before a full resync of a shard whose data is already on the
// destination, so that keys deleted on the source meanwhile do not survive.
// Internal keys are kept.
func (t *Translator) EmptyOp() apply.Op {
	f := t.newFlusher()
	f.name = "FLUSHALL"
	t.allDBs(f)
	return apply.Op{Source: t.cfg.Source, Slot: apply.AllMasters, Key: []byte("FLUSHALL"), Barrier: f.run}
}
