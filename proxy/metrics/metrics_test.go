package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xsync/xsync/replicator"
)

// fixedStatus is a Statuser that always reports the same status.
type fixedStatus replicator.Status

func (f fixedStatus) Status() replicator.Status { return replicator.Status(f) }

func testStatus() replicator.Status {
	return replicator.Status{
		State: replicator.StateStream, Started: time.Now().Add(-time.Minute),
		OpsApplied: 42, LagBytes: 7, Errors: 1, KeysDone: 10, KeysTotal: 10, BytesDone: 1000,
		Shards: []replicator.ShardStatus{
			{Index: 0, Addr: "127.0.0.1:7000", State: replicator.StateStream, ReceivedOffset: 100, AppliedOffset: 93, LagBytes: 7, OpsSubmitted: 42},
			{Index: 1, Addr: "127.0.0.1:7001", State: replicator.StateStream, ReceivedOffset: 5, AppliedOffset: 5},
		},
	}
}

func TestMetricsAndHealthz(t *testing.T) {
	ctl := fixedStatus(testStatus())
	m, err := New(Config{Addr: "127.0.0.1:0", StuckAfter: 50 * time.Millisecond}, ctl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Serve(ctx)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + m.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	for _, want := range []string{`xsync_lag_bytes{shard="0"} 7`, `xsync_applied_offset{shard="0"} 93`, `xsync_shard_state{addr="127.0.0.1:7000",shard="0",state="stream"} 1`, `xsync_ops_submitted_total{shard="0"} 42`, `xsync_ops_applied_total 42`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q (code %d)", want, code)
		}
	}
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	time.Sleep(80 * time.Millisecond) // shard 0 is 7 bytes behind and does not move
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "shard 0") {
		t.Fatalf("stuck shard: /healthz = %d %s", code, body)
	}
}

func TestReplyLatencyAndErrorKinds(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs := ReplyLatency(reg)
	obs("127.0.0.1:7000", 2*time.Millisecond)
	obs("127.0.0.1:7000", 3*time.Millisecond)
	st := testStatus()
	st.DestErrors = map[string]int64{"oom": 2, "wrongtype": 0}
	st.DestRetries = map[string]int64{"moved": 5}
	m, err := New(Config{Addr: "127.0.0.1:0", Registry: reg}, fixedStatus(st))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Serve(ctx)
	resp, err := http.Get("http://" + m.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`xsync_dest_reply_latency_seconds_count{node="127.0.0.1:7000"} 2`,
		`xsync_dest_errors_total{kind="oom"} 2`,
		`xsync_dest_retries_total{kind="moved"} 5`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
