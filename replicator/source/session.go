package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// session is one connection of a Link.
type session struct {
	l            *Link
	c            *conn.Conn
	wmu          sync.Mutex // serialises writes: ACK ticker and GETACK answers
	transferDone chan struct{}
	doneOnce     sync.Once
	leftover     []byte // stream bytes read together with the snapshot's EOF mark

	// Stream state, owned by the stream goroutine.
	prog    Progresser
	db      int
	off     int64 // offset after the last command read
	inTx    bool  // between MULTI and EXEC/DISCARD
	txStart int64 // offset before that MULTI
	txDB    int   // db selected before that MULTI
}

func (s *session) endTransfer() { s.doneOnce.Do(func() { close(s.transferDone) }) }

// run performs the handshake and the sync, then follows the stream.
func (s *session) run(ctx context.Context) (streamed bool, err error) {
	l := s.l
	rep, err := s.handshake()
	if err != nil {
		return false, err
	}
	g, gctx := errgroup.WithContext(ctx)
	stop := context.AfterFunc(gctx, func() { s.c.Close() })
	defer stop()
	g.Go(func() error { return s.ackLoop(gctx) })
	g.Go(func() error {
		if rep.full {
			if err := s.fullSync(gctx, rep); err != nil {
				return err
			}
		} else if err := s.resume(gctx, rep); err != nil {
			return err
		}
		streamed = true
		l.st.state.Store(int32(StateStream))
		return s.stream(gctx)
	})
	err = g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return streamed, err
}

// resume handles +CONTINUE.
func (s *session) resume(ctx context.Context, rep psyncReply) error {
	l := s.l
	replID := l.st.getReplID()
	if rep.replID != "" && rep.replID != replID {
		l.cfg.Logger.Info("master changed the replication id (failover): following it",
			"node", l.cfg.Addr, "old_replid", replID, "new_replid", rep.replID)
		replID = rep.replID
		l.st.setReplID(replID)
	}
	l.st.partialSyncs.Add(1)
	off := l.st.offset.Load()
	l.st.received.Store(off)
	l.cfg.Logger.Info("partial resync accepted", "node", l.cfg.Addr, "replid", replID, "offset", off)
	s.endTransfer()
	if err := l.h.Continue(ctx, replID, off); err != nil {
		return handlerErr(ctx, "Continue", err)
	}
	return nil
}

// fullSync handles +FULLRESYNC: it reads the snapshot framing and hands the bytes
// to the Handler as they arrive.
func (s *session) fullSync(ctx context.Context, rep psyncReply) error {
	l := s.l
	addr := l.cfg.Addr
	l.st.state.Store(int32(StateFullSync))
	l.st.fullSyncs.Add(1)
	// From now on the old stream position is gone: a failure before the end of the
	// snapshot must lead to a new full sync.
	l.st.setReplID("")
	l.st.offset.Store(rep.offset)
	l.st.received.Store(rep.offset)
	l.st.db.Store(0)
	l.st.snapBytes.Store(0)
	l.st.snapSize.Store(-1)
	line, err := s.readLine()
	if err != nil {
		return fmt.Errorf("xsync/source: %s: snapshot header: %w", addr, err)
	}
	size, mark, err := parseRDBHeader(line)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrProtocol, addr, err)
	}
	l.st.snapSize.Store(size)
	l.cfg.Logger.Info("full sync: receiving the snapshot", "node", addr, "replid", rep.replID,
		"offset", rep.offset, "size", size, "diskless", mark != nil)

	sr := s.snapshotReader(ctx, size, mark)
	var rdb io.Reader = sr
	handSize := size
	if l.cfg.SpoolDir != "" {
		f, n, cleanup, err := spool(ctx, l.cfg.SpoolDir, sr)
		if err != nil {
			return fmt.Errorf("xsync/source: %s: %w", addr, err)
		}
		defer cleanup()
		rdb, handSize = f, n
	}
	herr := l.h.FullSync(ctx, rep.replID, rep.offset, rdb, handSize)
	if sr.err != nil { // the network failed; the Handler may have wrapped it
		return fmt.Errorf("xsync/source: %s: %w", addr, sr.err)
	}
	if herr != nil {
		return handlerErr(ctx, "FullSync", herr)
	}
	if err := sr.drain(); err != nil {
		return fmt.Errorf("xsync/source: %s: %w", addr, err)
	}
	l.st.setReplID(rep.replID)
	l.cfg.Logger.Info("full sync: snapshot done", "node", addr, "bytes", l.st.snapBytes.Load())
	return nil
}

// snapshotReader stacks the readers of the transfer: raw bytes (rate-limited when
// configured), the framing ($<len> or the EOF mark), then counting.
func (s *session) snapshotReader(ctx context.Context, size int64, mark []byte) *snapReader {
	l := s.l
	var src io.Reader = s.c.Reader()
	if l.cfg.SnapshotRateLimit > 0 {
		src = &rateReader{ctx: ctx, r: src, b: newTokenBucket(l.cfg.SnapshotRateLimit, l.cfg.Clock)}
	}
	var eofR *eofReader
	if mark != nil {
		eofR = newEOFReader(src, mark)
		src = eofR
	} else {
		src = &lenReader{src: src, left: size, size: size}
	}
	return &snapReader{src: src, count: func(n int) { l.st.snapBytes.Add(int64(n)) }, onEnd: func() {
		if eofR != nil {
			s.leftover = eofR.leftover
			l.st.snapSize.Store(eofR.total)
		}
		s.endTransfer()
	}}
}

// stream reads the command stream, keeping the exact master offset.
func (s *session) stream(ctx context.Context) error {
	l := s.l
	r := s.c.Reader()
	if len(s.leftover) > 0 {
		r = resp.NewReader(io.MultiReader(bytes.NewReader(s.leftover), r), l.cfg.Conn.Limits)
	}
	s.prog, _ = l.h.(Progresser)
	s.db = int(l.st.db.Load())
	s.off = l.st.offset.Load()
	var flushErr error
	if fl, ok := l.h.(Flusher); ok {
		r.SetBeforeRead(func() error {
			flushErr = fl.Flush(ctx)
			return flushErr
		})
		defer func() {
			r.SetBeforeRead(nil)
			if flushErr == nil {
				fl.Flush(ctx) //nolint:errcheck // the stream ended anyway; what stays is sent by the next submit
			}
		}()
	}
	for {
		args, n, err := r.ReadCommand()
		if flushErr != nil {
			return handlerErr(ctx, "Flush", flushErr)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("connection closed by the master: %w", io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("xsync/source: %s: stream at offset %d: %w", l.cfg.Addr, s.off, err)
		}
		if err := s.dispatch(ctx, args, n); err != nil {
			return err
		}
	}
}

// dispatch handles one command of n bytes on the wire. It allocates nothing.
//
// Like a Redis replica, the link does not count a transaction as handled until its
// EXEC: inside MULTI the resume offset (Status.Offset, the ACKs) stays before the
// MULTI, so a session lost mid-transaction resumes at the MULTI, and Continue tells
// the Handler to drop the unfinished transaction it was given.
func (s *session) dispatch(ctx context.Context, args [][]byte, n int) error {
	l := s.l
	before := s.off
	s.off += int64(n)
	off := s.off
	l.st.received.Store(off)
	forHandler := len(args) > 0
	getack := false
	if forHandler {
		switch {
		case eqFold(args[0], "PING"):
			forHandler = false
		case eqFold(args[0], "SELECT"):
			if len(args) != 2 {
				return fmt.Errorf("%w: %s: SELECT with %d arguments at offset %d", ErrProtocol, l.cfg.Addr, len(args)-1, off)
			}
			d, ok := parseDB(args[1])
			if !ok {
				return fmt.Errorf("%w: %s: SELECT %q at offset %d", ErrProtocol, l.cfg.Addr, clip(string(args[1])), off)
			}
			s.db = d
			forHandler = false
		case eqFold(args[0], "REPLCONF"):
			forHandler = false
			getack = len(args) >= 2 && eqFold(args[1], "GETACK")
		case eqFold(args[0], "MULTI"):
			if !s.inTx {
				s.inTx, s.txStart, s.txDB = true, before, s.db
			}
		}
	}
	if forHandler {
		if err := l.h.Command(ctx, s.db, args, off); err != nil {
			return handlerErr(ctx, "Command", err)
		}
		if s.inTx && (eqFold(args[0], "EXEC") || eqFold(args[0], "DISCARD")) {
			s.inTx = false
		}
	} else if s.prog != nil && !s.inTx {
		if err := s.prog.Progress(ctx, s.db, off); err != nil {
			return handlerErr(ctx, "Progress", err)
		}
	}
	if s.inTx {
		l.st.offset.Store(s.txStart)
		l.st.db.Store(int64(s.txDB))
	} else {
		l.st.offset.Store(off)
		l.st.db.Store(int64(s.db))
	}
	if getack {
		return s.sendAck()
	}
	return nil
}

// eqFold compares b with the upper-case ASCII word w, ignoring case.
func eqFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// parseDB reads a SELECT argument: a small non-negative decimal.
func parseDB(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ackLoop sends REPLCONF ACK once the snapshot is received, then every AckInterval:
// a diskless master holds the stream back until the first ACK after the transfer.
func (s *session) ackLoop(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-s.transferDone:
	}
	for {
		if err := s.sendAck(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.l.cfg.Clock.After(s.l.cfg.AckInterval):
		}
	}
}

// sendAck writes REPLCONF ACK <offset handled>.
func (s *session) sendAck() error {
	off := strconv.AppendInt(nil, s.l.st.offset.Load(), 10)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := s.c.Writer()
	w.WriteCommand([]byte("REPLCONF"), []byte("ACK"), off)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("xsync/source: %s: send REPLCONF ACK: %w", s.l.cfg.Addr, err)
	}
	return nil
}

// handlerErr makes a Handler error fatal, unless it only reflects cancellation.
func handlerErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fatal(fmt.Errorf("xsync/source: handler %s: %w", what, err))
}
