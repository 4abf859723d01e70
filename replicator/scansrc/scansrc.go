// Package scansrc copies a source that refuses replication (a managed service
// that renames or blocks SYNC, PSYNC and REPLCONF) by reading its state: on each
// source master it subscribes to keyspace notifications first, then walks the
// keyspace with SCAN, copying every key with DUMP and PTTL into RESTORE ...
// REPLACE (or, when the destination cannot read the payload, into the plain
// commands of the snapshot converter); a key named by a notification is marked
// dirty and copied again, coalesced, or deleted on the destination when it is
// gone. A lost notification connection means changes may have been missed: the
// master is subscribed again and scanned again.
//
// It copies state, not operations: once the source's writes stop the
// destination converges to it; no write is applied twice; there is no
// atomicity across keys and no order across keys (docs/operations.md, "Scan
// mode").
package scansrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/replicator/snapshot"
)

// Defaults of Config.
const (
	DefaultScanCount = 1000
	DefaultBatch     = 256
	DefaultCoalesce  = 200 * time.Millisecond
	DefaultMaxDirty  = 1 << 20
	DefaultPing      = 5 * time.Second
)

// Sink is where the copies go: the applier (routing per slot, pipelining,
// --on-error policies).
type Sink interface {
	Submit(ctx context.Context, op apply.Op) error
	Version() redisver.Version
}

// Config configures a Scanner.
type Config struct {
	// Masters are the source masters, host:port (cluster: every master). Required.
	Masters []string
	// Conn holds the source's credentials, TLS and timeouts; Addr is ignored.
	Conn conn.Options
	// Sink receives the ops. Required.
	Sink Sink
	// Convert tunes the keys written as commands (payloads the destination
	// cannot read, big keys); Target is set from Sink.Version.
	Convert snapshot.Options
	// Filter maps a source key (db 0) to its destination name, or reports that
	// it is not copied. Default: every key, under its own name.
	Filter func(dst, key []byte) ([]byte, bool)
	// SetNotify lets the Scanner CONFIG SET notify-keyspace-events when it lacks
	// what scan mode needs. Default false: Run fails and says what to set.
	SetNotify bool
	// ScanCount is SCAN's COUNT. Default 1000.
	ScanCount int
	// Batch is the most keys read in one pipelined round trip. Default 256.
	Batch int
	// Coalesce is how often dirty keys are copied: a key changed many times
	// within it is copied once. Default 200ms.
	Coalesce time.Duration
	// MaxDirty bounds the dirty keys kept per master; past it they are dropped
	// and the master is scanned again. Default 1<<20.
	MaxDirty int
	// Ping is the keep-alive period of the notification connection; no byte for
	// three periods declares it lost. Default 5s.
	Ping time.Duration
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock of TTLs. Default time.Now.
	Now func() time.Time
}

func (c *Config) validate() error {
	if len(c.Masters) == 0 {
		return errors.New("xsync/scansrc: no source master")
	}
	if c.Sink == nil {
		return errors.New("xsync/scansrc: no Sink")
	}
	if c.ScanCount <= 0 {
		c.ScanCount = DefaultScanCount
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.Coalesce <= 0 {
		c.Coalesce = DefaultCoalesce
	}
	if c.MaxDirty <= 0 {
		c.MaxDirty = DefaultMaxDirty
	}
	if c.Ping <= 0 {
		c.Ping = DefaultPing
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Filter == nil {
		c.Filter = func(dst, key []byte) ([]byte, bool) { return append(dst, key...), true }
	}
	if c.Conn.Role == "" {
		c.Conn.Role = "source"
	}
	return nil
}

// Stats counts what the Scanner did, all masters together.
type Stats struct {
	Masters       int     // source masters followed
	Scanning      int     // of them, those whose (re)scan is not done
	ScansDone     int64   // full scans completed (first scans and rescans)
	Rescans       int64   // scans started again after a lost notification connection or too many dirty keys
	KeysScanned   int64   // keys returned by SCAN
	Copies        int64   // keys copied (RESTORE or commands)
	Compared      int64   // keys of rescans sent to be compared on the destination and written only when they differ
	Deletes       int64   // keys deleted on the destination because they were gone on the source
	Notifications int64   // keyspace notifications received
	DirtyKeys     int64   // keys waiting to be copied again
	CopiesPerSec  float64 // copies and deletes in the last second
	FirstScanSecs float64 // time of the first full scan of every master; 0 until done
}

// Scanner copies the source by scan and keyspace notifications.
type Scanner struct {
	cfg     Config
	log     *slog.Logger
	masters []*master
	started time.Time

	compareSHA string // SHA1 of compareScript, "" when the sink cannot load scripts

	scanned, copies, deletes, notes, rescans, scansDone, compared atomic.Int64
	rate                                                          atomic.Int64
	firstScan                                                     atomic.Int64 // ns
}

// New checks cfg and returns a Scanner; Run starts it.
func New(cfg Config) (*Scanner, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Scanner{cfg: cfg, log: cfg.Logger}
	if ls, ok := cfg.Sink.(interface{ LoadScript(body []byte) string }); ok {
		s.compareSHA = ls.LoadScript([]byte(compareScript))
	}
	for i, addr := range cfg.Masters {
		s.masters = append(s.masters, newMaster(s, i, addr))
	}
	return s, nil
}

// Run copies until ctx ends (nil) or a fatal error: notify-keyspace-events
// lacking what scan mode needs, or the sink failing.
func (s *Scanner) Run(ctx context.Context) error {
	s.started = s.cfg.Now()
	for _, m := range s.masters {
		if err := m.checkNotify(ctx); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, m := range s.masters {
		g.Go(func() error { return m.run(gctx) })
	}
	g.Go(func() error { s.measure(gctx); return nil })
	err := g.Wait()
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}

// measure samples CopiesPerSec every second.
func (s *Scanner) measure(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := s.copies.Load() + s.deletes.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.copies.Load() + s.deletes.Load()
		s.rate.Store(cur - last)
		last = cur
	}
}

// scanDone records the end of a master's scan.
func (s *Scanner) scanDone() {
	s.scansDone.Add(1)
	for _, m := range s.masters {
		if !m.scannedOnce.Load() {
			return
		}
	}
	if s.firstScan.Load() == 0 {
		d := s.cfg.Now().Sub(s.started)
		s.firstScan.CompareAndSwap(0, int64(d))
		s.log.Info("scan mode: first scan of every master done", "masters", len(s.masters), "keys", s.scanned.Load(), "seconds", d.Seconds())
	}
}

// Stats returns the counters.
func (s *Scanner) Stats() Stats {
	st := Stats{
		Masters: len(s.masters), ScansDone: s.scansDone.Load(), Rescans: s.rescans.Load(),
		KeysScanned: s.scanned.Load(), Copies: s.copies.Load(), Deletes: s.deletes.Load(),
		Notifications: s.notes.Load(), CopiesPerSec: float64(s.rate.Load()), Compared: s.compared.Load(),
		FirstScanSecs: time.Duration(s.firstScan.Load()).Seconds(),
	}
	for _, m := range s.masters {
		if m.scanning.Load() {
			st.Scanning++
		}
		st.DirtyKeys += int64(m.dirtyLen())
	}
	return st
}

// CaughtUp reports whether every change the source made before the call has
// been handed to the sink: each master's notification connection answered a
// PING sent now (its reply comes after the notifications of every earlier
// write), its scan is done, and no key waits to be copied. Flush the sink
// after it to know the destination has them.
func (s *Scanner) CaughtUp(ctx context.Context) (bool, error) {
	for _, m := range s.masters {
		ok, err := m.caughtUp(ctx)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Idle reports whether every master has been scanned since its last
// subscription and no key waits to be copied (the destination has all the
// source's changes that were notified, once the applier acknowledged them).
func (s *Scanner) Idle() bool {
	for _, m := range s.masters {
		if m.scanning.Load() || !m.scannedOnce.Load() || m.dirtyLen() > 0 || m.copying.Load() {
			return false
		}
	}
	return true
}

// errLost reports a lost notification connection (or dropped dirty keys):
// the master is scanned again.
type errLost struct{ err error }

func (e *errLost) Error() string { return e.err.Error() }
func (e *errLost) Unwrap() error { return e.err }

func lost(format string, a ...any) error { return &errLost{fmt.Errorf(format, a...)} }
