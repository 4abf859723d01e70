package replicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/convert"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// pingMarker is a harmless command that carries an offset boundary to the
// destination (the applier acknowledges offsets with ops, and a full sync's last
// key is known only once the snapshot has ended).
var pingMarker = resp.AppendCommandString(nil, "PING")

var selectZero = resp.AppendCommandString(nil, "SELECT", "0")

// shard handles what one source shard's link reads: it is the link's
// source.Handler. Calls come from one goroutine at a time.
type shard struct {
	r     *Replicator
	index int
	tr    *translate.Translator
	conv  *convert.Converter
	kf    *translate.KeyFilter

	ranges atomic.Pointer[[]slots.Range] // new slot ranges for the translator, set by events
	owned  atomic.Pointer[[]slots.Range] // slots the shard owns now

	// Checkpoints (see checkpoint.go).
	synced    atomic.Bool            // the shard's data is on the destination: a full resync empties its slots first
	replID    string                 // replication id of the stream being applied
	skip      *[slots.NumSlots]int64 // after a resume: a slot's ops up to this offset are applied already
	skipUntil int64                  // the highest offset in skip; past it skip is dropped
	wrapBuf   []byte
	valBuf    []byte
	selBuf    []byte

	resized     bool               // a RESIZEDB hint of the current snapshot was seen
	conflicts   atomic.Int64       // snapshot keys kept because they existed (ConflictSkip)
	standalone  bool               // the source is a standalone server
	argBuf      [][]byte           // moveArgs' rewritten command
	restoreConv *convert.Converter // for stream RESTOREs newer than the destination (restore.go)
	posMu       sync.Mutex
	pos         ckpt  // replid, handled offset and the db selected there; guarded by posMu
	wmWritten   int64 // the last watermark written (watermark goroutine only)

	// Progress, read by Status from other goroutines.
	state         atomic.Value // State
	received      atomic.Int64 // offset of the last command received
	handled       atomic.Int64 // offset up to which every command was handed to the applier
	lastSubmitted atomic.Int64 // highest Offset of an op submitted
	opsSubmitted  atomic.Int64 // ops handed to the applier
	sourceOffset  atomic.Int64 // master_repl_offset of the followed node, polled (replicator.pollSources)
	keysDone      atomic.Int64
	keysTotal     atomic.Int64
	bytesDone     atomic.Int64
	bytesTotal    atomic.Int64
	errors        atomic.Int64
	lag           *lagClock

	keyBuf []byte
}

func newShard(r *Replicator, info source.ShardInfo) (*shard, error) {
	a := r.applier
	tc := r.cfg.Translate
	tc.Source = info.Index
	tc.SourceSlots = info.Ranges
	tc.SourceKind = translate.SourceCluster
	if info.Standalone {
		tc.SourceKind = translate.SourceStandalone
		tc.SourceSlots = nil
	}
	tc.DestKind = translate.DestCluster
	if a.Standalone() {
		tc.DestKind = translate.DestStandalone
	}
	v := a.Version()
	tc.DestVersion = translate.Version{Major: v.Major, Minor: v.Minor}
	tc.Scripts = a
	if tc.Logger == nil {
		tc.Logger = r.log.With("component", "translate", "shard", info.Index)
	}
	if tc.Now == nil {
		tc.Now = r.cfg.Now
	}
	tr, err := translate.New(tc)
	if err != nil {
		return nil, err
	}
	cc := r.cfg.Convert
	cc.Target = convert.Version{Major: v.Major, Minor: v.Minor}
	if cc.Now == nil {
		cc.Now = r.cfg.Now
	}
	conv, err := convert.New(cc)
	if err != nil {
		return nil, err
	}
	sh := &shard{r: r, index: info.Index, tr: tr, conv: conv, kf: tr.KeyFilter(), lag: newLagClock(256, 50*time.Millisecond)}
	sh.state.Store(StateHandshake)
	owned := ownedOf(info.Ranges, info.Standalone)
	sh.owned.Store(&owned)
	sh.standalone = info.Standalone
	return sh, nil
}

// ownedOf returns the slots a shard owns: every slot for a standalone source.
func ownedOf(rs []slots.Range, standalone bool) []slots.Range {
	if standalone {
		return []slots.Range{{Start: 0, End: slots.NumSlots - 1}}
	}
	return append([]slots.Range{}, rs...)
}

func (s *shard) ownedRanges() []slots.Range { return *s.owned.Load() }

func (s *shard) setRanges(rs []slots.Range, standalone bool) {
	owned := ownedOf(rs, standalone)
	s.owned.Store(&owned)
	cp := append([]slots.Range(nil), rs...)
	s.ranges.Store(&cp)
}

// resumeFrom prepares a resume at c: the commands between c's offset and each
// slot's own checkpoint are dropped for that slot.
func (s *shard) resumeFrom(cks map[int]ckpt, owned []slots.Range, c ckpt) {
	s.synced.Store(true)
	s.replID = c.replID
	s.received.Store(c.offset)
	s.handled.Store(c.offset)
	var skip [slots.NumSlots]int64
	for _, r := range owned {
		for sl := r.Start; sl <= r.End; sl++ {
			skip[sl] = cks[sl].offset
			s.skipUntil = max(s.skipUntil, skip[sl])
		}
	}
	if s.skipUntil > c.offset {
		s.skip = &skip
	}
	s.state.Store(StateHandshake)
}

// submit hands an op to the applier and remembers the highest offset boundary.
func (s *shard) submit(ctx context.Context, op apply.Op) error {
	return s.submitCkpt(ctx, op, 0, 0)
}

// submitCkpt submits a stream op with its slot's checkpoint in one transaction:
// cmdOffset is the offset of the command the op is (part of), db the database
// selected there; 0 submits the op without a checkpoint. op.Offset stays what
// the translator set (on the last part of a command only), so the applier's
// watermark never passes a command that is half applied.
func (s *shard) submitCkpt(ctx context.Context, op apply.Op, cmdOffset int64, db int) error {
	if cmdOffset > 0 && s.r.ckKeys != nil && op.Slot >= 0 && op.Barrier == nil {
		s.valBuf = append(s.valBuf[:0], s.replID...)
		s.valBuf = append(s.valBuf, ' ')
		s.valBuf = strconv.AppendInt(s.valBuf, cmdOffset, 10)
		s.valBuf = append(s.valBuf, ' ')
		s.valBuf = strconv.AppendInt(s.valBuf, int64(db), 10)
		s.wrapBuf, op.N = wrapWithCkpt(s.wrapBuf[:0], op, s.r.ckKeys[op.Slot], s.valBuf)
		op.Cmd = s.wrapBuf
	}
	if err := s.r.applier.Submit(ctx, op); err != nil {
		return &submitError{err}
	}
	s.opsSubmitted.Add(1)
	if op.Offset > s.lastSubmitted.Load() {
		s.lastSubmitted.Store(op.Offset)
	}
	return nil
}

// FullSync implements source.Handler: it decodes the snapshot while it arrives and
// turns every key into RESTORE or bounded chunks of commands.
func (s *shard) FullSync(ctx context.Context, replID string, offset int64, r io.Reader, size int64) error {
	s.state.Store(StateFullSync)
	s.tr.Reset()
	s.replID = replID
	s.skip = nil
	if err := s.emptySlots(ctx); err != nil {
		return err
	}
	s.keysDone.Store(0)
	s.resized = false
	s.bytesDone.Store(0)
	s.bytesTotal.Store(max(size, 0))
	log := s.r.log.With("shard", s.index)
	log.Info("full sync started", "replid", replID, "offset", offset, "size", size)
	start := time.Now()
	cr := &countingReader{r: r, n: &s.bytesDone}
	dec := rdb.NewDecoder(cr, s.r.cfg.Decode)
	ver, err := dec.Version()
	if err != nil {
		return fmt.Errorf("xsync/replicator: shard %d: snapshot: %w", s.index, err)
	}
	for {
		if err := s.r.waitPaused(ctx); err != nil {
			return err
		}
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("xsync/replicator: shard %d: snapshot: %w", s.index, err)
		}
		if err := s.record(ctx, rec, ver); err != nil {
			return err
		}
	}
	if err := s.fullSyncDone(ctx, offset); err != nil {
		return err
	}
	// Until its ops are acknowledged the snapshot is not applied; the offset alone
	// cannot tell (a fresh master's snapshot ends at offset 0).
	if err := s.r.applier.Flush(ctx); err != nil {
		return err
	}
	s.received.Store(offset)
	s.handled.Store(offset)
	s.lag.received(offset, s.r.cfg.Now())
	st := s.conv.Stats
	log.Info("full sync read", "keys", s.keysDone.Load(), "bytes", cr.n.Load(), "restored", st.Restored, "rebuilt", st.Rebuilt,
		"expired", st.Expired, "seconds", time.Since(start).Seconds())
	s.state.Store(StateStream)
	return nil
}

// emptySlots runs before a full sync of a shard whose data is already on the
// destination (or with Config.EmptyFirst): the checkpoints of its slots go first
// (a crash during the full sync must not resume from them), then its keys.
func (s *shard) emptySlots(ctx context.Context) error {
	if !s.synced.Load() && !s.r.cfg.EmptyFirst {
		return nil
	}
	s.r.log.Info("emptying the shard's slots on the destination before the full sync", "shard", s.index)
	if s.r.ckKeys != nil {
		for _, r := range s.ownedRanges() {
			for sl := r.Start; sl <= r.End; sl++ {
				cmd := resp.AppendCommand(s.wrapBuf[:0], []byte("DEL"), s.r.ckKeys[sl])
				if err := s.submit(ctx, apply.Op{Source: s.index, Slot: sl, Cmd: cmd, N: 1}); err != nil {
					return err
				}
				s.wrapBuf = cmd
			}
		}
	}
	if owned := s.ownedRanges(); s.r.ckKeys != nil && len(owned) > 0 {
		first := owned[0].Start
		cmd := resp.AppendCommand(s.wrapBuf[:0], []byte("DEL"), wmKey(s.r.cfg.Translate.InternalPrefix, first))
		s.wrapBuf = cmd
		if err := s.submit(ctx, apply.Op{Source: s.index, Slot: first, Cmd: cmd, N: 1}); err != nil {
			return err
		}
	}
	return s.submit(ctx, s.tr.EmptyOp())
}

// fullSyncDone marks the end of a snapshot: with checkpoints, every owned slot's
// checkpoint gets the snapshot's offset (after the slot's keys, in the slot's
// order); without, a PING carries the offset boundary. Once the last one is
// acknowledged, every key of the snapshot is on the destination.
func (s *shard) fullSyncDone(ctx context.Context, offset int64) error {
	s.synced.Store(true)
	if s.r.ckKeys == nil {
		return s.submit(ctx, apply.Op{Source: s.index, Offset: offset, Slot: 0, Cmd: pingMarker, N: 1})
	}
	val := ckpt{replID: s.replID, offset: offset}.encode()
	owned := s.ownedRanges()
	var last apply.Op
	for i, r := range owned {
		for sl := r.Start; sl <= r.End; sl++ {
			cmd := resp.AppendCommandString(s.wrapBuf[:0], "SET", string(s.r.ckKeys[sl]), val)
			s.wrapBuf = cmd
			op := apply.Op{Source: s.index, Slot: sl, Cmd: cmd, N: 1}
			if i == len(owned)-1 && sl == r.End {
				last = op
				break
			}
			if err := s.submit(ctx, op); err != nil {
				return err
			}
		}
	}
	if last.Cmd == nil { // a shard that owns no slot
		return s.submit(ctx, apply.Op{Source: s.index, Offset: offset, Slot: 0, Cmd: pingMarker, N: 1})
	}
	last.Offset = offset
	return s.submit(ctx, last)
}

// record converts one snapshot record.
func (s *shard) record(ctx context.Context, rec *rdb.Record, ver int) error {
	switch rec.Kind {
	case rdb.KindResizeDB:
		if !s.resized { // the snapshot's hints replace the INFO keyspace estimate
			s.keysTotal.Store(0)
			s.resized = true
		}
		s.keysTotal.Add(int64(rec.DBSize))
		return nil
	case rdb.KindScript:
		s.r.applier.LoadScript(rec.AuxValue)
		return nil
	case rdb.KindFunction:
		return s.conv.Convert(rec, ver, func(cmd []byte, n int) error {
			return s.submit(ctx, apply.Op{Source: s.index, Slot: apply.AllMasters, Cmd: cmd, N: n, Key: rec.FuncName})
		})
	case rdb.KindKey:
	default:
		return nil
	}
	key, ok := s.kf.Target(s.keyBuf[:0], rec.DB, rec.Key)
	if !ok {
		s.keysDone.Add(1)
		return nil
	}
	s.keyBuf = key
	rec.Key = key
	slot := slots.Slot(key)
	if s.r.cfg.Conflict != ConflictReplace && !s.conv.Restorable(rec, ver) {
		// RESTORE without REPLACE refuses an existing key by itself; a key written
		// as commands would be merged into it, so it is looked up first.
		if skip, err := s.conflict(ctx, slot, key, rec.DB); skip || err != nil {
			return err
		}
	}
	// A standalone destination keeps databases: the key goes to its target db,
	// and the connection is left in db 0, as every op leaves it.
	var selectDB []byte
	if tg, _ := s.kf.DB(rec.DB); s.r.applier.Standalone() && tg.DB != 0 {
		selectDB = resp.AppendCommand(nil, []byte("SELECT"), strconv.AppendInt(nil, int64(tg.DB), 10))
	}
	err := s.conv.Convert(rec, ver, func(cmd []byte, n int) error {
		if selectDB != nil {
			s.selBuf = append(append(append(s.selBuf[:0], selectDB...), cmd...), selectZero...)
			cmd, n = s.selBuf, n+2
		}
		return s.submit(ctx, apply.Op{Source: s.index, Slot: slot, Cmd: cmd, N: n, Key: key})
	})
	if err != nil {
		var se *submitError
		if errors.As(err, &se) {
			return se.err
		}
		if errors.Is(err, convert.ErrModule) || errors.Is(err, convert.ErrUnsupported) {
			s.errors.Add(1)
			s.r.log.Warn("key skipped", "shard", s.index, "key", printable(key), "err", err)
			return nil
		}
		return fmt.Errorf("xsync/replicator: shard %d: key %s: %w", s.index, printable(key), err)
	}
	s.keysDone.Add(1)
	return nil
}

// conflict applies the conflict policy to a snapshot key written as commands:
// skip reports that the key exists on the destination and is left as it is.
func (s *shard) conflict(ctx context.Context, slot int, key []byte, db int) (skip bool, err error) {
	args := [][]byte{[]byte("EXISTS"), key}
	if tg, _ := s.kf.DB(db); s.r.applier.Standalone() && tg.DB != 0 {
		// A standalone destination: look in the key's database through a
		// transaction, which leaves the connection in db 0.
		v, err := s.r.applier.Do(ctx, slot, []byte("EVAL"), []byte("redis.call('SELECT', ARGV[1]) local n = redis.call('EXISTS', KEYS[1]) redis.call('SELECT', 0) return n"),
			[]byte("1"), key, strconv.AppendInt(nil, int64(tg.DB), 10))
		if err != nil {
			return false, err
		}
		if v.Int == 0 {
			return false, nil
		}
	} else {
		v, err := s.r.applier.Do(ctx, slot, args...)
		if err != nil {
			return false, err
		}
		if v.Int == 0 {
			return false, nil
		}
	}
	if s.r.cfg.Conflict == ConflictStop {
		return false, fmt.Errorf("xsync/replicator: key %s already exists on the destination (--conflict stop): overwrite such keys (--conflict replace), keep them (--conflict skip), or empty the destination first", printable(key))
	}
	s.conflicts.Add(1)
	s.errors.Add(1)
	if n := s.conflicts.Load(); n <= 10 || n%1000 == 0 {
		s.r.log.Warn("key kept: it exists on the destination (--conflict skip)", "shard", s.index, "key", printable(key), "count", n)
	}
	s.keysDone.Add(1)
	return true, nil
}

// Continue implements source.Handler.
func (s *shard) Continue(ctx context.Context, replID string, offset int64) error {
	// A link lost inside MULTI resumes at the MULTI, as a Redis replica does: the
	// transaction comes again, so the half that was buffered goes.
	if s.tr.InTransaction() {
		s.tr.Reset()
	}
	s.replID = replID
	s.received.Store(offset)
	s.handled.Store(offset)
	s.state.Store(StateStream)
	return nil
}

// Command implements source.Handler.
func (s *shard) Command(ctx context.Context, db int, args [][]byte, offset int64) error {
	if err := s.r.waitPaused(ctx); err != nil {
		return err
	}
	now := s.r.cfg.Now()
	s.received.Store(offset)
	s.lag.received(offset, now)
	if !s.tr.InTransaction() {
		if rs := s.ranges.Swap(nil); rs != nil {
			if err := s.tr.SetSourceSlots(*rs); err != nil {
				return err
			}
		}
	}
	if !s.standalone && s.r.nShards.Load() > 1 && isMoveHalf(args) {
		s.r.moves.order.Lock()
		defer s.r.moves.order.Unlock()
		if args = s.moveArgs(args); args == nil {
			s.setHandled(offset, db) // a DEL that only completed moves of keys
			return nil
		}
	}
	if s.isNewerRestore(args) {
		return s.restore(ctx, db, args, offset, now)
	}
	ops, err := s.tr.Translate(db, args, offset, now)
	if err != nil {
		s.errors.Add(1)
		return fmt.Errorf("xsync/replicator: shard %d: offset %d: %w", s.index, offset, err)
	}
	if s.skip != nil && offset > s.skipUntil {
		s.skip = nil
	}
	for _, op := range ops {
		if s.skip != nil && op.Slot >= 0 && op.Barrier == nil && s.skip[op.Slot] >= offset {
			continue // applied before the restart
		}
		if err := s.submitCkpt(ctx, op, offset, db); err != nil {
			return err
		}
	}
	if !s.tr.InTransaction() {
		s.setHandled(offset, db)
	}
	return nil
}

// setHandled records that every command up to offset was handed over; db is the
// database selected there.
func (s *shard) setHandled(offset int64, db int) {
	s.posMu.Lock()
	s.pos = ckpt{replID: s.replID, offset: offset, db: db}
	s.posMu.Unlock()
	s.handled.Store(offset)
}

// writeWatermark stores the offset up to which everything of the shard is on
// the destination (see checkpoint.go), when it moved.
func (s *shard) writeWatermark(ctx context.Context) error {
	if s.state.Load().(State) != StateStream {
		return nil
	}
	s.posMu.Lock()
	pos := s.pos
	s.posMu.Unlock()
	if pos.offset <= s.wmWritten || pos.replID == "" {
		return nil
	}
	// pos was read before the applied offset: if that covers pos, all of pos is applied.
	if s.applied() < pos.offset {
		return nil
	}
	owned := s.ownedRanges()
	if len(owned) == 0 {
		return nil
	}
	val := pos.encode() + " " + rangesString(owned)
	prefix := s.r.cfg.Translate.InternalPrefix
	if _, err := s.r.applier.Do(ctx, owned[0].Start, []byte("SET"), wmKey(prefix, owned[0].Start), []byte(val)); err != nil {
		return err
	}
	s.wmWritten = pos.offset
	return nil
}

// Progress implements source.Progresser: stream bytes without commands (PING,
// SELECT, REPLCONF) advance the handled offset.
func (s *shard) Progress(ctx context.Context, db int, offset int64) error {
	s.received.Store(offset)
	if !s.tr.InTransaction() {
		s.setHandled(offset, db)
	}
	return nil
}

// applied returns the offset up to which the destination has everything: the
// handled offset once every op submitted is acknowledged, else the applier's
// watermark. The reads go handled, then lastSubmitted, then the watermark, so a
// command handed over between them cannot be counted as applied.
func (s *shard) applied() int64 {
	h := s.handled.Load()
	ls := s.lastSubmitted.Load()
	ap := s.r.applier.Applied(s.index)
	if ap >= ls {
		return max(h, ap)
	}
	return ap
}

func (s *shard) status(link source.ShardStatus, now time.Time) ShardStatus {
	st := ShardStatus{
		Index:      s.index,
		Addr:       link.Node.Addr,
		ReplID:     link.Link.ReplID,
		KeysDone:   s.keysDone.Load(),
		KeysTotal:  s.keysTotal.Load(),
		BytesDone:  s.bytesDone.Load(),
		BytesTotal: s.bytesTotal.Load(),
		Errors:     s.errors.Load(),
		FullSyncs:  link.Link.FullSyncs,
		LastError:  link.Link.LastError,
	}
	st.State = s.state.Load().(State)
	switch link.Link.State {
	case source.StateReconnecting:
		st.State = StateReconnecting
	case source.StateHandshake:
		st.State = StateHandshake
	case source.StateFullSync:
		st.State = StateFullSync
	case source.StateStopped:
		st.State = StateStopped
	}
	st.ReceivedOffset = max(s.received.Load(), link.Link.Received)
	// The source's own offset (polled every second) also counts what is still
	// waiting on the source; it may lag a moment behind what was received.
	st.SourceOffset = max(st.ReceivedOffset, s.sourceOffset.Load())
	st.AppliedOffset = s.applied()
	if st.State == StateStream || st.State == StateReconnecting {
		st.LagBytes = max(0, st.SourceOffset-st.AppliedOffset)
		st.LagSeconds = s.lag.lag(st.AppliedOffset, st.ReceivedOffset, now).Seconds()
	}
	if st.LagBytes == 0 {
		st.LagSeconds = 0
	}
	st.OpsSubmitted = s.opsSubmitted.Load()
	return st
}

// submitError is an error of the applier returned by Submit: it belongs to the
// whole job, not to the key being converted when it surfaced.
type submitError struct{ err error }

func (e *submitError) Error() string { return e.err.Error() }
func (e *submitError) Unwrap() error { return e.err }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// printable shortens a key for logs.
func printable(b []byte) string {
	const maxLen = 200
	if len(b) > maxLen {
		return fmt.Sprintf("%q...(%d bytes)", b[:maxLen], len(b))
	}
	return fmt.Sprintf("%q", b)
}
