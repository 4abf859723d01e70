package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/resp"
)

// client is a plain RESP2 connection: the generator needs the servers' replies
// as they are on the wire (scores as the server prints them), which a RESP3
// client library would convert.
type client struct {
	c net.Conn
	w *bufio.Writer
	r *resp.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &client{c: c, w: bufio.NewWriter(c), r: resp.NewReader(c, resp.Limits{})}, nil
}

func (c *client) Close() error { return c.c.Close() }

// do sends one command and returns its reply, copied out of the reader's buffer.
// An error reply is returned as an error.
func (c *client) do(args ...string) (resp.Value, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = []byte(a)
	}
	return c.doBytes(bs...)
}

func (c *client) doBytes(args ...[]byte) (resp.Value, error) {
	if err := c.c.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return resp.Value{}, err
	}
	if _, err := c.w.Write(resp.AppendCommand(nil, args...)); err != nil {
		return resp.Value{}, err
	}
	if err := c.w.Flush(); err != nil {
		return resp.Value{}, err
	}
	v, _, err := c.r.ReadValue()
	if err != nil {
		return resp.Value{}, err
	}
	v = deepCopy(v)
	if v.IsError() {
		return v, fmt.Errorf("%s: %s", strings.Join(shorten(args), " "), v.Str)
	}
	return v, nil
}

// must is do for the generator's own commands: any error ends the run.
func (c *client) must(args ...string) resp.Value {
	v, err := c.do(args...)
	if err != nil {
		fatalf("%v", err)
	}
	return v
}

func shorten(args [][]byte) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		s := string(a)
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		out = append(out, strconv.Quote(s))
	}
	return out
}

func deepCopy(v resp.Value) resp.Value {
	if v.Str != nil {
		v.Str = append([]byte{}, v.Str...)
	}
	if v.Elems != nil {
		e := make([]resp.Value, len(v.Elems))
		for i := range v.Elems {
			e[i] = deepCopy(v.Elems[i])
		}
		v.Elems = e
	}
	v.Attrs = nil
	return v
}

// fields reads a flat [k1, v1, k2, v2...] reply (XINFO) into a map.
func fields(v resp.Value) map[string]resp.Value {
	m := map[string]resp.Value{}
	for i := 0; i+1 < len(v.Elems); i += 2 {
		m[string(v.Elems[i].Str)] = v.Elems[i+1]
	}
	return m
}

// server is one redis-server process of the generator, in its own directory.
type server struct {
	label   string // "redis-7.4.1" or "valkey-8.0.1": the file names
	version string // redis_version from INFO: what the version gates use
	bin     string
	dir     string
	port    int
	cmd     *exec.Cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts bin with the settings the fixtures need: no persistence of
// its own, compressed lists (list-compress-depth 1), no replica pings during the
// capture, and the server's default replication mode (disk-based before 7.0,
// diskless from 7.0).
func startServer(label, bin, parent string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(parent, label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ping := "repl-ping-replica-period"
	if v, ok := strings.CutPrefix(label, "redis-"); ok && !atLeast(v, 5, 0) {
		ping = "repl-ping-slave-period"
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--list-compress-depth", "1", "--" + ping, "3600",
		"--logfile", filepath.Join(dir, "server.log")}
	s := &server{label: label, bin: bin, dir: dir, port: port, cmd: exec.Command(bin, args...)}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := dial(s.addr())
		if err == nil {
			var info resp.Value
			if info, err = c.do("INFO", "server"); err == nil {
				for _, l := range strings.Split(string(info.Str), "\r\n") {
					if v, ok := strings.CutPrefix(l, "redis_version:"); ok {
						s.version = v
					}
				}
			}
			c.Close()
			if err == nil {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not answer PING on %s: %v (log in %s)", bin, s.addr(), err, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// atLeast compares a "major.minor.patch" version.
func atLeast(version string, major, minor int) bool {
	p := strings.SplitN(version, ".", 3)
	if len(p) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(p[0])
	mi, _ := strconv.Atoi(p[1])
	return ma > major || ma == major && mi >= minor
}
