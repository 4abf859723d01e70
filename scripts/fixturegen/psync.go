package main

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xsync/xsync/resp"
)

// capture is what a replica received after PSYNC ? -1.
type capture struct {
	ReplID      string     `json:"replid"`
	StartOffset int64      `json:"start_offset"`
	EndOffset   int64      `json:"end_offset"`
	Framing     string     `json:"rdb_framing"`
	RDBBytes    int64      `json:"rdb_bytes"`
	StreamBytes int64      `json:"stream_bytes"`
	Workload    [][]string `json:"workload"`
	Version     string     `json:"redis_version"`
	Server      string     `json:"server,omitempty"` // "valkey-8.0.1" for Valkey, whose redis_version is the Redis it is compatible with

	bin []byte
}

// recorder keeps every byte read from the replication connection.
type recorder struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error
}

func (r *recorder) run(c net.Conn) {
	b := make([]byte, 64<<10)
	for {
		n, err := c.Read(b)
		r.mu.Lock()
		r.buf = append(r.buf, b[:n]...)
		if err != nil {
			r.err = err
		}
		r.cond.Broadcast()
		r.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wait blocks until ok holds on the bytes so far, the connection fails or the
// deadline passes; a timer wakes it for the deadline.
func (r *recorder) wait(what string, d time.Duration, ok func([]byte) bool) error {
	t := time.AfterFunc(d, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
	defer t.Stop()
	end := time.Now().Add(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	for !ok(r.buf) {
		if r.err != nil {
			return fmt.Errorf("replication connection: %w while waiting for %s", r.err, what)
		}
		if time.Now().After(end) {
			return fmt.Errorf("no %s within %v (%d bytes received)", what, d, len(r.buf))
		}
		r.cond.Wait()
	}
	return nil
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte{}, r.buf...)
}

// rdbEnd parses the head of a full resync: keep-alive newlines, +FULLRESYNC, the
// RDB framing and the RDB. It returns the offset of the stream's first byte, or
// -1 while the RDB is incomplete.
func (c *capture) rdbEnd(b []byte) int {
	pos := 0
	for pos < len(b) && b[pos] == '\n' {
		pos++
	}
	line := func() (string, bool) {
		i := bytes.Index(b[pos:], []byte("\r\n"))
		if i < 0 {
			return "", false
		}
		s := string(b[pos : pos+i])
		pos += i + 2
		return s, true
	}
	l, ok := line()
	if !ok {
		return -1
	}
	f := strings.Fields(l)
	if len(f) != 3 || f[0] != "+FULLRESYNC" {
		fatalf("PSYNC answered %q, want +FULLRESYNC", l)
	}
	c.ReplID = f[1]
	c.StartOffset, _ = strconv.ParseInt(f[2], 10, 64)
	for pos < len(b) && b[pos] == '\n' {
		pos++
	}
	l, ok = line()
	if !ok {
		return -1
	}
	if mark, found := strings.CutPrefix(l, "$EOF:"); found {
		c.Framing = "eof-marker"
		i := bytes.Index(b[pos:], []byte(mark))
		if i < 0 {
			return -1
		}
		c.RDBBytes = int64(i)
		return pos + i + len(mark)
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(l, "$"), 10, 64)
	if err != nil {
		fatalf("RDB transfer header %q: %v", l, err)
	}
	c.Framing = "length"
	c.RDBBytes = n
	if int64(len(b)-pos) < n {
		return -1
	}
	return pos + int(n)
}

// capturePsync connects to s as a replica, takes the full resync, runs the
// workload on a second connection and keeps what the master sends until its
// replication offset is reached.
func capturePsync(s *server, cmds [][]string) (*capture, error) {
	conn, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	hs := resp.NewReader(conn, resp.Limits{})
	for _, cmd := range [][]string{{"REPLCONF", "listening-port", "1"}, {"REPLCONF", "capa", "eof", "capa", "psync2"}} {
		if _, err := conn.Write(resp.AppendCommandString(nil, cmd...)); err != nil {
			return nil, err
		}
		v, _, err := hs.ReadValue()
		if err != nil || v.IsError() {
			return nil, fmt.Errorf("%v: %v %s", cmd, err, v.Str)
		}
	}
	if hs.Buffered() != 0 {
		return nil, fmt.Errorf("unexpected bytes after the handshake")
	}
	if _, err := conn.Write(resp.AppendCommandString(nil, "PSYNC", "?", "-1")); err != nil {
		return nil, err
	}
	rec := &recorder{}
	rec.cond = sync.NewCond(&rec.mu)
	go rec.run(conn)

	c := &capture{Version: s.version, Workload: cmds}
	if !strings.HasPrefix(s.label, "redis-") {
		c.Server = s.label
	}
	start := -1
	if err := rec.wait("RDB", 2*time.Minute, func(b []byte) bool { start = c.rdbEnd(b); return start >= 0 }); err != nil {
		return nil, err
	}
	// Diskless masters (7.0+) stream to the replica once it acknowledges the RDB,
	// after they saw the transfer's end (replicationSendAck, replicaStartCommandStream
	// in replication.c): acknowledge every 200 ms, as a replica does each second.
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if _, err := conn.Write(resp.AppendCommandString(nil, "REPLCONF", "ACK", strconv.FormatInt(c.StartOffset, 10))); err != nil {
				return
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	cl, err := dial(s.addr())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for _, cmd := range cmds {
		if _, err := cl.do(cmd...); err != nil {
			return nil, fmt.Errorf("workload: %w", err)
		}
	}
	info := string(cl.must("INFO", "replication").Str)
	var end int64 = -1
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "master_repl_offset:"); ok {
			end, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if end < c.StartOffset {
		return nil, fmt.Errorf("master_repl_offset %d before the resync offset %d", end, c.StartOffset)
	}
	want := start + int(end-c.StartOffset)
	if err := rec.wait("stream", time.Minute, func(b []byte) bool { return len(b) >= want }); err != nil {
		return nil, err
	}
	c.bin = rec.bytes()
	if len(c.bin) != want {
		return nil, fmt.Errorf("%d bytes past the master's offset %d", len(c.bin)-want, end)
	}
	c.EndOffset = end
	c.StreamBytes = end - c.StartOffset
	return c, nil
}

// latin1 makes each byte one rune, so that binary arguments (the RESTORE
// payload) survive JSON as they do in the shared fixtures' meta.json.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}
