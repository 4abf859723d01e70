package replicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// The full sync of a shard: the snapshot is decoded while it arrives, every key
// becomes a RESTORE (or bounded chunks of commands), and the ops go to the
// applier in batches (snapbatch.go).

// FullSync implements source.Handler: it decodes the snapshot while it arrives and
// turns every key into RESTORE or bounded chunks of commands.
func (s *shard) FullSync(ctx context.Context, replID string, offset int64, r io.Reader, size int64) (err error) {
	s.state.Store(StateFullSync)
	defer func() {
		if err != nil { // a failed snapshot's last keys are not sent: it starts over
			s.batch.drop()
		}
	}()
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
		if s.r.isPaused() {
			// What is read is applied before the pause takes hold.
			if err := s.flushSnap(ctx); err != nil {
				return err
			}
			if err := s.r.waitPaused(ctx); err != nil {
				return err
			}
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
	if ok, err := s.mayEmpty(ctx); !ok || err != nil {
		return err
	}
	return s.submit(ctx, s.tr.EmptyOp())
}

// fullSyncDone marks the end of a snapshot: with checkpoints, every owned slot's
// checkpoint gets the snapshot's offset (after the slot's keys, in the slot's
// order); without, a PING carries the offset boundary. Once the last one is
// acknowledged, every key of the snapshot is on the destination.
func (s *shard) fullSyncDone(ctx context.Context, offset int64) error {
	s.synced.Store(true)
	s.r.marks.setRanges(s.ownedRanges(), offset, s.index)
	s.lastUnslotted.Store(0)
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
			if err := s.submitSnap(ctx, op); err != nil {
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
		err := s.conv.Convert(rec, ver, func(cmd []byte, n int) error {
			return s.submit(ctx, apply.Op{Source: s.index, Slot: apply.AllMasters, Cmd: cmd, N: n, Key: rec.FuncName})
		})
		s.countDropped()
		return err
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
	if skip, err := s.snapCollision(key); skip || err != nil {
		return err
	}
	if s.r.cfg.Conflict != ConflictReplace && !s.conv.Restorable(rec, ver) {
		// RESTORE without REPLACE refuses an existing key by itself; a key written
		// as commands would be merged into it, so it is looked up first (after
		// the keys read before it are sent).
		if err := s.flushSnap(ctx); err != nil {
			return err
		}
		if skip, err := s.conflict(ctx, slot, key, rec.DB); skip || err != nil {
			return err
		}
	}
	// A standalone destination keeps databases: the key goes to its target db,
	// and the connection is left in db 0, as every op leaves it.
	k := &s.snapKey
	*k = snapKey{ctx: ctx, slot: slot, key: key}
	if tg, _ := s.kf.DB(rec.DB); s.r.applier.Standalone() && tg.DB != 0 {
		k.selectDB = resp.AppendCommand(nil, []byte("SELECT"), strconv.AppendInt(nil, int64(tg.DB), 10))
	}
	if s.emitKey == nil {
		s.emitKey = s.emitSnapKey // bound once: a closure per key would be an allocation per key
	}
	err := s.conv.Convert(rec, ver, s.emitKey)
	*k = snapKey{}
	s.countDropped()
	if err != nil {
		var se *submitError
		if errors.As(err, &se) {
			return se.err
		}
		if errors.Is(err, snapshot.ErrModule) {
			s.errors.Add(1)
			s.r.log.Warn("key skipped", "shard", s.index, "key", printable(key), "err", err)
			return nil
		}
		return fmt.Errorf("xsync/replicator: shard %d: key %s: %w", s.index, printable(key), err)
	}
	s.keysDone.Add(1)
	return nil
}

// countDropped publishes what the converter left out under --downgrade drop
// (its Stats belong to the full-sync goroutine; Status reads the atomic).
func (s *shard) countDropped() {
	st := &s.conv.Stats
	s.dropped.Store(st.DroppedFields + st.DroppedFunctions + st.DroppedStreamMeta + st.DroppedKeys)
}

// snapKey is what emitSnapKey needs of the key being converted.
type snapKey struct {
	ctx      context.Context
	slot     int
	key      []byte
	selectDB []byte // SELECT of a standalone destination's target db, or nil
}

// emitSnapKey is the snapshot.Emit of a snapshot key (s.snapKey).
func (s *shard) emitSnapKey(cmd []byte, n int) error {
	k := &s.snapKey
	if k.selectDB != nil {
		s.selBuf = append(append(append(s.selBuf[:0], k.selectDB...), cmd...), selectZero...)
		cmd, n = s.selBuf, n+2
	}
	return s.submitSnap(k.ctx, apply.Op{Source: s.index, Slot: k.slot, Cmd: cmd, N: n, Key: k.key})
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
