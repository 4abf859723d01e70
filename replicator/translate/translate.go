package translate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// maxName bounds the command names the translator knows; longer ones are unknown.
const maxName = 32

// Translator turns the replication stream of one source shard into apply.Ops.
// It is not safe for concurrent use: one goroutine (the shard's link) calls
// Translate; Stats and Scripts may be read from anywhere.
type Translator struct {
	cfg   Config
	kf    *KeyFilter
	names map[string]string
	allow map[string]struct{}
	deny  map[string]struct{}
	owned []slots.Range

	dgArgs [][]byte // args without what the destination lacks (downgrade.go)

	// Scratch reused by every call; what Translate returns points into it.
	buf    []byte
	pend   []pending
	ops    []apply.Op
	idx    []int
	argv   [][]byte
	karena []byte
	kslot  []int
	incl   []bool
	done   []bool
	lower  [maxName]byte
	ublk   [][]byte // a blocking command rewritten (see unblock)
	// COPY ... DB n (see copyDB): the arg index of the destination key and
	// the prefix of db n's mapping; dstIdx -1 otherwise.
	dstIdx    int
	dstPrefix []byte
	unum      [20]byte

	descs []string // per op of the last result: the barrier's description or ""

	inTxn    bool
	txnStart int
	txnOps   []pending
	txnOrder []int

	scripts map[[20]byte]struct{}

	st counters
}

// pending is an Op under construction; Cmd and Key are ranges of buf until the
// end of the call (buf may move while it grows).
type pending struct {
	slot       int
	start, end int
	n          int
	k0, k1     int
	barrier    func(context.Context, apply.Dest) error
	what       fmt.Stringer // what the barrier does, for tests and logs
}

// New returns a Translator for cfg.
func New(cfg Config) (*Translator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Translator{
		cfg:     cfg,
		kf:      newKeyFilter(&cfg),
		owned:   append([]slots.Range(nil), cfg.SourceSlots...),
		scripts: make(map[[20]byte]struct{}),
	}
	t.names = make(map[string]string)
	for _, n := range strings.Fields(specialNames) {
		t.names[n] = n
	}
	t.allow = nameSet(cfg.Allow)
	t.deny = nameSet(cfg.Deny)
	return t, nil
}

func nameSet(names []string) map[string]struct{} {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = struct{}{}
	}
	return m
}

// KeyFilter returns the key filter of this translator's Config.
func (t *Translator) KeyFilter() *KeyFilter { return t.kf }

// Scripts returns where script bodies go (Config.Scripts or the default cache).
func (t *Translator) Scripts() Scripts { return t.cfg.Scripts }

// SetSourceSlots replaces the slots the source shard owns (after a resharding
// of a cluster source). Not concurrent with Translate.
func (t *Translator) SetSourceSlots(r []slots.Range) error {
	if err := checkRanges(r); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	t.owned = append(t.owned[:0:0], r...)
	return nil
}

// Reset forgets a transaction being buffered. Call it when the link starts a
// full resynchronization; a partial resync (+CONTINUE) resumes the stream at the
// exact byte where it stopped, so the buffer stays valid then.
func (t *Translator) Reset() {
	t.inTxn = false
	t.pend = t.pend[:0]
	t.buf = t.buf[:0]
}

// InTransaction reports whether a MULTI is being buffered.
func (t *Translator) InTransaction() bool { return t.inTxn }

// Translate turns one command of the stream into ops. db is the database
// selected at that point, args the command (read only during the call), offset
// the source offset just after the command, recv when the link received it (the
// base of relative expires; zero means Config.Now()).
//
// The ops, their Cmd and their Key point into the translator's buffers and are
// valid until the next call: submit them (apply.Applier.Submit copies) first.
// No ops and a nil error mean the command was consumed: dropped, filtered or
// buffered inside MULTI. An error means the stream cannot go on (a Stop policy,
// a malformed command); nothing of that command was emitted.
func (t *Translator) Translate(db int, args [][]byte, offset int64, recv time.Time) ([]apply.Op, error) {
	t.st.commands.Add(1)
	if !t.inTxn {
		t.buf = t.buf[:0]
		t.pend = t.pend[:0]
	}
	if recv.IsZero() {
		recv = t.cfg.Now()
	}
	first := len(t.pend)
	if err := t.command(db, args, offset, recv); err != nil {
		t.pend = t.pend[:first]
		return nil, err
	}
	if t.inTxn {
		return nil, nil
	}
	return t.materialize(offset), nil
}

// materialize turns the pending ops into apply.Ops; the last one carries offset.
func (t *Translator) materialize(offset int64) []apply.Op {
	t.ops = t.ops[:0]
	t.descs = t.descs[:0]
	if len(t.pend) == 0 {
		return nil
	}
	for i := range t.pend {
		p := &t.pend[i]
		op := apply.Op{Source: t.cfg.Source, Slot: p.slot, N: p.n, Barrier: p.barrier}
		if p.end > p.start {
			op.Cmd = t.buf[p.start:p.end:p.end]
		}
		if p.k1 > p.k0 {
			op.Key = t.buf[p.k0:p.k1:p.k1]
		}
		t.ops = append(t.ops, op)
		if p.what != nil {
			for len(t.descs) < len(t.ops)-1 {
				t.descs = append(t.descs, "")
			}
			t.descs = append(t.descs, p.what.String())
			t.ops[len(t.ops)-1].What = t.descs[len(t.descs)-1]
		}
	}
	t.ops[len(t.ops)-1].Offset = offset
	t.st.ops.Add(int64(len(t.ops)))
	return t.ops
}

// emit records the commands appended to buf since start as one op.
func (t *Translator) emit(slot, start, n int, key []byte) {
	end := len(t.buf)
	t.buf = append(t.buf, key...)
	t.pend = append(t.pend, pending{slot: slot, start: start, end: end, n: n, k0: end, k1: len(t.buf)})
}

// barrier is what a Barrier op runs.
type barrier interface {
	run(ctx context.Context, d apply.Dest) error
	String() string
}

// emitBarrier records a barrier op.
func (t *Translator) emitBarrier(slot int, key []byte, b barrier) {
	k0 := len(t.buf)
	t.buf = append(t.buf, key...)
	t.pend = append(t.pend, pending{slot: slot, start: k0, end: k0, k0: k0, k1: len(t.buf), barrier: b.run, what: b})
}

// name returns args[0] in lower case (in t.lower), false when too long.
func (t *Translator) name(b []byte) (string, bool) {
	if len(b) > maxName || len(b) == 0 {
		return "", false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t.lower[i] = c
	}
	return t.names[string(t.lower[:len(b)])], true
}

// specialNames are the commands the translator treats specially. name maps
// them to interned strings (so that the hot path allocates no string per
// command); every other command takes the generic path under the name "".
const specialNames = "ping replconf select multi exec discard flushall flushdb " +
	"swapdb move publish spublish script function eval eval_ro evalsha fcall " +
	"expire pexpire hexpire hpexpire hexpireat hpexpireat hpersist setex psetex set getex restore restore-asking " +
	"mset msetnx del unlink touch rename sunionstore sinterstore sdiffstore zunionstore " +
	"zinterstore zdiffstore zrangestore geosearchstore bitop pfmerge copy sort georadius " +
	"georadiusbymember config client debug shutdown slaveof replicaof save bgsave " +
	"bgrewriteaof cluster monitor sync psync failover acl module latency memory slowlog " +
	"lastsave info command auth hello quit reset wait waitaof readonly readwrite asking " +
	"migrate role lolwut blpop brpop brpoplpush blmove bzpopmin bzpopmax blmpop bzmpop " +
	"xadd xtrim hset"

func (t *Translator) denied(b []byte) bool {
	if t.allow == nil && t.deny == nil {
		return false
	}
	n := len(b)
	if t.allow != nil {
		if _, ok := t.allow[string(t.lower[:n])]; !ok {
			return true
		}
	}
	_, ok := t.deny[string(t.lower[:n])]
	return ok
}

// command dispatches one command.
func (t *Translator) command(db int, args [][]byte, offset int64, recv time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: empty command at offset %d", ErrSyntax, offset)
	}
	name, ok := t.name(args[0])
	if !ok {
		return t.unknown(args, offset, "unknown command")
	}
	name = t.olderForms(args, name)
	switch name {
	case "ping", "replconf", "select":
		return nil // consumed by the link; never forwarded
	case "multi":
		return t.multi(offset)
	case "exec":
		return t.exec(offset)
	case "discard":
		t.discard()
		return nil
	}
	if t.denied(args[0]) {
		t.st.denied.Add(1)
		return nil
	}
	args, skip, err := t.downgrade(t.lower[:len(args[0])], args, offset)
	if err != nil || skip {
		return err
	}
	switch name {
	case "flushall", "flushdb":
		return t.flush(db, name, args, offset)
	case "swapdb":
		return t.swapdb(args, offset)
	case "move":
		return t.move(db, args, offset)
	case "publish", "spublish":
		return t.publish(args)
	case "script":
		return t.script(args)
	case "function":
		return t.function(args)
	}
	if adminCommand(name) {
		t.skip("admin command not forwarded", args, offset)
		return nil
	}
	spec, err := slots.Lookup(args)
	if err != nil || spec == nil {
		return t.unknown(args, offset, "unknown command")
	}
	if !spec.Write && !spec.Flags.Has(slots.FlagMayReplicate) && !scriptCommand(name) {
		t.skip("read-only command not forwarded", args, offset)
		return nil
	}
	return t.keyed(db, name, args, offset, recv)
}

// scriptCommand reports whether name runs a script that may write: Redis
// 4.0 propagates these verbatim (5.0+ propagate the effects instead).
func scriptCommand(name string) bool {
	return name == "eval" || name == "evalsha" || name == "fcall"
}

// adminCommand lists commands that may reach a stream (or a hand-fed test) but
// must never reach the destination.
func adminCommand(name string) bool {
	switch name {
	case "config", "client", "debug", "shutdown", "slaveof", "replicaof", "save", "bgsave",
		"bgrewriteaof", "cluster", "monitor", "sync", "psync", "failover", "acl", "module",
		"latency", "memory", "slowlog", "lastsave", "info", "command", "auth", "hello", "quit",
		"reset", "wait", "waitaof", "readonly", "readwrite", "asking", "migrate", "role", "lolwut":
		return true
	}
	return false
}

// unknown applies the Unknown policy.
func (t *Translator) unknown(args [][]byte, offset int64, why string) error {
	if t.cfg.Unknown == Stop {
		return fmt.Errorf("%w: %s %s at offset %d (set Config.Unknown to Ignore to skip and count it)",
			ErrUnknown, why, printable(args[0]), offset)
	}
	t.st.unknown.Add(1)
	t.skip(why, args, offset)
	return nil
}

// skip counts and logs a dropped command.
func (t *Translator) skip(why string, args [][]byte, offset int64) {
	t.st.skipped.Add(1)
	t.cfg.Logger.Warn("xsync/translate: command skipped", "why", why, "command", printable(args[0]),
		"args", len(args), "offset", offset, "source", t.cfg.Source)
}

// printable returns b for messages, shortened and with control bytes escaped.
func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return strings.ToValidUTF8(fmt.Sprintf("%q", b), "?")
}

// keyed handles every command routed by its keys.
func (t *Translator) keyed(db int, name string, args [][]byte, offset int64, recv time.Time) error {
	tg, ok := t.kf.db(db)
	if !ok {
		t.st.filtered.Add(1)
		return nil
	}
	name, args = t.unblock(name, args)
	t.dstIdx, t.dstPrefix = -1, nil
	if name == "copy" {
		var drop bool
		if args, drop = t.copyDB(db, args); drop {
			t.st.filtered.Add(1)
			return nil
		}
	}
	idx, err := slots.KeyIndexes(args, t.idx[:0])
	if cap(idx) > cap(t.idx) {
		t.idx = idx[:0]
	}
	if err != nil {
		return fmt.Errorf("%w: %s at offset %d: %v", ErrSyntax, printable(args[0]), offset, err)
	}
	switch name {
	case "eval", "eval_ro":
		if len(args) > 1 {
			t.rememberScript(args[1])
		}
	}
	if len(idx) == 0 {
		return t.unknown(args, offset, "command without a key to route by")
	}
	sortInts(idx)
	nIncl := t.mapKeys(tg, args, idx)
	if nIncl == 0 {
		t.st.filtered.Add(1)
		return nil
	}
	if drop, err := t.collide(args, idx, offset); drop || err != nil {
		return err
	}
	step := perKeyStep(name)
	if nIncl < len(idx) {
		if step == 0 {
			t.st.mixed.Add(1)
			t.skip("keys partly excluded by the key filter in a command that cannot be split", args, offset)
			return nil
		}
		t.st.filtered.Add(1)
		return t.split(tg, name, idx, step)
	}
	if name == "sort" && t.cfg.DestKind == DestCluster && sortPatterns(t.argv) {
		return t.sortCluster(tg, idx, offset, recv)
	}
	same := true
	for _, s := range t.kslot[1:len(idx)] {
		if s != t.kslot[0] {
			same = false
			break
		}
	}
	if !same && t.cfg.DestKind == DestCluster { // a standalone destination takes any key set
		if step > 0 {
			t.st.split.Add(1)
			return t.split(tg, name, idx, step)
		}
		return t.emulate(name, idx, offset)
	}
	return t.single(tg, name, t.argv, t.kslot[0], t.argv[idx[0]], recv)
}

// mapKeys fills t.argv (args with every key renamed to its destination name),
// t.incl and t.kslot (per key of idx) and returns how many keys are included.
func (t *Translator) mapKeys(tg dbTarget, args [][]byte, idx []int) int {
	t.argv = append(t.argv[:0], args...)
	t.incl = t.incl[:0]
	t.kslot = t.kslot[:0]
	need := 0
	for _, i := range idx {
		need += len(tg.p) + len(t.dstPrefix) + len(args[i])
	}
	if (len(tg.p) > 0 || len(t.dstPrefix) > 0) && cap(t.karena) < need {
		t.karena = make([]byte, 0, need*2)
	}
	t.karena = t.karena[:0]
	n := 0
	for _, i := range idx {
		in := i < len(args) && t.kf.Included(args[i])
		t.incl = append(t.incl, in)
		if in {
			n++
		}
		p := tg.p
		if i == t.dstIdx {
			p = t.dstPrefix // COPY ... DB n: the destination key is db n's
		}
		if i < len(args) && len(p) > 0 {
			s := len(t.karena)
			t.karena = append(t.karena, p...)
			t.karena = append(t.karena, args[i]...)
			t.argv[i] = t.karena[s:len(t.karena):len(t.karena)]
		}
		slot := 0
		if i < len(args) {
			slot = slots.Slot(t.argv[i])
		}
		t.kslot = append(t.kslot, slot)
	}
	return n
}

// sortInts sorts a short slice in place (insertion sort: no allocation).
func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// selectBegin starts a command group for target tg on a standalone destination
// (SELECT db) and returns how many commands it added; selectEnd restores db 0,
// so that every op leaves the connection in db 0.
func (t *Translator) selectBegin(tg dbTarget) int {
	if t.cfg.DestKind != DestStandalone || tg.t.DB == 0 {
		return 0
	}
	t.buf = resp.AppendArray(t.buf, 2)
	t.buf = resp.AppendBulkString(t.buf, "SELECT")
	t.buf = resp.AppendBulkInt(t.buf, int64(tg.t.DB))
	return 1
}

func (t *Translator) selectEnd(tg dbTarget) int {
	if t.cfg.DestKind != DestStandalone || tg.t.DB == 0 {
		return 0
	}
	t.buf = resp.AppendCommandString(t.buf, "SELECT", "0")
	return 1
}

// single emits a command whose keys are all in one slot.
func (t *Translator) single(tg dbTarget, name string, argv [][]byte, slot int, key []byte, recv time.Time) error {
	start := len(t.buf)
	sel := t.selectBegin(tg)
	n, err := t.encode(name, argv, recv)
	if err != nil {
		t.buf = t.buf[:start]
		return err
	}
	if n == 0 {
		t.buf = t.buf[:start]
		return nil
	}
	n += sel + t.selectEnd(tg)
	t.emit(slot, start, n, key)
	return nil
}

// publish forwards PUBLISH/SPUBLISH when Config.Publish is set.
func (t *Translator) publish(args [][]byte) error {
	if !t.cfg.Publish {
		t.st.published.Add(1)
		return nil
	}
	if len(args) != 3 {
		return fmt.Errorf("%w: %s needs 2 arguments", ErrSyntax, printable(args[0]))
	}
	start := len(t.buf)
	t.buf = resp.AppendCommand(t.buf, args...)
	t.emit(slots.Slot(args[1]), start, 1, args[1])
	return nil
}

// script handles SCRIPT LOAD (remembered and loaded on every master); the
// other subcommands (FLUSH, KILL, EXISTS, DEBUG) are not forwarded.
func (t *Translator) script(args [][]byte) error {
	if len(args) == 3 && strings.EqualFold(string(args[1]), "load") {
		t.rememberScript(args[2])
		start := len(t.buf)
		t.buf = resp.AppendCommand(t.buf, args...)
		t.emit(apply.AllMasters, start, 1, nil)
		return nil
	}
	t.st.skipped.Add(1)
	return nil
}

// function forwards FUNCTION LOAD/DELETE/FLUSH/RESTORE to every master.
func (t *Translator) function(args [][]byte) error {
	if len(args) >= 2 {
		switch strings.ToLower(string(args[1])) {
		case "load", "delete", "flush", "restore":
			start := len(t.buf)
			t.buf = resp.AppendCommand(t.buf, args...)
			t.emit(apply.AllMasters, start, 1, nil)
			return nil
		}
	}
	t.st.skipped.Add(1)
	return nil
}
