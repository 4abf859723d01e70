package scansrc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// sinkError is an error of the sink (the applier), or a source that moved its
// slots: fatal, unlike a source read that fails and is retried.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

func isSinkErr(err error) bool {
	var se *sinkError
	return errors.As(err, &se)
}

// ErrPayload reports a key whose DUMP payload cannot be written to the
// destination in any form.
var ErrPayload = errors.New("xsync/scansrc: cannot copy the key")

// ensureData opens the master's read connection when it has none.
func (m *master) ensureData(ctx context.Context) (*conn.Conn, error) {
	if m.data != nil {
		return m.data, nil
	}
	c, err := m.dial(ctx)
	if err != nil {
		return nil, err
	}
	m.data = c
	return c, nil
}

// scanStep runs one SCAN from cursor and copies the keys it returns.
func (m *master) scanStep(ctx context.Context, cursor string, compare bool) (next string, n int, err error) {
	c, err := m.ensureData(ctx)
	if err != nil {
		return "", 0, err
	}
	v, err := c.Do(ctx, "SCAN", cursor, "COUNT", strconv.Itoa(m.s.cfg.ScanCount))
	if err != nil {
		return "", 0, fmt.Errorf("xsync/scansrc: %s: SCAN: %w", m.addr, err)
	}
	if len(v.Elems) != 2 {
		return "", 0, fmt.Errorf("xsync/scansrc: %s: SCAN: unexpected reply %s", m.addr, v.String())
	}
	keys := make([][]byte, len(v.Elems[1].Elems))
	for i, k := range v.Elems[1].Elems {
		keys[i] = k.Str
	}
	m.s.scanned.Add(int64(len(keys)))
	for len(keys) > 0 {
		b := min(len(keys), m.s.cfg.Batch)
		if err := m.copyKeys(ctx, keys[:b], compare); err != nil {
			return "", 0, err
		}
		keys = keys[b:]
	}
	return string(v.Elems[0].Str), len(v.Elems[1].Elems), nil
}

// copyKeys reads keys with DUMP and PTTL in one pipelined round trip and hands
// their copies (or deletions) to the sink.
func (m *master) copyKeys(ctx context.Context, keys [][]byte, compare bool) error {
	c, err := m.ensureData(ctx)
	if err != nil {
		return err
	}
	w, r := c.Writer(), c.Reader()
	for _, k := range keys {
		w.WriteCommand([]byte("DUMP"), k)
		w.WriteCommand([]byte("PTTL"), k)
	}
	timeout := m.s.cfg.Conn.ReadTimeout
	if timeout <= 0 {
		timeout = conn.DefaultReadTimeout
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = c.NetConn().SetDeadline(time.Unix(1, 0)) })
	defer stop()
	readAt := m.s.cfg.Now()
	if err := w.Flush(); err != nil {
		return fmt.Errorf("xsync/scansrc: %s: DUMP: %w", m.addr, err)
	}
	type read struct {
		payload []byte
		exists  bool
		pttl    int64
		err     string
	}
	reads := make([]read, len(keys))
	for i := range keys {
		v, _, err := r.ReadValue()
		if err != nil {
			return fmt.Errorf("xsync/scansrc: %s: DUMP: %w", m.addr, err)
		}
		switch {
		case v.IsError():
			reads[i].err = string(v.Str)
		case !v.Null:
			reads[i].payload, reads[i].exists = bytes.Clone(v.Str), true
		}
		v, _, err = r.ReadValue()
		if err != nil {
			return fmt.Errorf("xsync/scansrc: %s: PTTL: %w", m.addr, err)
		}
		reads[i].pttl = v.Int
	}
	for i, k := range keys {
		rd := &reads[i]
		if code, _, _ := strings.Cut(rd.err, " "); code == "MOVED" || code == "ASK" {
			return &sinkError{fmt.Errorf("xsync/scansrc: %s: DUMP %s: %s: the source's slots moved (a reshard or a failover); scan mode does not follow them: restart the sync", m.addr, printable(k), rd.err)}
		}
		if rd.err != "" {
			m.s.log.Warn("scan mode: DUMP refused; key not copied", "node", m.addr, "key", printable(k), "reply", rd.err)
			continue
		}
		if err := m.cp.key(ctx, k, rd.payload, rd.exists && rd.pttl != -2, compare, rd.pttl, readAt); err != nil {
			return err
		}
	}
	return nil
}

// copier turns read keys into ops.
type copier struct {
	m    *master
	conv *snapshot.Converter
	buf  []byte
	cmd  []byte
	num  [24]byte
	dec  *rdb.Decoder
}

// key copies one key: payload is its DUMP (exists false: the key is gone), pttl
// its PTTL read at readAt.
// compare (rescans) writes it only when the destination's copy differs.
func (cp *copier) key(ctx context.Context, key, payload []byte, exists, compare bool, pttl int64, readAt time.Time) error {
	s := cp.m.s
	dst, ok := s.cfg.Filter(cp.buf[:0], key)
	if !ok {
		return nil
	}
	cp.buf = dst
	slot := slots.Slot(dst)
	src := cp.m.index
	if !exists {
		cp.cmd = resp.AppendCommand(cp.cmd[:0], []byte("DEL"), dst)
		if err := s.cfg.Sink.Submit(ctx, apply.Op{Source: src, Slot: slot, Cmd: cp.cmd, N: 1, Key: dst}); err != nil {
			return &sinkError{err}
		}
		s.deletes.Add(1)
		return nil
	}
	var expireAt int64
	if pttl > 0 {
		expireAt = readAt.UnixMilli() + pttl
	}
	o := cp.conv.Options()
	t := o.Target
	if len(payload) >= 10 && o.Mode != snapshot.ModeCommands && t.AtLeast(2, 6) &&
		payloadVersion(payload) <= t.RDBVersion() && len(payload)+len(dst)+64 <= min(o.BigKeyBytes, o.MaxBytes) {
		// The destination reads the payload as it is.
		cp.cmd = cp.cmd[:0]
		n := 1
		if !t.AtLeast(3, 0) { // no RESTORE ... REPLACE before 3.0
			cp.cmd = resp.AppendCommand(cp.cmd, []byte("DEL"), dst)
			n++
		}
		abs := t.AtLeast(5, 0)
		ttl := int64(0)
		switch {
		case expireAt != 0 && abs:
			ttl = expireAt
		case expireAt != 0:
			ttl = max(pttl, 1)
		}
		if compare && abs && cp.m.s.compareSHA != "" {
			// A rescan: the destination keeps a key whose payload and TTL are
			// already those of the source, so an unchanged key costs a read.
			want := int64(-1)
			if expireAt != 0 {
				want = pttl
			}
			cp.cmd = resp.AppendCommand(cp.cmd[:0], []byte("EVALSHA"), []byte(cp.m.s.compareSHA), []byte("1"), dst,
				strconv.AppendInt(cp.num[:0], ttl, 10), payload, []byte(strconv.FormatInt(want, 10)))
			if err := s.cfg.Sink.Submit(ctx, apply.Op{Source: src, Slot: slot, Cmd: cp.cmd, N: 1, Key: dst}); err != nil {
				return &sinkError{err}
			}
			s.compared.Add(1)
			return nil
		}
		args := [][]byte{[]byte("RESTORE"), dst, strconv.AppendInt(cp.num[:0], ttl, 10), payload}
		if t.AtLeast(3, 0) {
			args = append(args, []byte("REPLACE"))
		}
		if expireAt != 0 && abs {
			args = append(args, []byte("ABSTTL"))
		}
		cp.cmd = resp.AppendCommand(cp.cmd, args...)
		if err := s.cfg.Sink.Submit(ctx, apply.Op{Source: src, Slot: slot, Cmd: cp.cmd, N: n, Key: dst}); err != nil {
			return &sinkError{err}
		}
		s.copies.Add(1)
		return nil
	}
	// The destination cannot read the payload (an older RDB version, a big key
	// or --mode commands): the snapshot converter relabels it or writes it as
	// plain commands in bounded chunks.
	rdbType, raw, ver, err := rdb.ParseDumpPayload(payload)
	if err != nil {
		return fmt.Errorf("%w %s of %s: %w", ErrPayload, printable(key), cp.m.addr, err)
	}
	frame := rdb.FrameKey(nil, ver, rdbType, dst, raw)
	if cp.dec == nil {
		cp.dec = rdb.NewDecoder(bytes.NewReader(frame), rdb.Options{})
	} else {
		cp.dec.Reset(bytes.NewReader(frame), rdb.Options{})
	}
	rec, err := cp.dec.Next()
	if err != nil {
		return fmt.Errorf("%w %s of %s: decoding its DUMP payload: %w", ErrPayload, printable(key), cp.m.addr, err)
	}
	rec.ExpireAt = expireAt
	err = cp.conv.Convert(rec, ver, func(cmd []byte, n int) error {
		if err := s.cfg.Sink.Submit(ctx, apply.Op{Source: src, Slot: slot, Cmd: cmd, N: n, Key: dst}); err != nil {
			return &sinkError{err}
		}
		return nil
	})
	switch {
	case isSinkErr(err):
		return err
	case errors.Is(err, snapshot.ErrModule):
		s.log.Warn("scan mode: key skipped", "node", cp.m.addr, "key", printable(key), "err", err)
		return nil
	case err != nil:
		return &sinkError{fmt.Errorf("%w %s of %s: %w", ErrPayload, printable(key), cp.m.addr, err)}
	}
	s.copies.Add(1)
	return nil
}

// payloadVersion returns the RDB version a DUMP payload is labelled with
// (cluster.c, verifyDumpPayload: 2 bytes little endian before the CRC64).
func payloadVersion(p []byte) int {
	return int(binary.LittleEndian.Uint16(p[len(p)-10:]))
}

// printable quotes a key for logs.
func printable(k []byte) string {
	if len(k) > 200 {
		return strconv.Quote(string(k[:200])) + "..."
	}
	return strconv.Quote(string(k))
}

// compareScript restores KEYS[1] (ARGV[1] absolute expire or 0, ARGV[2] the
// payload) unless its DUMP already is ARGV[2] with a TTL within a second of
// ARGV[3] (the source's PTTL, -1: none). Returns 1 when it wrote.
const compareScript = `local cur = redis.call('DUMP', KEYS[1])
if cur == ARGV[2] then
  local t = redis.call('PTTL', KEYS[1])
  local want = tonumber(ARGV[3])
  if (want < 0 and t < 0) or (want >= 0 and t >= 0 and math.abs(t - want) < 1000) then return 0 end
end
if ARGV[1] == '0' then
  redis.call('RESTORE', KEYS[1], 0, ARGV[2], 'REPLACE')
else
  redis.call('RESTORE', KEYS[1], ARGV[1], ARGV[2], 'REPLACE', 'ABSTTL')
end
return 1`
