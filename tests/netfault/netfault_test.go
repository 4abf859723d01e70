// Package netfault tests xsync sync (the binary) with network faults between it
// and the source master, and between it and the destination master: a
// fault-injecting TCP proxy (internal/faultproxy) sits in front of each, and xsync
// is given the proxies' addresses. Both sides are standalone servers, so that every
// connection xsync opens goes through a proxy (a cluster would hand out its nodes'
// own addresses in CLUSTER SLOTS).
//
// Each case runs under a steady load of the history workload (per-key sequences)
// and of non-idempotent commands mixed with assignments; after it, the load of the
// case stops, xsync catches up, and the history checker must find no write lost
// and none duplicated. At the end the destination equals the source key by key.
// Each case logs its time to recover: from the end of the fault until the lag is
// back under one second with everything the source held then applied.
package netfault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/faultproxy"
	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

// The timeouts xsync runs with: a link silent this long is dead. The source PINGs
// its replicas every second (repl-ping-replica-period 1), so a live link is never
// silent that long.
const (
	sourceTimeout = 3 * time.Second
	replyTimeout  = 3 * time.Second
)

type env struct {
	t        *testing.T
	src, dst *redistest.Server
	ps, pd   *faultproxy.Proxy
	p        *xsynctest.Proc
	logFile  string
}

func (e *env) masters() []*redis.Client { return []*redis.Client{e.src.Client()} }

// waitFor polls ok every 20ms until it holds or timeout passes.
func (e *env) waitFor(what string, timeout time.Duration, ok func() bool) time.Duration {
	e.t.Helper()
	began := time.Now()
	for !ok() {
		if time.Since(began) > timeout {
			e.t.Fatalf("%s: not within %v", what, timeout)
		}
		select {
		case err := <-e.p.Done:
			e.p.Done <- err
			e.t.Fatalf("%s: xsync exited: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(began)
}

// historyRun is the history workload of one case.
type historyRun struct {
	cancel context.CancelFunc
	done   chan *loadgen.History
}

func (e *env) startHistory(prefix string) *historyRun {
	ctx, cancel := context.WithCancel(context.Background())
	h := &historyRun{cancel: cancel, done: make(chan *loadgen.History, 1)}
	c := redis.NewClient(&redis.Options{Addr: e.src.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	go func() {
		defer c.Close()
		h.done <- loadgen.RunHistory(ctx, c, loadgen.HistoryOptions{Prefix: prefix, Clients: 2, KeysPerClient: 8, Rate: 400})
	}()
	return h
}

// check stops the case's history workload, waits until xsync has applied it, and
// fails the test on a lost or duplicated write.
func (e *env) check(name string, h *historyRun) *loadgen.Report {
	e.t.Helper()
	h.cancel()
	hist := <-h.done
	e.p.WaitRecovered(e.t, e.masters(), 2*time.Minute)
	rep, err := hist.Check(context.Background(), e.src.Client(), e.dst.Client())
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.OK() {
		var b strings.Builder
		rep.WriteReport(&b)
		e.t.Errorf("%s: history:\n%s", name, b.String())
	}
	return rep
}

func TestNetworkFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	bin := xsynctest.Build(t)
	src := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 64mb", "repl-ping-replica-period 1"}})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	// A snapshot of several MB, so that a reset lands in its middle.
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 15000, BigKeys: 1, BigLen: 20000}); err != nil {
		t.Fatal(err)
	}
	ps, err := faultproxy.New(src.Addr(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	pd, err := faultproxy.New(dst.Addr(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pd.Close() })
	e := &env{t: t, src: src, dst: dst, ps: ps, pd: pd, logFile: filepath.Join(t.TempDir(), "xsync.log")}
	t.Cleanup(func() {
		if dir := os.Getenv("NETFAULT_LOG_DIR"); dir != "" {
			b, _ := os.ReadFile(e.logFile)
			os.WriteFile(filepath.Join(dir, "xsync.log"), b, 0o644)
		}
		if t.Failed() {
			b, _ := os.ReadFile(e.logFile)
			lines := strings.Split(string(b), "\n")
			t.Logf("xsync log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-80):], "\n"))
		}
	})

	// The steady mixed load, for the whole test.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wdone := make(chan *loadgen.Stats, 1)
	go func() {
		st, _ := loadgen.Run(wctx, src.Client(), loadgen.WorkOptions{NonIdempotentOnly: true, Assignments: true, Clients: 2, Rate: 500})
		wdone <- st
	}()

	type result struct {
		name              string
		detect, recovered time.Duration
		rep               *loadgen.Report
	}
	var results []result

	// A reset in the middle of the snapshot: the link syncs again, in the same
	// process.
	h := e.startHistory("h0:")
	ps.ResetAfter(faultproxy.Downstream, 1<<20)
	e.p = xsynctest.StartSync(t, bin, "redis://"+ps.Addr(), "redis://"+pd.Addr(), e.logFile,
		"--source-timeout", sourceTimeout.String(), "--reply-timeout", replyTimeout.String())
	e.waitFor("the reset in the snapshot", time.Minute, func() bool { return ps.Resets.Load() > 0 })
	rec := e.p.WaitRecovered(t, e.masters(), 2*time.Minute)
	if full := infoField(t, src.Client(), "stats", "sync_full"); full != "2" {
		t.Errorf("the source served %s full syncs, want 2 (the snapshot reset, then the one that completed)", full)
	}
	results = append(results, result{"reset in the middle of the snapshot", 0, rec, e.check("snapshot reset", h)})

	cases := []struct {
		name string
		// inject starts the fault and returns when it has been detected (its
		// duration is the detection time, 0 when there is nothing to detect);
		// heal ends it.
		inject func() time.Duration
		heal   func()
		// timeout, when set, is the configured timeout that must catch the
		// fault: it is detected within twice that (not after the kernel's
		// keepalive, which never fires here: the proxy's kernel still answers),
		// and xsync recovers within four times that after the heal (a
		// connection opened during the fault is dead too and is given up after
		// one timeout more).
		timeout time.Duration
	}{
		{"latency 200ms ±50ms, both sides", func() time.Duration {
			f := faultproxy.Faults{Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond}
			ps.Set(f)
			pd.Set(f)
			e.hold(3 * time.Second)
			return 0
		}, e.healAll, 0},
		{"bandwidth 64 KB/s, both sides", func() time.Duration {
			f := faultproxy.Faults{Rate: 64 << 10}
			ps.Set(f)
			pd.Set(f)
			e.hold(3 * time.Second)
			return 0
		}, e.healAll, 0},
		{"reset in the middle of a reply batch (destination)", func() time.Duration {
			n := pd.Resets.Load()
			pd.ResetAfter(faultproxy.Downstream, 3000)
			return e.waitFor("the reset of the destination", time.Minute, func() bool { return pd.Resets.Load() > n })
		}, func() {}, 0},
		{"reset in the middle of the stream (source)", func() time.Duration {
			n := ps.Resets.Load()
			ps.ResetAfter(faultproxy.Downstream, 3000)
			return e.waitFor("the reset of the source", time.Minute, func() bool { return ps.Resets.Load() > n })
		}, func() {}, 0},
		{"half-open source link", func() time.Duration {
			n := ps.Abandoned.Load()
			ps.Set(faultproxy.Faults{HalfOpen: true})
			return e.waitFor("xsync gives up the half-open source link", time.Minute, func() bool { return ps.Abandoned.Load() > n })
		}, e.healAll, sourceTimeout},
		{"half-open destination connection", func() time.Duration {
			n := pd.Abandoned.Load()
			pd.Set(faultproxy.Faults{HalfOpen: true})
			return e.waitFor("xsync gives up the half-open destination connection", time.Minute, func() bool { return pd.Abandoned.Load() > n })
		}, e.healAll, replyTimeout},
		{"slow close of the source link (10s)", func() time.Duration {
			ps.Set(faultproxy.Faults{SlowClose: 10 * time.Second})
			n := ps.Accepted.Load()
			if err := src.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
				t.Fatal(err)
			}
			return e.waitFor("xsync reconnects to the source", time.Minute, func() bool { return ps.Accepted.Load() > n })
		}, e.healAll, sourceTimeout},
		{"slow close of the destination connections (10s)", func() time.Duration {
			pd.Set(faultproxy.Faults{SlowClose: 10 * time.Second})
			n := pd.Accepted.Load()
			if err := dst.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
				t.Fatal(err)
			}
			return e.waitFor("xsync reconnects to the destination", time.Minute, func() bool { return pd.Accepted.Load() > n })
		}, e.healAll, replyTimeout},
	}
	only := os.Getenv("NETFAULT_CASE") // a substring of one case's name, to run it alone
	for i, c := range cases {
		if only != "" && !strings.Contains(c.name, only) {
			continue
		}
		h := e.startHistory(fmt.Sprintf("h%d:", i+1))
		e.hold(time.Second) // the history's keys exist on both sides first
		detect := c.inject()
		c.heal()
		rec := e.p.WaitRecovered(t, e.masters(), 2*time.Minute)
		if c.timeout > 0 && detect > 2*c.timeout {
			t.Errorf("%s: detected after %v, want within twice the configured timeout %v", c.name, detect, c.timeout)
		}
		if c.timeout > 0 && rec > 4*c.timeout {
			t.Errorf("%s: recovered %v after the heal, want within four times the configured timeout %v", c.name, rec, c.timeout)
		}
		results = append(results, result{c.name, detect, rec, e.check(c.name, h)})
		if t.Failed() {
			break
		}
	}

	wcancel()
	ws := <-wdone
	e.p.WaitRecovered(t, e.masters(), 2*time.Minute)
	res, err := verify.Run(ctx, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 3, RoundDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() {
		var b strings.Builder
		res.WriteReport(&b)
		t.Errorf("destination differs from source:\n%s", b.String())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d mixed writes; %d keys equal; per fault (detected after, recovered after the fault ended, history):\n", ws.Ops.Load(), res.SourceKeys)
	for _, r := range results {
		fmt.Fprintf(&b, "  %-52s detect %-8v recover %-8v %s\n", r.name, r.detect.Round(time.Millisecond), r.recovered.Round(time.Millisecond), r.rep.Summary())
	}
	t.Log(b.String())
}

// hold lets the load run for d under the fault of the moment.
func (e *env) hold(d time.Duration) {
	select {
	case err := <-e.p.Done:
		e.p.Done <- err
		e.t.Fatalf("xsync exited: %v", err)
	case <-time.After(d):
	}
}

func (e *env) healAll() {
	e.ps.Set(faultproxy.Faults{})
	e.pd.Set(faultproxy.Faults{})
}

func infoField(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}
