package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/fakemaster"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func fastConfig(t *testing.T, addr string) LinkConfig {
	return LinkConfig{
		Addr:        addr,
		Logger:      testLogger(t),
		Backoff:     Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond},
		ReadTimeout: 5 * time.Second,
		AckInterval: 50 * time.Millisecond,
	}
}

// TestLinkFixtures replays every captured PSYNC session through a fake master, whole,
// in random chunks, with the link dropped in the stream (resumed with +CONTINUE) and
// in the snapshot (a new full sync).
func TestLinkFixtures(t *testing.T) {
	modes := []string{"whole", "chunks", "drop-in-stream", "drop-in-snapshot", "spool", "rate-limit", "loading-first"}
	for _, fx := range fakemaster.LoadFixtures(t) {
		for _, mode := range modes {
			t.Run(fx.Name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				testFixture(t, fx, mode)
			})
		}
	}
}

func testFixture(t *testing.T, fx *fakemaster.Fixture, mode string) {
	rng := rand.New(rand.NewPCG(uint64(len(fx.Bin)), uint64(len(mode))))
	head, stream := fx.Head(), fx.Stream()
	cut := 1 + rng.IntN(len(stream)-1)
	var firstAck atomic.Int64
	firstAck.Store(-1)
	m := fakemaster.Start(t, func(n int, c net.Conn, r *resp.Reader, psync []string) {
		write := func(b []byte) error {
			if mode == "whole" {
				_, err := c.Write(b)
				return err
			}
			return fakemaster.WriteChunks(c, b, rng)
		}
		if psync[1] != "?" { // resume
			off, _ := strconv.ParseInt(psync[2], 10, 64)
			k := off - fx.StartOffset - 1
			if psync[1] != fx.ReplID || k < 0 || k > int64(len(stream)) {
				c.Write([]byte("+FULLRESYNC " + fx.ReplID + " 0\r\n"))
				return
			}
			if fx.Framing == "length" {
				c.Write([]byte("+CONTINUE\r\n")) // as masters before PSYNC2 answer
			} else {
				c.Write([]byte("+CONTINUE " + fx.ReplID + "\r\n"))
			}
			write(stream[k:])
			fakemaster.DrainAcks(r)
			return
		}
		if mode == "loading-first" && n == 0 {
			c.Write([]byte("-LOADING Redis is loading the dataset in memory\r\n"))
			return
		}
		if mode == "drop-in-snapshot" && n == 0 {
			write(head[:len(head)/2])
			return
		}
		if write(head) != nil {
			return
		}
		// A diskless master holds the stream until it gets an ACK after the transfer.
		if fx.Framing == "eof-marker" {
			ack, err := fakemaster.WaitAck(r)
			if err != nil {
				return
			}
			firstAck.CompareAndSwap(-1, ack)
		}
		if mode == "drop-in-stream" && n == 0 {
			write(stream[:cut])
			return
		}
		write(stream)
		fakemaster.DrainAcks(r)
	})
	cfg := fastConfig(t, m.Addr())
	switch mode {
	case "spool":
		cfg.SpoolDir = t.TempDir()
	case "rate-limit":
		cfg.SnapshotRateLimit = 4 << 20 // 80 KB: about 20 ms
	}
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h := newRecorder(fx.EndOffset)
	l, err := NewLink(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	runLink(t, l, h, 20*time.Second)
	if !strings.Contains(logs.String(), "cannot read CONFIG") {
		t.Errorf("no warning about CONFIG being unavailable in the logs:\n%s", logs.String())
	}

	st := l.Status()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.replID != fx.ReplID || st.ReplID != fx.ReplID {
		t.Errorf("replid handler %q status %q, want %q", h.replID, st.ReplID, fx.ReplID)
	}
	if h.rdbBytes != fx.RDBBytes || st.SnapshotBytes != fx.RDBBytes {
		t.Errorf("snapshot bytes handler %d status %d, want %d", h.rdbBytes, st.SnapshotBytes, fx.RDBBytes)
	}
	wantSize := fx.RDBBytes
	if fx.Framing == "eof-marker" && mode != "spool" {
		wantSize = -1
	}
	if h.rdbSize != wantSize {
		t.Errorf("snapshot size given %d, want %d", h.rdbSize, wantSize)
	}
	if h.offset != fx.EndOffset || st.Offset != fx.EndOffset || st.Offset-fx.StartOffset != fx.StreamBytes {
		t.Errorf("end offset handler %d status %d, want %d (stream bytes %d)", h.offset, st.Offset, fx.EndOffset, fx.StreamBytes)
	}
	last := h.cmds[len(h.cmds)-1]
	if strings.Join(last.args, " ") != "SET w:last done" || last.offset != fx.EndOffset || last.db != 0 {
		t.Errorf("last command %+v", last)
	}
	sawDB5 := false
	for _, c := range h.cmds {
		if c.args[0] == "SELECT" || c.args[0] == "PING" || c.args[0] == "REPLCONF" {
			t.Fatalf("%s reached the handler", c.args[0])
		}
		if len(c.args) > 1 && strings.HasPrefix(c.args[1], "w5:") {
			sawDB5 = sawDB5 || c.db == 5
			if c.db != 5 {
				t.Errorf("%v in db %d, want 5", c.args, c.db)
			}
		}
	}
	if !sawDB5 {
		t.Error("no command in db 5")
	}
	if fx.Framing == "eof-marker" && firstAck.Load() != fx.StartOffset {
		t.Errorf("first ACK %d, want %d", firstAck.Load(), fx.StartOffset)
	}
	wantFull, wantCont := 1, 0
	switch mode {
	case "drop-in-stream":
		wantCont = 1
	case "drop-in-snapshot":
		wantFull = 2
	}
	if h.fulls != wantFull || h.continues != wantCont {
		t.Errorf("full syncs %d continues %d, want %d %d; psyncs %v", h.fulls, h.continues, wantFull, wantCont, m.PSYNCs())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestLinkErrors: malformed input, peers closing, wrong credentials and silent
// masters end sessions with clear errors, never a panic or a hang.
func TestLinkErrors(t *testing.T) {
	fx := fakemaster.LoadFixtures(t)[0]
	tests := []struct {
		name     string
		password string // the fake master's
		user     string // the link's
		pass     string // the link's
		serve    func(c net.Conn, r *resp.Reader)
		fatal    bool   // Run returns the error
		errIs    error  // optional
		errHas   string // in the error
		handler  func(h *recorder)
	}{
		{name: "wrong password", password: "right", pass: "wrong", fatal: true, errIs: conn.ErrAuth,
			errHas: "authentication failed (WRONGPASS): check the password/user in the source URL"},
		{name: "noperm", user: "repl", fatal: true, errIs: ErrNoPermission, errHas: "ACL SETUSER repl +psync +replconf +ping",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("-NOPERM User repl has no permissions to run the 'psync' command\r\n"))
			}},
		{name: "psync blocked", fatal: true, errIs: ErrNoPermission, errHas: "does not allow replication commands",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("-ERR unknown command 'PSYNC', with args beginning with: '?' '-1'\r\n"))
			}},
		{name: "loading", errIs: ErrTryLater, errHas: "LOADING",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("-LOADING Redis is loading the dataset in memory\r\n"))
			}},
		{name: "nomasterlink", errIs: ErrTryLater, errHas: "NOMASTERLINK",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("-NOMASTERLINK Can't SYNC while not connected with my master\r\n"))
			}},
		{name: "garbage psync reply", errIs: ErrProtocol, errHas: "unexpected PSYNC reply",
			serve: func(c net.Conn, r *resp.Reader) { c.Write([]byte("+WHATEVER 1 2 3\r\n")) }},
		{name: "bad snapshot header", errIs: ErrProtocol, errHas: "bad length",
			serve: func(c net.Conn, r *resp.Reader) { c.Write([]byte("+FULLRESYNC abc 0\r\n$12x\r\n")) }},
		{name: "short eof mark", errIs: ErrProtocol, errHas: "EOF mark",
			serve: func(c net.Conn, r *resp.Reader) { c.Write([]byte("+FULLRESYNC abc 0\r\n$EOF:abc\r\n")) }},
		{name: "closed in length snapshot", errIs: io.ErrUnexpectedEOF, errHas: "connection closed after 5 of 100 snapshot bytes",
			serve: func(c net.Conn, r *resp.Reader) { c.Write([]byte("+FULLRESYNC abc 0\r\n$100\r\nREDIS")) }},
		{name: "closed in eof snapshot", errIs: io.ErrUnexpectedEOF, errHas: "before the EOF mark",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("+FULLRESYNC abc 0\r\n$EOF:" + strings.Repeat("a", 40) + "\r\nREDIS0010" + strings.Repeat("x", 100)))
			}},
		{name: "closed before psync reply", errIs: io.ErrUnexpectedEOF, errHas: "closed by the master",
			serve: func(c net.Conn, r *resp.Reader) {}},
		{name: "silent master", errIs: os.ErrDeadlineExceeded,
			serve: func(c net.Conn, r *resp.Reader) { fakemaster.DrainAcks(r) }},
		{name: "malformed stream", errHas: "protocol error",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("+FULLRESYNC abc 0\r\n$0\r\n*2\r\n$3\r\nDEL\r\n$x\r\n"))
				fakemaster.DrainAcks(r)
			}},
		{name: "bad select", errIs: ErrProtocol, errHas: "SELECT",
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write([]byte("+FULLRESYNC abc 0\r\n$0\r\n*2\r\n$6\r\nSELECT\r\n$2\r\n-1\r\n"))
				fakemaster.DrainAcks(r)
			}},
		{name: "handler error", fatal: true, errHas: "handler Command: destination is full",
			handler: func(h *recorder) { h.failAfter = 3 },
			serve: func(c net.Conn, r *resp.Reader) {
				c.Write(fx.Bin)
				fakemaster.DrainAcks(r)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := fakemaster.Start(t, func(n int, c net.Conn, r *resp.Reader, psync []string) { tt.serve(c, r) })
			m.SetPassword(tt.password)
			cfg := fastConfig(t, m.Addr())
			cfg.ReadTimeout = 300 * time.Millisecond
			cfg.Conn = conn.Options{Username: tt.user, Password: tt.pass}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var retried atomic.Pointer[error]
			cfg.OnError = func(err error) {
				retried.CompareAndSwap(nil, &err)
				cancel()
			}
			h := newRecorder(0)
			if tt.handler != nil {
				tt.handler(h)
			}
			l, err := NewLink(cfg, h)
			if err != nil {
				t.Fatal(err)
			}
			runErr := l.Run(ctx)
			got := runErr
			if !tt.fatal {
				if runErr != nil {
					t.Fatalf("Run returned %v; want a retried error", runErr)
				}
				if p := retried.Load(); p != nil {
					got = *p
				}
			}
			if got == nil {
				t.Fatalf("no error (timeout?), status %+v", l.Status())
			}
			if (tt.errIs != nil && !errors.Is(got, tt.errIs)) || !strings.Contains(got.Error(), tt.errHas) {
				t.Fatalf("error %q\nwant errors.Is %v and containing %q", got, tt.errIs, tt.errHas)
			}
			if !strings.Contains(got.Error(), "xsync/") {
				t.Errorf("error without package prefix: %v", got)
			}
			if st := l.Status(); st.State != StateStopped || (!tt.fatal && st.LastError == "") {
				t.Errorf("status after Run: %+v", st)
			}
		})
	}
}

// TestLinkGetAck: REPLCONF GETACK is answered with the offset including it, PING and
// SELECT advance the offset without reaching Command.
func TestLinkGetAck(t *testing.T) {
	ping := "*1\r\n$4\r\nPING\r\n"
	getack := "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
	sel := "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	stream := ping + sel + set + getack
	const start = 1000
	acks := make(chan int64, 16)
	m := fakemaster.Start(t, func(n int, c net.Conn, r *resp.Reader, psync []string) {
		c.Write([]byte("+FULLRESYNC 0123456789012345678901234567890123456789 " + strconv.Itoa(start) + "\r\n$0\r\n" + stream))
		for {
			a, err := fakemaster.WaitAck(r)
			if err != nil {
				return
			}
			acks <- a
		}
	})
	h := newRecorder(start + int64(len(stream)))
	l, err := NewLink(fastConfig(t, m.Addr()), h)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	want := int64(start + len(stream))
	deadline := time.After(10 * time.Second)
	for got := int64(-1); got != want; {
		select {
		case got = <-acks:
		case <-deadline:
			t.Fatalf("no ACK %d; status %+v", want, l.Status())
		}
	}
	l.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.cmds) != 1 || h.cmds[0].db != 3 || h.cmds[0].offset != start+int64(len(ping+sel+set)) {
		t.Fatalf("commands %+v", h.cmds)
	}
	if st := l.Status(); st.DB != 3 || st.Offset != want {
		t.Fatalf("status %+v", st)
	}
}

// TestLinkResumeConfig: a Link configured with a replid and offset asks PSYNC
// replid offset+1 and follows a +CONTINUE that changes the replid.
func TestLinkResumeConfig(t *testing.T) {
	oldID, newID := strings.Repeat("a", 40), strings.Repeat("b", 40)
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	m := fakemaster.Start(t, func(n int, c net.Conn, r *resp.Reader, psync []string) {
		if psync[1] != oldID || psync[2] != "501" {
			c.Write([]byte("-ERR unexpected " + fmt.Sprint(psync) + "\r\n"))
			return
		}
		c.Write([]byte("+CONTINUE " + newID + "\r\n" + set))
		fakemaster.DrainAcks(r)
	})
	cfg := fastConfig(t, m.Addr())
	cfg.ReplID, cfg.Offset, cfg.DB = oldID, 500, 4
	h := newRecorder(500 + int64(len(set)))
	h.offset = 500
	l, err := NewLink(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	runLink(t, l, h, 10*time.Second)
	if h.replID != newID || h.continues != 1 || h.cmds[0].db != 4 || l.Status().ReplID != newID {
		t.Fatalf("handler %+v status %+v", h, l.Status())
	}
}

func TestParseRDBHeader(t *testing.T) {
	mark := strings.Repeat("f", 40)
	tests := []struct {
		line     string
		size     int64
		mark     bool
		wantFail bool
	}{
		{line: "$123", size: 123},
		{line: "$0", size: 0},
		{line: "$EOF:" + mark, size: -1, mark: true},
		{line: "$-1", wantFail: true},
		{line: "$EOF:abc", wantFail: true},
		{line: "+OK", wantFail: true},
		{line: "-ERR no", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			size, m, err := parseRDBHeader(tt.line)
			if (err != nil) != tt.wantFail || (err == nil && (size != tt.size || (m != nil) != tt.mark)) {
				t.Fatalf("got %d %q %v", size, m, err)
			}
		})
	}
}

// nopHandler accepts everything.
type nopHandler struct{}

func (nopHandler) FullSync(context.Context, string, int64, io.Reader, int64) error { return nil }
func (nopHandler) Continue(context.Context, string, int64) error                   { return nil }
func (nopHandler) Command(context.Context, int, [][]byte, int64) error             { return nil }
func (nopHandler) Progress(context.Context, int, int64) error                      { return nil }

// TestDispatchAllocs: the stream path allocates nothing per command.
func TestDispatchAllocs(t *testing.T) {
	l, err := NewLink(LinkConfig{Addr: "x:1"}, nopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{l: l, prog: nopHandler{}}
	cmds := [][][]byte{
		{[]byte("SET"), []byte("k"), []byte("v")},
		{[]byte("PING")},
		{[]byte("select"), []byte("12")},
		{[]byte("HSET"), []byte("h"), []byte("f"), []byte("v")},
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		for _, c := range cmds {
			if err := s.dispatch(ctx, c, 20); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
	if s.db != 12 || l.Status().Offset != s.off {
		t.Fatalf("db %d offset %d/%d", s.db, l.Status().Offset, s.off)
	}
}

func BenchmarkDispatch(b *testing.B) {
	l, _ := NewLink(LinkConfig{Addr: "x:1"}, nopHandler{})
	s := &session{l: l}
	args := [][]byte{[]byte("SET"), []byte("key:000001"), []byte("value")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.dispatch(ctx, args, 40)
	}
}

// TestLinkResumeInTransaction: a link lost inside MULTI resumes at the MULTI, and
// Continue says so.
func TestLinkResumeInTransaction(t *testing.T) {
	id := strings.Repeat("c", 40)
	multi := "*1\r\n$5\r\nMULTI\r\n"
	set := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	exec := "*1\r\n$4\r\nEXEC\r\n"
	sel := "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
	stream := sel + multi + set + exec
	txStart := int64(len(sel))
	m := fakemaster.Start(t, func(n int, c net.Conn, r *resp.Reader, psync []string) {
		if n == 0 {
			c.Write([]byte("+FULLRESYNC " + id + " 0\r\n$0\r\n" + sel + multi + set)) // then lost
			fakemaster.WaitAck(r)
			return
		}
		if psync[2] != strconv.FormatInt(txStart+1, 10) {
			c.Write([]byte("-ERR want PSYNC from the MULTI, got " + psync[2] + "\r\n"))
			return
		}
		c.Write([]byte("+CONTINUE\r\n" + multi + set + exec))
		fakemaster.DrainAcks(r)
	})
	h := newRecorder(int64(len(stream)))
	l, err := NewLink(fastConfig(t, m.Addr()), h)
	if err != nil {
		t.Fatal(err)
	}
	runLink(t, l, h, 10*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	var got []string
	for _, c := range h.cmds {
		got = append(got, fmt.Sprint(c.db, c.args))
	}
	if strings.Join(got, "|") != "2 [MULTI]|2 [SET k v]|2 [EXEC]" || h.continues != 1 {
		t.Fatalf("commands %v, continues %d", got, h.continues)
	}
}
