package scansrc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// NotifyClasses are the notify-keyspace-events classes scan mode needs besides
// K (keyspace events, which name the key in the channel): generic ($ string, l
// list, s set, h hash, z sorted set, x expired, e evicted, t stream; g the
// generic commands DEL, EXPIRE, RENAME, ...). "A" stands for all of them
// (notify.c, keyspaceEventsStringToFlags).
const NotifyClasses = "g$lshzxet"

// NotifyValue is what to set notify-keyspace-events to for scan mode.
const NotifyValue = "KEA"

// NotifyMissing returns the flags of notify-keyspace-events value v that scan
// mode needs and v lacks ("" when it has them all).
func NotifyMissing(v string) string {
	if strings.ContainsRune(v, 'A') {
		v += NotifyClasses
	}
	var miss []byte
	if !strings.ContainsRune(v, 'K') {
		miss = append(miss, 'K')
	}
	for _, c := range []byte(NotifyClasses) {
		if !strings.ContainsRune(v, rune(c)) {
			miss = append(miss, c)
		}
	}
	return string(miss)
}

// NotifyAdvice says how to set notify-keyspace-events on a source: with CONFIG
// SET where it is allowed, otherwise through the provider's parameter group.
func NotifyAdvice(addr string) string {
	return fmt.Sprintf("CONFIG SET notify-keyspace-events %s on %s (on a managed service, where CONFIG is refused, set the parameter notify-keyspace-events to %s in its parameter group: ElastiCache/MemoryDB parameter group, Azure Cache advanced settings, Memorystore configuration)", NotifyValue, addr, NotifyValue)
}

// checkNotify reads notify-keyspace-events and fails (or sets it, with
// SetNotify) when it lacks what scan mode needs. A source that refuses CONFIG
// (managed services do) is only warned about.
func (m *master) checkNotify(ctx context.Context) error {
	c, err := m.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := c.Do(ctx, "CONFIG", "GET", "notify-keyspace-events")
	if err != nil || len(v.Elems) < 2 {
		m.s.log.Warn("scan mode: cannot read notify-keyspace-events on the source; without K and "+NotifyClasses+" changes made during and after the scan are not copied",
			"node", m.addr, "err", err, "fix", NotifyAdvice(m.addr))
		return nil
	}
	cur := string(v.Elems[1].Str)
	miss := NotifyMissing(cur)
	if miss == "" {
		return nil
	}
	if !m.s.cfg.SetNotify {
		return fmt.Errorf("xsync/scansrc: %s: notify-keyspace-events is %q, scan mode needs %q too (keyspace events of every class): %s; or pass --scan-set-notify to let xsync set it",
			m.addr, cur, miss, NotifyAdvice(m.addr))
	}
	want := cur + miss
	if _, err := c.Do(ctx, "CONFIG", "SET", "notify-keyspace-events", want); err != nil {
		return fmt.Errorf("xsync/scansrc: %s: CONFIG SET notify-keyspace-events %s: %w: set it in the provider's parameter group", m.addr, want, err)
	}
	m.s.log.Warn("scan mode: notify-keyspace-events set on the source (--scan-set-notify)", "node", m.addr, "was", cur, "now", want)
	return nil
}

// keyspacePrefix is the channel prefix of db 0's keyspace events.
var keyspacePrefix = []byte("__keyspace@0__:")

// subscriber is the notification connection of one master.
type subscriber struct {
	c *conn.Conn

	mu      sync.Mutex               // the writer (keep-alive and barrier PINGs) and waiters
	waiters map[string]chan struct{} // barrier PINGs by token, closed when their pong arrives
	seq     int
}

// ping sends PING token on the notification connection and returns a channel
// closed when its reply arrives: Redis queues the reply after every
// notification of the writes it ran before (one output buffer per client, in
// order), so by then they are all marked dirty.
func (s *subscriber) ping() (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	token := "xsync-barrier-" + strconv.Itoa(s.seq)
	ch := make(chan struct{})
	if s.waiters == nil {
		s.waiters = map[string]chan struct{}{}
	}
	s.waiters[token] = ch
	s.c.Writer().WriteCommand([]byte("PING"), []byte(token))
	if err := s.c.Writer().Flush(); err != nil {
		delete(s.waiters, token)
		return nil, err
	}
	return ch, nil
}

// pong releases the barrier of token.
func (s *subscriber) pong(token []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.waiters[string(token)]; ok {
		close(ch)
		delete(s.waiters, string(token))
	}
}

// subscribe opens the notification connection and returns once the source
// confirmed the PSUBSCRIBE: every change after that is notified.
func (m *master) subscribe(ctx context.Context) (*subscriber, error) {
	o := m.s.cfg.Conn
	o.ReadTimeout = -1 // deadlines are set here
	o.Addr = m.addr
	c, err := conn.Dial(ctx, o)
	if err != nil {
		return nil, err
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(3 * m.s.cfg.Ping))
	c.Writer().WriteCommand([]byte("PSUBSCRIBE"), append(append([]byte(nil), keyspacePrefix...), '*'))
	if err := c.Writer().Flush(); err != nil {
		c.Close()
		return nil, fmt.Errorf("xsync/scansrc: %s: PSUBSCRIBE: %w", m.addr, err)
	}
	v, _, err := c.Reader().ReadValue()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("xsync/scansrc: %s: PSUBSCRIBE: %w", m.addr, err)
	}
	if v.IsError() || len(v.Elems) < 1 || !bytes.EqualFold(v.Elems[0].Str, []byte("psubscribe")) {
		c.Close()
		return nil, fmt.Errorf("xsync/scansrc: %s: PSUBSCRIBE refused: %s: the source user needs +psubscribe and the channels &__keyspace@*", m.addr, v.String())
	}
	return &subscriber{c: c}, nil
}

// listen reads notifications until the connection fails or ctx ends, marking
// their keys dirty; the failure goes to lostc.
func (m *master) listen(ctx context.Context, sub *subscriber, lostc chan<- error) {
	stop := context.AfterFunc(ctx, func() { sub.c.Close() })
	defer stop()
	pingDone := make(chan struct{})
	defer close(pingDone)
	go func() { // keep-alive: a silent source still answers PING in subscribed mode
		t := time.NewTicker(m.s.cfg.Ping)
		defer t.Stop()
		for {
			select {
			case <-pingDone:
				return
			case <-t.C:
			}
			sub.mu.Lock()
			sub.c.Writer().WriteCommand([]byte("PING"))
			err := sub.c.Writer().Flush()
			sub.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	r := sub.c.Reader()
	for {
		_ = sub.c.NetConn().SetReadDeadline(time.Now().Add(3 * m.s.cfg.Ping))
		v, _, err := r.ReadValue()
		if err != nil {
			lostc <- err
			return
		}
		if (v.Type == resp.TypeArray || v.Type == resp.TypePush) && len(v.Elems) == 2 && bytes.Equal(v.Elems[0].Str, []byte("pong")) {
			sub.pong(v.Elems[1].Str)
			continue
		}
		// pmessage pattern channel event
		if v.Type != resp.TypeArray && v.Type != resp.TypePush || len(v.Elems) != 4 || !bytes.Equal(v.Elems[0].Str, []byte("pmessage")) {
			continue
		}
		key, ok := bytes.CutPrefix(v.Elems[2].Str, keyspacePrefix)
		if !ok {
			continue
		}
		m.s.notes.Add(1)
		m.markDirty(key)
	}
}

func (s *subscriber) close() { s.c.Close() }
