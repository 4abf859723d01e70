package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/fixtures"
	"github.com/xsync/xsync/resp"
)

// fixture is one captured PSYNC session of testdata/psync.
type fixture struct {
	Name        string
	ReplID      string `json:"replid"`
	StartOffset int64  `json:"start_offset"`
	EndOffset   int64  `json:"end_offset"`
	Framing     string `json:"rdb_framing"`
	RDBBytes    int64  `json:"rdb_bytes"`
	StreamBytes int64  `json:"stream_bytes"`
	Bin         []byte `json:"-"`
}

// head is everything before the command stream: +FULLRESYNC, the RDB transfer.
func (f *fixture) head() []byte   { return f.Bin[:int64(len(f.Bin))-f.StreamBytes] }
func (f *fixture) stream() []byte { return f.Bin[int64(len(f.Bin))-f.StreamBytes:] }

func loadFixtures(t *testing.T) []*fixture {
	t.Helper()
	dir := filepath.Join(fixtures.Dir(t), "psync")
	metas, err := filepath.Glob(filepath.Join(dir, "*.meta.json"))
	if err != nil || len(metas) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	var out []*fixture
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		f := &fixture{Name: filepath.Base(m[:len(m)-len(".meta.json")])}
		if err := json.Unmarshal(b, f); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if f.Bin, err = os.ReadFile(m[:len(m)-len(".meta.json")] + ".bin"); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// fakeMaster is a net.Listener on 127.0.0.1 that answers the replica handshake and
// then runs a scenario per connection (numbered from 0).
type fakeMaster struct {
	t        *testing.T
	ln       net.Listener
	password string
	serve    func(n int, c net.Conn, r *resp.Reader, psync []string)
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	psyncs   [][]string
}

func newFakeMaster(t *testing.T, serve func(n int, c net.Conn, r *resp.Reader, psync []string)) *fakeMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{t: t, ln: ln, serve: serve}
	m.wg.Add(1)
	go m.accept()
	t.Cleanup(m.close)
	return m
}

func (m *fakeMaster) addr() string { return m.ln.Addr().String() }

func (m *fakeMaster) close() {
	m.ln.Close()
	m.mu.Lock()
	for _, c := range m.conns {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *fakeMaster) accept() {
	defer m.wg.Done()
	for n := 0; ; n++ {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.conns = append(m.conns, c)
		m.mu.Unlock()
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer c.Close()
			r := resp.NewReader(c, resp.Limits{})
			psync, ok := m.handshake(c, r)
			if ok {
				m.serve(n, c, r, psync)
			}
		}()
	}
}

func (m *fakeMaster) psyncLog() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([][]string(nil), m.psyncs...)
}

// handshake answers AUTH, PING, REPLCONF (and refuses CONFIG, INFO) until PSYNC.
func (m *fakeMaster) handshake(c net.Conn, r *resp.Reader) ([]string, bool) {
	for {
		args, _, err := r.ReadCommand()
		if err != nil {
			return nil, false
		}
		s := make([]string, len(args))
		for i, a := range args {
			s[i] = string(a)
		}
		var reply string
		switch string(bytes.ToUpper(args[0])) {
		case "AUTH":
			if s[len(s)-1] == m.password {
				reply = "+OK\r\n"
			} else {
				reply = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
			}
		case "PING":
			reply = "+PONG\r\n"
		case "REPLCONF":
			reply = "+OK\r\n"
		case "PSYNC":
			m.mu.Lock()
			m.psyncs = append(m.psyncs, s)
			m.mu.Unlock()
			return s, true
		default:
			reply = "-ERR unknown command '" + s[0] + "'\r\n"
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			return nil, false
		}
	}
}

// writeChunks writes b in random-sized chunks.
func writeChunks(c net.Conn, b []byte, rng *rand.Rand) error {
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(8192))
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// waitAck reads commands until a REPLCONF ACK arrives and returns its offset.
func waitAck(r *resp.Reader) (int64, error) {
	for {
		args, _, err := r.ReadCommand()
		if err != nil {
			return 0, err
		}
		if len(args) == 3 && bytes.EqualFold(args[0], []byte("REPLCONF")) && bytes.EqualFold(args[1], []byte("ACK")) {
			return strconv.ParseInt(string(args[2]), 10, 64)
		}
	}
}

// drainAcks consumes what the replica sends until the connection ends.
func drainAcks(r *resp.Reader) {
	for {
		if _, _, err := r.ReadCommand(); err != nil {
			return
		}
	}
}

// recorder is a Handler that records what a link delivers.
type recorder struct {
	mu        sync.Mutex
	fulls     int
	continues int
	replID    string
	rdbBytes  int64
	rdbSize   int64
	cmds      []recCmd
	offset    int64 // highest offset seen (commands and progress)
	target    int64
	reached   chan struct{}
	once      sync.Once
	failAfter int // Command returns an error after that many commands (0: never)
}

type recCmd struct {
	db     int
	args   []string
	offset int64
}

func newRecorder(target int64) *recorder {
	return &recorder{target: target, reached: make(chan struct{})}
}

func (h *recorder) FullSync(ctx context.Context, replID string, offset int64, rdb io.Reader, size int64) error {
	n, err := io.Copy(io.Discard, rdb)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fulls++
	h.replID, h.rdbBytes, h.rdbSize = replID, n, size
	h.offset = offset
	return err
}

func (h *recorder) Continue(ctx context.Context, replID string, offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.continues++
	h.replID = replID
	if offset > h.offset {
		return errors.New("continue offset " + strconv.FormatInt(offset, 10) + " after handled " + strconv.FormatInt(h.offset, 10))
	}
	// Drop an unfinished transaction: it comes again.
	for len(h.cmds) > 0 && h.cmds[len(h.cmds)-1].offset > offset {
		h.cmds = h.cmds[:len(h.cmds)-1]
	}
	h.offset = offset
	return nil
}

func (h *recorder) Command(ctx context.Context, db int, args [][]byte, offset int64) error {
	c := recCmd{db: db, offset: offset}
	for _, a := range args {
		c.args = append(c.args, string(a))
	}
	h.mu.Lock()
	h.cmds = append(h.cmds, c)
	n := len(h.cmds)
	h.mu.Unlock()
	if h.failAfter > 0 && n >= h.failAfter {
		return errors.New("destination is full")
	}
	return h.advance(offset)
}

func (h *recorder) Progress(ctx context.Context, db int, offset int64) error {
	return h.advance(offset)
}

func (h *recorder) advance(offset int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if offset <= h.offset {
		return errors.New("offset went back from " + strconv.FormatInt(h.offset, 10) + " to " + strconv.FormatInt(offset, 10))
	}
	h.offset = offset
	if h.target > 0 && offset >= h.target {
		h.once.Do(func() { close(h.reached) })
	}
	return nil
}

// runLink runs l until the recorder reached its target (or timeout) and stops it.
func runLink(t *testing.T, l *Link, h *recorder, timeout time.Duration) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- l.Run(context.Background()) }()
	select {
	case <-h.reached:
	case err := <-errc:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(timeout):
		t.Fatalf("timeout: status %+v", l.Status())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}
