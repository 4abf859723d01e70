package replicator

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/snapshot"
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
	conv  *snapshot.Converter
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

	resized     bool                // a RESIZEDB hint of the current snapshot was seen
	conflicts   atomic.Int64        // snapshot keys kept because they existed (ConflictSkip)
	collisions  atomic.Int64        // snapshot keys another job on the destination declared (shared.go)
	standalone  bool                // the source is a standalone server
	argBuf      [][]byte            // moveArgs' rewritten command
	moveDone    []chan struct{}     // moveArgs: moves whose DEL this command completes
	restoreConv *snapshot.Converter // for stream RESTOREs newer than the destination (restore.go)
	posMu       sync.Mutex
	pos         ckpt  // replid, handled offset and the db selected there; guarded by posMu
	wmWritten   int64 // the last watermark written (watermark goroutine only)
	wmCand      ckpt  // pos at the previous watermark tick (watermark goroutine only)
	bareArgs    [][]byte
	now         time.Time // the clock at the last read from the master (Command)
	nowFresh    bool      // now may be reused: no read from the master since
	flushing    bool      // the link calls Flush before each read (source.Flusher)

	// Progress, read by Status from other goroutines.
	state         atomic.Value // State
	received      atomic.Int64 // offset of the last command received
	handled       atomic.Int64 // offset up to which every command was handed to the applier
	lastSubmitted atomic.Int64 // highest Offset of an op submitted
	lastUnslotted atomic.Int64 // offset of the last stream op that names no single slot (a barrier, FLUSHALL, ...)
	opsSubmitted  atomic.Int64 // ops handed to the applier
	opsBare       atomic.Int64 // stream ops sent without a checkpoint (assignments, checkpoint.go)
	sourceOffset  atomic.Int64 // master_repl_offset of the followed node, polled (replicator.pollSources)
	keysDone      atomic.Int64
	keysTotal     atomic.Int64
	bytesDone     atomic.Int64
	bytesTotal    atomic.Int64
	errors        atomic.Int64
	dropped       atomic.Int64 // snapshot: what the destination cannot hold, left out (countDropped)
	lag           *lagClock

	keyBuf  []byte
	batch   snapBatch     // snapshot ops not yet handed to the applier (snapbatch.go)
	snapKey snapKey       // the snapshot key being converted (fullsync.go)
	emitKey snapshot.Emit // s.emitSnapKey
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
	tc.DestVersion = v
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
	cc.Target = v
	if cc.Now == nil {
		cc.Now = r.cfg.Now
	}
	conv, err := snapshot.New(cc)
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
	if err := s.flushSnap(ctx); err != nil { // the batch's ops go first
		return err
	}
	s.wrapCkpt(&op, cmdOffset, db)
	if err := s.r.applier.Submit(ctx, op); err != nil {
		return &submitError{err}
	}
	s.opsSubmitted.Add(1)
	if op.Offset > s.lastSubmitted.Load() {
		s.lastSubmitted.Store(op.Offset)
	}
	return nil
}

// wrapCkpt puts the slot's checkpoint into op (see submitCkpt); op.Cmd then
// points into s.wrapBuf, valid until the next call.
func (s *shard) wrapCkpt(op *apply.Op, cmdOffset int64, db int) {
	if cmdOffset > 0 && s.r.ckKeys != nil && op.Slot >= 0 && op.Barrier == nil {
		s.valBuf = append(s.valBuf[:0], s.replID...)
		s.valBuf = append(s.valBuf, ' ')
		s.valBuf = strconv.AppendInt(s.valBuf, cmdOffset, 10)
		s.valBuf = append(s.valBuf, ' ')
		s.valBuf = strconv.AppendInt(s.valBuf, int64(db), 10)
		s.wrapBuf, op.N = wrapWithCkpt(s.wrapBuf[:0], *op, s.r.ckKeys[op.Slot], s.valBuf)
		op.Cmd = s.wrapBuf
	}
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
	if s.r.isPaused() {
		// What is read is applied before the pause takes hold.
		if err := s.flushSnap(ctx); err != nil {
			return err
		}
		if err := s.r.waitPaused(ctx); err != nil {
			return err
		}
	}
	// One clock read per read from the master: the commands of one read arrived
	// together (Flush, called before each read, marks the time stale).
	if !s.nowFresh {
		s.now, s.nowFresh = s.r.cfg.Now(), s.flushing
	}
	now := s.now
	s.received.Store(offset)
	s.lag.received(offset, now)
	if !s.tr.InTransaction() {
		if rs := s.ranges.Swap(nil); rs != nil {
			if err := s.tr.SetSourceSlots(*rs); err != nil {
				return err
			}
		}
	}
	moved := false // a half of a key's move between source shards: ordered across shards, never bare
	if !s.standalone && s.r.nShards.Load() > 1 && isMoveHalf(args) {
		moved = true
		var err error
		if args, err = s.moveHalves(ctx, args); err != nil {
			return err
		}
		defer s.r.moves.order.Unlock()
		if args == nil {
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
		s.noteOp(op, offset)
		ckOff := offset
		if !moved && op.N == 1 && s.r.ckKeys != nil {
			var bare bool
			if bare, s.bareArgs = bareOp(op.Cmd, s.bareArgs); bare {
				ckOff = 0 // an assignment: replaying it is harmless (checkpoint.go)
				s.opsBare.Add(1)
			}
		}
		var err error
		if moved {
			err = s.submitCkpt(ctx, op, ckOff, db) // at once, under the moves' order lock
		} else {
			err = s.submitStream(ctx, op, ckOff, db)
		}
		if err != nil {
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
		s.wmCand = ckpt{}
		return nil
	}
	s.posMu.Lock()
	pos := s.pos
	s.posMu.Unlock()
	// pos was read before the applied offset: if that covers pos, all of pos is
	// applied. Under a steady load the applied offset is always a little behind
	// the newest pos, so the pos of the previous tick is the one written then.
	ap := s.applied()
	cand := s.wmCand
	s.wmCand = pos
	switch {
	case pos.replID != "" && ap >= pos.offset:
	case cand.replID == pos.replID && cand.replID != "" && ap >= cand.offset && cand.offset <= pos.offset:
		pos = cand
	default:
		return nil
	}
	if pos.offset <= s.wmWritten {
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
	st.OpsWithoutCheckpoint = s.opsBare.Load()
	st.DowngradeDropped = s.dropped.Load() + s.tr.Stats().Unsupported
	return st
}

// submitError is an error of the applier returned by Submit: it belongs to the
// whole job, not to the key being converted when it surfaced.
type submitError struct{ err error }

func (e *submitError) Error() string { return e.err.Error() }
func (e *submitError) Unwrap() error { return e.err }

// printable shortens a key for logs.
func printable(b []byte) string {
	const maxLen = 200
	if len(b) > maxLen {
		return fmt.Sprintf("%q...(%d bytes)", b[:maxLen], len(b))
	}
	return fmt.Sprintf("%q", b)
}
