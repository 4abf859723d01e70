package verify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNextID(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"1-1", "1-2", ""},
		{"0-0", "0-1", ""},
		{"5-18446744073709551615", "6-0", ""},
		{"bad", "", "bad stream id"},
		{"1-x", "", "bad stream id"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := nextID(tc.in)
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("nextID(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	std := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer std.Close()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cl.Close()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"ok", Config{Source: std, Target: cl}, nil},
		{"no target", Config{Source: std}, ErrNoClient},
		{"ring", Config{Source: ring, Target: std}, ErrClientType},
		{"sample", Config{Source: std, Target: std, Sample: 1.5}, ErrBadSample},
		{"negative", Config{Source: std, Target: std, Rounds: -1}, ErrBadSettings},
		{"cluster target db", Config{Source: std, Target: cl, DBMap: map[int]int{1: 1}}, ErrClusterDB},
		{"cluster source db", Config{Source: cl, Target: std, DBs: []int{2}}, ErrClusterDB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("New: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Source: &redis.Client{}, Target: &redis.Client{}}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Rounds != 3 || c.TTLTolerance != 2*time.Second || c.ExcludePrefix != DefaultExcludePrefix || c.Sample != 1 || c.ScanCount != 1000 {
		t.Errorf("defaults: %+v", c)
	}
	c = Config{Source: &redis.Client{}, Target: &redis.Client{}, NoExclude: true}
	if err := c.validate(); err != nil || c.ExcludePrefix != "" {
		t.Errorf("NoExclude: prefix %q, %v", c.ExcludePrefix, err)
	}
}

func TestTTLEqual(t *testing.T) {
	v := &Verifier{cfg: Config{TTLTolerance: 2 * time.Second}}
	tests := []struct {
		a, b time.Duration
		want bool
	}{
		{-1, -1, true},
		{-1, time.Second, false},
		{time.Second, -1, false},
		{10 * time.Second, 9 * time.Second, true},
		{10 * time.Second, 12 * time.Second, true},
		{10 * time.Second, 12*time.Second + 1, false},
	}
	for _, tc := range tests {
		if got := v.ttlEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("ttlEqual(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestReport(t *testing.T) {
	r := &Result{Rounds: 2, SourceKeys: 10, TargetKeys: 9, PerRound: []int64{3, 2}, Duration: time.Second}
	r.Counts[Missing], r.Counts[Value] = 1, 5
	r.Diffs = []Diff{
		{Kind: Missing, Key: "a", Source: "string", Target: "none"},
		{Kind: Value, DB: 2, Key: "b c", Source: "len 1 sha256:00", Target: "len 2 sha256:11"},
	}
	var b strings.Builder
	if err := r.WriteReport(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DIFFERENT — 6 differing keys after 2 round(s)", "per round: 3 -> 2",
		"missing on target (1):\n  db0 \"a\"  source: string  target: none", "db2 \"b c\"", "... and 4 more"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1000)
	start := time.Now()
	for range 5 {
		if err := l.wait(context.Background(), 20); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("5 x 20 keys at 1000/s took %v, want >= 80ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, 1000); err == nil {
		t.Error("wait with a cancelled context succeeded")
	}
}
