package replicator

import (
	"context"

	"github.com/xsync/xsync/replicator/apply"
)

// A snapshot turns into one op per key, by the hundred thousand per second. The
// shard collects them and hands them to the applier in batches
// (apply.Applier.SubmitBatch): one lock of the applier and one wake-up of each
// destination connection per batch instead of per key, and bigger writes. Every
// op keeps its own reply, retries and error report. Any other submit of the
// shard sends the batch first, so the order of the shard's ops is the order of
// its calls.

const (
	snapBatchOps   = 128                   // ops per batch at most
	snapBatchBytes = apply.BatchBufferSize // bytes of commands and keys per batch at most
)

// snapBatch is the shard's batch being collected. Its ops' Cmd and Key point
// into buf, which never grows past its capacity (a batch that would is sent
// first), so they stay valid. SubmitBatch keeps them without a copy: once a
// batch is sent its buf belongs to the applier, which hands it out again
// (BatchBuffer) when every op of the batch is acknowledged.
type snapBatch struct {
	ops       []apply.Op
	buf       []byte
	maxOffset int64
}

// submitSnap adds op to the batch, sending the batch when it is full. op's
// slices are copied: the caller may reuse them.
func (s *shard) submitSnap(ctx context.Context, op apply.Op) error {
	need := len(op.Cmd) + len(op.Key)
	if need > snapBatchBytes/2 { // a big op alone: no copy into the batch
		if err := s.flushSnap(ctx); err != nil {
			return err
		}
		return s.submitCkpt(ctx, op, 0, 0)
	}
	return s.addToBatch(ctx, op, need)
}

// submitStream submits a stream op with its slot's checkpoint (see submitCkpt)
// through the batch: the link calls Flush (below) before it may wait for the
// master, so the ops of all the commands it had at hand go to the applier
// together, and none waits for the next command. Barriers, ops for every
// master and big ops go alone, after the batch.
func (s *shard) submitStream(ctx context.Context, op apply.Op, cmdOffset int64, db int) error {
	if op.Barrier != nil || op.Slot < 0 || len(op.Cmd)+len(op.Key) > snapBatchBytes/4 {
		return s.submitCkpt(ctx, op, cmdOffset, db)
	}
	s.wrapCkpt(&op, cmdOffset, db)
	if err := s.addToBatch(ctx, op, len(op.Cmd)+len(op.Key)); err != nil {
		return err
	}
	// Counted as submitted now: applied() must not take the handled offset for
	// applied while the op waits in the batch.
	if op.Offset > s.lastSubmitted.Load() {
		s.lastSubmitted.Store(op.Offset)
	}
	return nil
}

// Flush implements source.Flusher. The link calls it before each read from the
// master, so the clock Command read is stale from now on.
func (s *shard) Flush(ctx context.Context) error {
	s.flushing, s.nowFresh = true, false
	return s.flushSnap(ctx)
}

// addToBatch copies op, of need bytes, into the batch, sending the batch first
// when op does not fit.
func (s *shard) addToBatch(ctx context.Context, op apply.Op, need int) error {
	b := &s.batch
	if len(b.ops) >= snapBatchOps || len(b.buf)+need > cap(b.buf) {
		if err := s.flushSnap(ctx); err != nil {
			return err
		}
	}
	if cap(b.buf) == 0 {
		b.buf = s.r.applier.BatchBuffer()
	}
	op.Cmd = b.keep(op.Cmd)
	if op.Key != nil {
		op.Key = b.keep(op.Key)
	}
	b.ops = append(b.ops, op)
	b.maxOffset = max(b.maxOffset, op.Offset)
	return nil
}

// keep copies p into buf (which has room) and returns the copy.
func (b *snapBatch) keep(p []byte) []byte {
	n := len(b.buf)
	b.buf = append(b.buf, p...)
	return b.buf[n:len(b.buf):len(b.buf)]
}

// flushSnap hands the batch to the applier.
func (s *shard) flushSnap(ctx context.Context) error {
	b := &s.batch
	if len(b.ops) == 0 {
		return nil
	}
	err := s.r.applier.SubmitBatch(ctx, b.ops, b.buf)
	if err != nil && ctx.Err() != nil {
		// Stopped while waiting for room: nothing was queued. The ops stay for
		// the next flush, the link's offset already counts them as handled.
		return &submitError{err}
	}
	n, off := len(b.ops), b.maxOffset
	b.buf = nil // the applier's now
	b.drop()
	if err != nil {
		return &submitError{err}
	}
	s.opsSubmitted.Add(int64(n))
	if off > s.lastSubmitted.Load() {
		s.lastSubmitted.Store(off)
	}
	return nil
}

// drop forgets the batch (after it was sent, or when its snapshot failed).
func (b *snapBatch) drop() {
	clear(b.ops)
	b.ops, b.buf, b.maxOffset = b.ops[:0], b.buf[:0], 0
}
