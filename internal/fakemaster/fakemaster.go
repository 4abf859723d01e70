// Package fakemaster is the one fake Redis master of the tests: a loopback listener
// that answers a replica's handshake and then plays a scenario on each connection,
// and the captured PSYNC sessions of the fixtures (psync/ in internal/fixtures.Dir)
// that it can replay. The unit tests of replicator/source drive a Link against it;
// tests/e2e replays the captured sessions through it into a real destination. It is
// only ever a source: the destination of an end-to-end test is a real redis-server.
package fakemaster

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xsync/xsync/internal/fixtures"
	"github.com/xsync/xsync/resp"
)

// Fixture is one captured PSYNC session: <name>.bin holds what the master sent
// after PSYNC (+FULLRESYNC, the RDB transfer, the command stream), <name>.meta.json
// describes it and <name>.json is the dataset after the workload.
type Fixture struct {
	Name        string
	ReplID      string `json:"replid"`
	StartOffset int64  `json:"start_offset"`
	EndOffset   int64  `json:"end_offset"`
	Framing     string `json:"rdb_framing"`
	RDBBytes    int64  `json:"rdb_bytes"`
	StreamBytes int64  `json:"stream_bytes"`
	Bin         []byte `json:"-"`
	JSON        string `json:"-"` // path of the dataset after the workload
}

// Head is everything before the command stream: +FULLRESYNC and the RDB transfer.
func (f *Fixture) Head() []byte { return f.Bin[:int64(len(f.Bin))-f.StreamBytes] }

// Stream is the command stream after the snapshot.
func (f *Fixture) Stream() []byte { return f.Bin[int64(len(f.Bin))-f.StreamBytes:] }

// LoadFixtures reads every captured session of the fixtures' psync folder (it
// skips or fails the test as internal/fixtures does when they are missing).
func LoadFixtures(t testing.TB) []*Fixture {
	t.Helper()
	dir := filepath.Join(fixtures.Dir(t), "psync")
	metas, err := filepath.Glob(filepath.Join(dir, "*.meta.json"))
	if err != nil || len(metas) == 0 {
		t.Fatalf("xsync/fakemaster: no fixtures in %s: %v", dir, err)
	}
	var out []*Fixture
	for _, m := range metas {
		base := strings.TrimSuffix(m, ".meta.json")
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		f := &Fixture{Name: filepath.Base(base), JSON: base + ".json"}
		if err := json.Unmarshal(b, f); err != nil {
			t.Fatalf("xsync/fakemaster: %s: %v", m, err)
		}
		if f.Bin, err = os.ReadFile(base + ".bin"); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// Serve plays the scenario of connection n (numbered from 0) once the handshake
// reached PSYNC; psync holds that command's arguments, "PSYNC" first.
type Serve func(n int, c net.Conn, r *resp.Reader, psync []string)

// Master is a fake master on a loopback port.
type Master struct {
	ln    net.Listener
	serve Serve
	wg    sync.WaitGroup

	mu       sync.Mutex
	password string
	conns    []net.Conn
	psyncs   [][]string
}

// Start listens on a free loopback port and serves every connection until the test
// ends.
func Start(t testing.TB, serve Serve) *Master {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &Master{ln: ln, serve: serve}
	m.wg.Add(1)
	go m.accept()
	t.Cleanup(m.close)
	return m
}

// Addr is the master's host:port.
func (m *Master) Addr() string { return m.ln.Addr().String() }

// SetPassword makes AUTH succeed only with password (by default, only with "").
func (m *Master) SetPassword(password string) {
	m.mu.Lock()
	m.password = password
	m.mu.Unlock()
}

// PSYNCs returns the PSYNC commands received so far, in order.
func (m *Master) PSYNCs() [][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.psyncs)
}

func (m *Master) close() {
	m.ln.Close()
	m.mu.Lock()
	for _, c := range m.conns {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *Master) accept() {
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
			if psync, ok := m.handshake(c, r); ok {
				m.serve(n, c, r, psync)
			}
		}()
	}
}

// handshake answers AUTH, PING and REPLCONF, says "cluster support disabled" to
// CLUSTER (so that a Source takes the master for a standalone server) and refuses
// anything else (CONFIG, INFO: the link's buffer check tolerates it), until PSYNC.
func (m *Master) handshake(c net.Conn, r *resp.Reader) ([]string, bool) {
	for {
		args, _, err := r.ReadCommand()
		if err != nil || len(args) == 0 {
			return nil, false
		}
		s := make([]string, len(args))
		for i, a := range args {
			s[i] = string(a)
		}
		var reply string
		switch strings.ToUpper(s[0]) {
		case "AUTH":
			m.mu.Lock()
			ok := s[len(s)-1] == m.password
			m.mu.Unlock()
			if ok {
				reply = "+OK\r\n"
			} else {
				reply = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
			}
		case "PING":
			reply = "+PONG\r\n"
		case "REPLCONF":
			reply = "+OK\r\n"
		case "CLUSTER":
			reply = "-ERR This instance has cluster support disabled\r\n"
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

// Replay serves f as its master's backlog would: a PSYNC with f's replid and an
// offset inside the stream gets +CONTINUE and the rest of the stream, any other
// PSYNC the whole session (+FULLRESYNC, the RDB, the stream); then it swallows
// the replica's REPLCONF ACKs until the replica hangs up.
func Replay(f *Fixture) Serve {
	return func(n int, c net.Conn, r *resp.Reader, psync []string) {
		out := f.Bin
		if len(psync) == 3 && psync[1] == f.ReplID {
			if off, err := strconv.ParseInt(psync[2], 10, 64); err == nil && off >= f.StartOffset && off <= f.EndOffset {
				out = append([]byte("+CONTINUE\r\n"), f.Stream()[off-f.StartOffset:]...)
			}
		}
		if _, err := c.Write(out); err != nil {
			return
		}
		DrainAcks(r)
	}
}

// WriteChunks writes b in random-sized chunks of 1 to 8192 bytes.
func WriteChunks(c net.Conn, b []byte, rng *rand.Rand) error {
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(8192))
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// WaitAck reads commands until a REPLCONF ACK arrives and returns its offset.
func WaitAck(r *resp.Reader) (int64, error) {
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

// DrainAcks consumes what the replica sends until the connection ends.
func DrainAcks(r *resp.Reader) {
	for {
		if _, _, err := r.ReadCommand(); err != nil {
			return
		}
	}
}
