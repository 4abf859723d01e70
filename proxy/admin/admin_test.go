package admin

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator"
)

type fakeCtl struct {
	paused atomic.Bool
	st     replicator.Status
}

func (f *fakeCtl) Status() replicator.Status {
	st := f.st
	if f.paused.Load() {
		st.State = replicator.StatePaused
	}
	return st
}
func (f *fakeCtl) Pause() error  { f.paused.Store(true); return nil }
func (f *fakeCtl) Resume() error { f.paused.Store(false); return nil }

func testStatus() replicator.Status {
	return replicator.Status{
		State: replicator.StateStream, DestServer: "Valkey 8.0.1", Started: time.Now().Add(-time.Minute),
		OpsApplied: 42, LagBytes: 7, Errors: 1, KeysDone: 10, KeysTotal: 10, BytesDone: 1000,
		Shards: []replicator.ShardStatus{
			{Index: 0, Addr: "127.0.0.1:7000", State: replicator.StateStream, ReceivedOffset: 100, AppliedOffset: 93, LagBytes: 7, OpsSubmitted: 42},
			{Index: 1, Addr: "127.0.0.1:7001", State: replicator.StateStream, ReceivedOffset: 5, AppliedOffset: 5},
		},
	}
}

func startAdmin(t *testing.T, cfg Config, ctl Controller) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(cfg, ctl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a
}

func TestAdminInfoAndCommands(t *testing.T) {
	ctl := &fakeCtl{st: testStatus()}
	a := startAdmin(t, Config{Version: "test"}, ctl)
	c := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2})
	defer c.Close()
	ctx := context.Background()

	if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	info, err := c.Info(ctx, "xsync").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Xsync\r\n", "state:stream\r\n", "dest_server:Valkey 8.0.1\r\n", "shards:2\r\n", "fullsync_keys_done:10\r\n", "fullsync_keys_total:10\r\n",
		"fullsync_bytes_done:1000\r\n", "ops_applied:42\r\n", "ops_per_sec:0\r\n", "lag_bytes:7\r\n", "lag_seconds:0.000\r\n", "errors:1\r\n",
		"shard0:addr=127.0.0.1:7000,state=stream,received_offset=100,applied_offset=93,lag_bytes=7,lag_seconds=0.000,",
		"shard1:addr=127.0.0.1:7001,state=stream,received_offset=5,applied_offset=5,lag_bytes=0,",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO xsync lacks %q:\n%s", want, info)
		}
	}
	all, err := c.Info(ctx).Result()
	if err != nil || !strings.Contains(all, "# Server\r\nxsync_version:test\r\n") || !strings.Contains(all, "# Xsync\r\n") {
		t.Errorf("INFO = %q, %v", all, err)
	}
	if err := c.Do(ctx, "XSYNC", "PAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Do(ctx, "XSYNC", "STATUS").Text(); !strings.Contains(s, "state:paused") {
		t.Errorf("after PAUSE, status = %q", s)
	}
	if err := c.Do(ctx, "XSYNC", "RESUME").Err(); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Do(ctx, "XSYNC", "STATUS").Text(); !strings.Contains(s, "state:stream") {
		t.Errorf("after RESUME, status = %q", s)
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"FLUSHALL"}, "ERR unknown command 'flushall'"},
		{[]any{"XSYNC", "BOGUS"}, "ERR unknown XSYNC subcommand 'BOGUS'"},
		{[]any{"XSYNC"}, "ERR wrong number of arguments"},
		{[]any{"CONFIG", "SET", "a", "b"}, "ERR the admin port supports CONFIG GET"},
	} {
		err := c.Do(ctx, tc.args...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want prefix %q", tc.args, err, tc.want)
		}
	}
}

func TestAdminPassword(t *testing.T) {
	if _, err := New(Config{Addr: "0.0.0.0:0"}, &fakeCtl{}); err == nil || !strings.Contains(err.Error(), "admin-password") {
		t.Fatalf("non-loopback without password: err = %v", err)
	}
	a := startAdmin(t, Config{Password: "s3cret"}, &fakeCtl{st: testStatus()})
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	if err := c.Info(ctx, "xsync").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("INFO without AUTH: err = %v", err)
	}
	bad := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, Password: "nope", DisableIdentity: true})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: err = %v", err)
	}
	good := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, Password: "s3cret", DisableIdentity: true})
	defer good.Close()
	if err := good.Info(ctx, "xsync").Err(); err != nil {
		t.Fatalf("with password: %v", err)
	}
}
