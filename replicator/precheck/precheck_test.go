package precheck

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

func endpoint(addr string) Endpoint { return Endpoint{Seeds: []string{addr}} }

// find returns the result named name, failing the test when it is missing.
func find(t *testing.T, rs []Result, name string) Result {
	t.Helper()
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	var b bytes.Buffer
	Write(&b, rs)
	t.Fatalf("no result %q in:\n%s", name, b.String())
	return Result{}
}

func run(t *testing.T, cfg Config) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.Timeout = 3 * time.Second
	rs := Run(ctx, cfg)
	var b bytes.Buffer
	Write(&b, rs)
	t.Logf("results:\n%s", b.String())
	return rs
}

func TestPrechecksPassOnAGoodPair(t *testing.T) {
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	rs := run(t, Config{Source: Endpoint{Seeds: src.Addrs()[:1]}, Target: Endpoint{Seeds: dst.Addrs()[:1]}})
	for _, r := range rs {
		if r.Level == Fail {
			t.Errorf("unexpected FAIL: %+v", r)
		}
	}
	if r := find(t, rs, "source-reachable"); !strings.Contains(r.Found, "3 masters") {
		t.Errorf("source discovery: %+v", r)
	}
	for _, name := range []string{"dest-slots-covered", "dest-eviction-policy", "versions", "dest-empty", "source-replication-permission", "dest-free-memory"} {
		if r := find(t, rs, name); r.Level != Pass {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func TestPrechecksFindMisconfigurations(t *testing.T) {
	src := redistest.Start(t, redistest.Options{
		Config: []string{"repl-backlog-size 16kb", "client-output-buffer-limit replica 1mb 512kb 1"},
		Users:  []redistest.User{{Name: "noreplication", Password: "pw", Rules: "~* &* +@all -psync -sync"}},
	})
	dst := redistest.Start(t, redistest.Options{Config: []string{"maxmemory 2mb", "maxmemory-policy allkeys-lru"}})
	ctx := context.Background()
	// Source data bigger than the destination's room; destination not empty.
	pipe := src.Client().Pipeline()
	for i := 0; i < 20000; i++ {
		pipe.Set(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+itoa(i), strings.Repeat("v", 200), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dst.Client().Set(ctx, "already", "here", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rs := run(t, Config{Source: endpoint(src.Addr()), Target: endpoint(dst.Addr()), SnapshotRate: 1 << 20})
	for _, tc := range []struct {
		name  string
		level Level
		found string
	}{
		{"dest-eviction-policy", Fail, "allkeys-lru"},
		{"dest-free-memory", Fail, "destination has"},
		{"dest-empty", Warn, "holds 1 keys"},
		{"source-replication-permission", Pass, ""},
	} {
		r := find(t, rs, tc.name)
		if r.Level != tc.level || !strings.Contains(r.Found, tc.found) {
			t.Errorf("%s = %+v, want %v containing %q", tc.name, r, tc.level, tc.found)
		}
		if r.Level != Pass && r.Fix == "" {
			t.Errorf("%s: no fix given", tc.name)
		}
	}
	if !Failed(rs) {
		t.Error("Failed = false")
	}

	// The same source through a user who may not replicate.
	rs = run(t, Config{Source: Endpoint{Seeds: []string{src.Addr()}, Username: "noreplication", Password: "pw"}, Target: endpoint(dst.Addr())})
	if r := find(t, rs, "source-replication-permission"); r.Level != Fail || !strings.Contains(r.Found, "PSYNC") {
		t.Errorf("no-replication user: %+v", r)
	}
	// A wrong password and an unreachable node.
	rs = run(t, Config{Source: Endpoint{Seeds: []string{src.Addr()}, Username: "noreplication", Password: "wrong"}, Target: endpoint("127.0.0.1:1")})
	if r := find(t, rs, "source-reachable"); r.Level != Fail || !strings.Contains(r.Found, "WRONGPASS") {
		t.Errorf("wrong password: %+v", r)
	}
	if r := find(t, rs, "destination-reachable"); r.Level != Fail || !strings.Contains(r.Found, "refused") {
		t.Errorf("unreachable: %+v", r)
	}
}

func TestPrechecksWarnOnSmallBuffers(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 16kb", "client-output-buffer-limit replica 64kb 32kb 1"}})
	dst := redistest.Start(t, redistest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Keep the source busy so that its input rate is measurable.
	go func() {
		c := src.Client()
		big := strings.Repeat("x", 4096)
		for ctx.Err() == nil {
			c.Set(ctx, "busy", big, 0)
		}
	}()
	time.Sleep(1500 * time.Millisecond) // instantaneous_input_kbps is sampled over ~1.6s
	rs := run(t, Config{Source: endpoint(src.Addr()), Target: endpoint(dst.Addr())})
	if r := find(t, rs, "source-buffers"); r.Level != Warn || !strings.Contains(r.Fix, "CONFIG SET") {
		t.Errorf("source-buffers = %+v", r)
	}
}

func TestPrechecksUncoveredSlots(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	m := dst.Masters()[0]
	if err := m.Client().Do(ctx, "CLUSTER", "DELSLOTS", "0", "1", "2").Err(); err != nil {
		t.Fatal(err)
	}
	rs := run(t, Config{Source: endpoint(src.Addr()), Target: Endpoint{Seeds: []string{m.Addr()}}})
	if r := find(t, rs, "dest-slots-covered"); r.Level != Fail || !strings.Contains(r.Fix, "--cluster fix") {
		t.Errorf("dest-slots-covered = %+v", r)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
