package scansrc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/snapshot"
)

// master follows one source master: its notification connection, its scan and
// its dirty keys. One goroutine (run) reads and submits every copy of the
// master's keys, so the copies of a key reach the applier in the order they were
// read; a notification that arrives after a read marks the key dirty again.
type master struct {
	s     *Scanner
	index int
	addr  string

	mu       sync.Mutex
	dirty    map[string]struct{}
	overflow bool // dirty keys were dropped: scan again
	wake     chan struct{}

	scanning    atomic.Bool // a scan is in progress
	scannedOnce atomic.Bool // a scan finished since the last subscription
	copying     atomic.Bool // dirty keys taken and not submitted yet

	subMu sync.Mutex
	sub   *subscriber // the live notification connection, nil between two

	data *conn.Conn // DUMP/PTTL/SCAN connection; run's
	cp   copier
}

func newMaster(s *Scanner, i int, addr string) *master {
	return &master{s: s, index: i, addr: addr, dirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

func (m *master) dial(ctx context.Context) (*conn.Conn, error) {
	o := m.s.cfg.Conn
	o.Addr = m.addr
	return conn.Dial(ctx, o)
}

func (m *master) markDirty(key []byte) {
	m.mu.Lock()
	if !m.overflow {
		if len(m.dirty) >= m.s.cfg.MaxDirty {
			m.overflow = true
			clear(m.dirty)
		} else {
			m.dirty[string(key)] = struct{}{}
		}
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *master) dirtyLen() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.dirty)
}

// takeDirty takes the dirty keys; overflow reports that some were dropped.
func (m *master) takeDirty() (keys []string, overflow bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.overflow {
		m.overflow = false
		return nil, true
	}
	if len(m.dirty) == 0 {
		return nil, false
	}
	keys = make([]string, 0, len(m.dirty))
	for k := range m.dirty {
		keys = append(keys, k)
	}
	clear(m.dirty)
	m.copying.Store(true)
	return keys, false
}

// run subscribes, scans and copies dirty keys, again after every lost
// notification connection, until ctx ends or the sink fails.
func (m *master) run(ctx context.Context) error {
	log := m.s.log.With("node", m.addr)
	cc := m.s.cfg.Convert
	cc.Target = m.s.cfg.Sink.Version()
	cc.Replace = snapshot.ReplaceKey
	cc.Now = m.s.cfg.Now
	conv, err := snapshot.New(cc)
	if err != nil {
		return err
	}
	m.cp = copier{m: m, conv: conv}
	defer func() {
		if m.data != nil {
			m.data.Close()
		}
	}()
	failures := 0
	for first := true; ; first = false {
		sub, err := m.subscribe(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			d := min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)
			log.Warn("scan mode: subscribing to keyspace notifications failed; retrying", "err", err, "in", d)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d):
			}
			continue
		}
		failures = 0
		if !first {
			m.s.rescans.Add(1)
		}
		lostc := make(chan error, 1)
		m.subMu.Lock()
		m.sub = sub
		m.subMu.Unlock()
		go m.listen(ctx, sub, lostc)
		log.Info("scan mode: subscribed to keyspace notifications; scanning", "rescan", !first)
		err = m.sync(ctx, lostc, !first)
		m.subMu.Lock()
		m.sub = nil
		m.subMu.Unlock()
		sub.close()
		if ctx.Err() != nil {
			return nil
		}
		var le *errLost
		if !errors.As(err, &le) {
			return err
		}
		log.Warn("scan mode: "+err.Error()+": changes made meanwhile cannot be known; subscribing again and rescanning the master", "rescans", m.s.rescans.Load()+1)
	}
}

// sync scans the master and then copies dirty keys every Coalesce, until the
// notification connection is lost (an *errLost), ctx ends or the sink fails.
// A rescan (compare) writes only the keys whose copy differs.
func (m *master) sync(ctx context.Context, lostc <-chan error, compare bool) error {
	m.scanning.Store(true)
	m.scannedOnce.Store(false)
	defer m.scanning.Store(false)
	cursor := "0"
	started := time.Now()
	var keys int64
	lastDirty := time.Now()
	tick := time.NewTicker(m.s.cfg.Coalesce)
	defer tick.Stop()
	for {
		select {
		case err := <-lostc:
			return lost("keyspace notifications from %s lost (%v)", m.addr, err)
		case <-ctx.Done():
			return nil
		default:
		}
		if m.scanning.Load() {
			next, n, err := m.scanStep(ctx, cursor, compare)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if isSinkErr(err) {
					return err
				}
				m.s.log.Warn("scan mode: reading the source failed; retrying", "node", m.addr, "err", err)
				m.dropData()
				if err := sleep(ctx, 200*time.Millisecond); err != nil {
					return nil
				}
				continue
			}
			keys += int64(n)
			cursor = next
			if cursor == "0" {
				m.scanning.Store(false)
				m.scannedOnce.Store(true)
				m.s.log.Info("scan mode: scan of the master done", "node", m.addr, "keys", keys, "seconds", time.Since(started).Seconds())
				m.s.scanDone()
			}
			if time.Since(lastDirty) < m.s.cfg.Coalesce {
				continue
			}
		} else {
			select {
			case err := <-lostc:
				return lost("keyspace notifications from %s lost (%v)", m.addr, err)
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		lastDirty = time.Now()
		if err := m.copyDirty(ctx); err != nil {
			return err
		}
	}
}

// copyDirty copies the keys marked dirty since the last call.
func (m *master) copyDirty(ctx context.Context) error {
	keys, overflow := m.takeDirty()
	if overflow {
		return lost("more than %d keys of %s changed before they could be copied (dirty keys dropped)", m.s.cfg.MaxDirty, m.addr)
	}
	defer m.copying.Store(false)
	for len(keys) > 0 {
		n := min(len(keys), m.s.cfg.Batch)
		batch := make([][]byte, n)
		for i, k := range keys[:n] {
			batch[i] = []byte(k)
		}
		if err := m.copyKeys(ctx, batch, false); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if isSinkErr(err) {
				return err
			}
			// The keys not copied are dirty still.
			for _, k := range keys {
				m.markDirty([]byte(k))
			}
			m.s.log.Warn("scan mode: reading the source failed; retrying", "node", m.addr, "err", err)
			m.dropData()
			return sleep(ctx, 200*time.Millisecond)
		}
		keys = keys[n:]
	}
	return nil
}

func (m *master) dropData() {
	if m.data != nil {
		m.data.Close()
		m.data = nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// caughtUp waits until every notification of a write the source ran before the
// call has been received, then reports whether all of them are copied (handed
// to the sink) and the master's scan is done.
func (m *master) caughtUp(ctx context.Context) (bool, error) {
	if m.scanning.Load() || !m.scannedOnce.Load() {
		return false, nil
	}
	m.subMu.Lock()
	sub := m.sub
	m.subMu.Unlock()
	if sub == nil {
		return false, nil
	}
	done, err := sub.ping()
	if err != nil {
		return false, nil // the connection is being replaced: not caught up
	}
	select {
	case <-done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	// Dirty keys first, then the copy in progress (takeDirty sets copying
	// before it empties the set).
	return !m.scanning.Load() && m.scannedOnce.Load() && m.dirtyLen() == 0 && !m.copying.Load(), nil
}
