package rdb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/fixtures"
)

func BenchmarkDecodeFixture(b *testing.B) {
	in, err := os.ReadFile(fixtures.Path(b, "rdb", "redis-7.4.1.rdb"))
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecoder(nil, Options{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		d.Reset(bytes.NewReader(in), Options{})
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := rec.Elements(func(*Chunk) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestBenchMixed (XSYNC_BENCH=1) decodes a 1M-key mixed RDB made by a real
// redis-server and compares with the time redis-server takes to load it.
func TestBenchMixed(t *testing.T) {
	if os.Getenv("XSYNC_BENCH") == "" {
		t.Skip("set XSYNC_BENCH=1 to run the 1M-key decode benchmark")
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not found")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "xsync-bench")
	file := filepath.Join(dir, "mixed-1m.rdb")
	if _, err := os.Stat(file); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		makeMixed(t, server, dir, "mixed-1m.rdb", 1_000_000)
	}
	in, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	for _, walk := range []bool{false, true} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		d := NewDecoder(bytes.NewReader(in), Options{})
		keys := 0
		for {
			rec, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Kind == KindKey {
				keys++
				if walk {
					if err := rec.Elements(func(*Chunk) error { return nil }); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		el := time.Since(start)
		runtime.ReadMemStats(&m1)
		what := "records + raw bytes"
		if walk {
			what = "records + every element"
		}
		t.Logf("xsync decode (%s): %d keys, %.1f MB in %v: %.0f MB/s, %.3f allocs/key, %.1f bytes allocated/key",
			what, keys, float64(len(in))/1e6, el.Round(time.Millisecond), float64(len(in))/1e6/el.Seconds(),
			float64(m1.Mallocs-m0.Mallocs)/float64(keys), float64(m1.TotalAlloc-m0.TotalAlloc)/float64(keys))
	}
	poll, logged := redisLoadTime(t, server, dir, "mixed-1m.rdb")
	t.Logf("redis-server load of the same file: %v until INFO says loading:0 (log: %q)", poll.Round(time.Millisecond), logged)
}

// makeMixed fills a fresh redis-server with n keys of mixed types through
// redis-cli --pipe, SAVEs it as dir/name.
func makeMixed(t *testing.T, server, dir, name string, n int) {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not found")
	}
	port := freePort(t)
	srv := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", name, "--save", "", "--appendonly", "no")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitPort(t, port)
	cmds := filepath.Join(t.TempDir(), "cmds.resp")
	f, err := os.Create(cmds)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	cmd := func(args ...string) {
		fmt.Fprintf(w, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	for i := 0; i < n; i++ {
		k := "key:" + strconv.Itoa(i)
		s := strconv.Itoa(i)
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
			cmd("SET", k, strings.Repeat("v", i%90)+s)
		case 10, 11, 12:
			cmd("HSET", k, "f1", s, "f2", "value-"+s, "f3", "x", "name", "n"+s, "n", "42")
		case 13, 14:
			cmd("RPUSH", k, "a", "b", s, "item-"+s, "z")
		case 15, 16:
			cmd("SADD", k, "m1", "m2", s, "member-"+s, "q")
		case 17, 18:
			cmd("ZADD", k, "1", "a", "2.5", "b", s, "c"+s, "-1", "d", "100", "e")
		case 19:
			cmd("XADD", k, "*", "f", s, "g", "x")
			cmd("XADD", k, "*", "f", "y")
		}
		if i%100000 == 99999 && i >= 100000 {
			cmd("SET", "big:"+s, strings.Repeat("0123456789", 10000))
		}
	}
	cmd("SAVE")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, _ := os.Open(cmds)
	defer in.Close()
	pipe := exec.Command(cli, "-p", strconv.Itoa(port), "--pipe")
	pipe.Stdin = in
	if out, err := pipe.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --pipe: %v: %s", err, out)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int) net.Conn {
	for i := 0; i < 2000; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			return c
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return nil
}

// redisLoadTime starts redis-server on the file and returns the time from
// the start of the process until INFO persistence says loading:0, and what
// its log says about the load.
func redisLoadTime(t *testing.T, server, dir, name string) (time.Duration, string) {
	t.Helper()
	port := freePort(t)
	logf := filepath.Join(t.TempDir(), "redis.log")
	start := time.Now()
	srv := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", name, "--save", "", "--appendonly", "no", "--logfile", logf)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	c := waitPort(t, port)
	defer c.Close()
	br := bufio.NewReader(c)
	var took time.Duration
	for {
		c.Write([]byte("*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n"))
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		body := make([]byte, n+2)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte("\r\nloading:0\r\n")) {
			took = time.Since(start)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	log, _ := os.ReadFile(logf)
	if os.Getenv("XSYNC_BENCH_DEBUG") != "" {
		t.Logf("%s", log)
	}
	m := regexp.MustCompile(`DB loaded from disk: [0-9.]+ seconds`).Find(log)
	return took, string(m)
}
