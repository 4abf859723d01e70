package translate

import (
	"fmt"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// move replays MOVE key db (the stream carries it only when it succeeded: the
// key existed in the current db and not in the target db).
//   - both dbs synced, cluster destination (or same destination db): RENAME
//     from the source db's name to the target db's name, emulated when the two
//     names are in different slots;
//   - both synced to different dbs of a standalone destination with the same
//     prefix: MOVE between the mapped dbs;
//   - target db not synced: DEL of the key (it left the synced db);
//   - current db not synced, target synced: the value was never synced, so
//     the command is skipped, counted and logged.
func (t *Translator) move(db int, args [][]byte, offset int64) error {
	if len(args) != 3 {
		return arity(args)
	}
	to, ok := parseInt(args[2])
	if !ok || to < 0 || to > 1<<30 {
		return fmt.Errorf("%w: MOVE db %s", ErrSyntax, printable(args[2]))
	}
	key := args[1]
	src, srcOK := t.kf.db(db)
	dst, dstOK := t.kf.db(int(to))
	switch {
	case !t.kf.Included(key) || !srcOK && !dstOK:
		t.st.filtered.Add(1)
		return nil
	case !srcOK:
		t.skip("MOVE from an unsynced db into a synced one: the value is not on the destination", args, offset)
		return nil
	}
	t.argv = append(t.argv[:0], nil, nil, nil)
	t.karena = append(t.karena[:0], src.p...)
	t.karena = append(t.karena, key...)
	t.argv[1] = t.karena[:len(t.karena):len(t.karena)]
	if !dstOK {
		t.argv[0] = []byte("DEL")
		t.argv = t.argv[:2]
		return t.single(src, "del", t.argv, slots.Slot(t.argv[1]), t.argv[1], t.cfg.Now())
	}
	if t.cfg.DestKind == DestStandalone && src.t.DB != dst.t.DB {
		if src.t.Prefix != dst.t.Prefix {
			t.skip("MOVE between dbs with different prefixes on a standalone destination", args, offset)
			return nil
		}
		start := len(t.buf)
		sel := t.selectBegin(src)
		t.buf = resp.AppendArray(t.buf, 3)
		t.buf = resp.AppendBulkString(t.buf, "MOVE")
		t.buf = resp.AppendBulk(t.buf, t.argv[1])
		t.buf = resp.AppendBulkInt(t.buf, int64(dst.t.DB))
		t.emit(slots.Slot(t.argv[1]), start, 1+sel+t.selectEnd(src), t.argv[1])
		return nil
	}
	s := len(t.karena)
	t.karena = append(t.karena, dst.p...)
	t.karena = append(t.karena, key...)
	t.argv[0] = []byte("RENAME")
	t.argv[2] = t.karena[s:]
	t.argv[1] = t.karena[:s:s]
	t.idx = append(t.idx[:0], 1, 2)
	t.kslot = append(t.kslot[:0], slots.Slot(t.argv[1]), slots.Slot(t.argv[2]))
	t.incl = append(t.incl[:0], true, true)
	if drop, err := t.collide(args, t.idx, offset); drop || err != nil {
		return err // the renamed key lands on another job's key (scope.go)
	}
	if t.kslot[0] != t.kslot[1] && t.cfg.DestKind == DestCluster {
		return t.emulate("rename", t.idx, offset)
	}
	return t.single(src, "rename", t.argv, t.kslot[0], t.argv[1], t.cfg.Now())
}

// swapdb applies Config.SwapDB to SWAPDB a b. A cluster destination has one
// database, so the default is Stop with an error naming the option; Ignore
// drops it; Apply (standalone destination only) swaps the mapped dbs when both
// are synced with the same prefix.
func (t *Translator) swapdb(args [][]byte, offset int64) error {
	if len(args) != 3 {
		return arity(args)
	}
	a, okA := parseInt(args[1])
	b, okB := parseInt(args[2])
	if !okA || !okB || a < 0 || b < 0 || a > 1<<30 || b > 1<<30 {
		return fmt.Errorf("%w: SWAPDB %s %s", ErrSyntax, printable(args[1]), printable(args[2]))
	}
	ta, syncA := t.kf.db(int(a))
	tb, syncB := t.kf.db(int(b))
	if !syncA && !syncB {
		t.st.filtered.Add(1)
		return nil
	}
	switch t.cfg.SwapDB {
	case Ignore:
		t.st.ignored.Add(1)
		t.skip("SWAPDB ignored (Config.SwapDB is Ignore)", args, offset)
		return nil
	case Stop:
		return fmt.Errorf("%w: SWAPDB %d %d at offset %d cannot be replayed on this destination "+
			"(Config.SwapDB is Stop; set it to Ignore to skip it)", ErrPolicy, a, b, offset)
	}
	if !syncA || !syncB || ta.t.Prefix != tb.t.Prefix {
		return fmt.Errorf("%w: SWAPDB %d %d at offset %d: both dbs must be synced with the same prefix "+
			"(set Config.SwapDB to Ignore to skip it)", ErrPolicy, a, b, offset)
	}
	start := len(t.buf)
	t.buf = resp.AppendArray(t.buf, 3)
	t.buf = resp.AppendBulkString(t.buf, "SWAPDB")
	t.buf = resp.AppendBulkInt(t.buf, int64(ta.t.DB))
	t.buf = resp.AppendBulkInt(t.buf, int64(tb.t.DB))
	t.emit(apply.AllMasters, start, 1, nil)
	return nil
}
