package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// runResult is Run's outcome, readable many times.
type runResult struct {
	done chan struct{}
	err  error
}

func (r *runResult) wait(d time.Duration) (error, bool) {
	select {
	case <-r.done:
		return r.err, true
	case <-time.After(d):
		return nil, false
	}
}

// startApplier runs an Applier against addrs until the test ends.
func startApplier(t testing.TB, addrs []string, mod func(*Config)) (*Applier, *runResult, context.CancelFunc) {
	t.Helper()
	cfg := Config{
		Addrs:      addrs,
		BackoffMin: time.Millisecond,
		BackoffMax: 20 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := &runResult{done: make(chan struct{})}
	go func() { res.err = a.Run(ctx); close(res.done) }()
	t.Cleanup(func() {
		cancel()
		if _, ok := res.wait(20 * time.Second); !ok {
			t.Error("Run did not return")
		}
		a.Close()
	})
	return a, res, cancel
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func cmdOp(src int, off int64, args ...string) Op {
	return Op{Source: src, Offset: off, Slot: slotOf(args[1]), Cmd: resp.AppendCommandString(nil, args...), N: 1, Key: []byte(args[1])}
}

func slotOf(key string) int { return slots.SlotString(key) }

func submit(t testing.TB, a *Applier, op Op) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Submit(ctx, op); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}

func flush(t testing.TB, a *Applier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (stats %+v)", err, a.Stats())
	}
}

// workload submits n ops round-robin over keys: INCR c:<k> and RPUSH l:<k> <i>,
// returning the expected counters and lists.
type workload struct {
	counts map[string]int
	lists  map[string][]string
	off    map[int]int64
}

func newWorkload() *workload {
	return &workload{counts: map[string]int{}, lists: map[string][]string{}, off: map[int]int64{}}
}

func (w *workload) incr(t testing.TB, a *Applier, src int, key string) {
	w.off[src]++
	w.counts[key]++
	submit(t, a, cmdOp(src, w.off[src], "INCR", key))
}

func (w *workload) rpush(t testing.TB, a *Applier, src int, key string) {
	w.off[src]++
	v := strconv.Itoa(len(w.lists[key]))
	w.lists[key] = append(w.lists[key], v)
	submit(t, a, cmdOp(src, w.off[src], "RPUSH", key, v))
}

func (w *workload) checkFake(t testing.TB, c *fakeCluster, a *Applier) {
	t.Helper()
	for k, n := range w.counts {
		if got := str(c.get(k)); got != strconv.Itoa(n) {
			t.Errorf("%s = %s, want %d", k, got, n)
		}
	}
	for k, l := range w.lists {
		if got := str(c.get(k)); got != strings.Join(l, ",") {
			t.Errorf("%s = %s, want %s", k, got, strings.Join(l, ","))
		}
	}
	for src, off := range w.off {
		if got := a.Applied(src); got != off {
			t.Errorf("Applied(%d) = %d, want %d", src, got, off)
		}
	}
}

func TestApplyBasic(t *testing.T) {
	c := newFakeCluster(t, 3)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	w := newWorkload()
	for i := 0; i < 3000; i++ {
		w.incr(t, a, i%2, fmt.Sprintf("c:%d", i%37))
		w.rpush(t, a, i%2, fmt.Sprintf("l:%d", i%23))
	}
	flush(t, a)
	w.checkFake(t, c, a)
	st := a.Stats()
	if st.Applied != 6000 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
	if a.Version().Major != 6 || a.Standalone() {
		t.Errorf("version %v standalone %v", a.Version(), a.Standalone())
	}
}

func TestApplyStandalone(t *testing.T) {
	c := newFakeCluster(t, 1)
	c.cluster = false
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	w := newWorkload()
	for i := 0; i < 500; i++ {
		w.incr(t, a, 0, fmt.Sprintf("c:%d", i%7))
	}
	flush(t, a)
	w.checkFake(t, c, a)
	if !a.Standalone() {
		t.Error("not detected as standalone")
	}
}

func TestApplyRedirects(t *testing.T) {
	tests := []struct {
		name  string
		apply func(c *fakeCluster, i int)
		retry RetryKind
	}{
		{"moved", func(c *fakeCluster, i int) {
			if i%400 == 200 {
				for k := 0; k < 10; k++ {
					s := slotOf(fmt.Sprintf("l:%d", (i/400+k)%23))
					c.moveSlot(s, (c.owner[s]+1)%3)
				}
			}
		}, RetryMoved},
		{"ask", func(c *fakeCluster, i int) {
			if i%300 == 150 {
				key := fmt.Sprintf("l:%d", (i/300)%23)
				s := slotOf(key)
				c.migrateKey(key, (c.owner[s]+1)%3)
			}
			if i%300 == 299 { // finish the migration
				for s, to := range c.migr {
					c.moveSlot(s, to)
				}
			}
		}, RetryAsk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, 3)
			a, _, _ := startApplier(t, []string{c.nodes[1].addr}, nil)
			w := newWorkload()
			for i := 0; i < 3000; i++ {
				w.rpush(t, a, 0, fmt.Sprintf("l:%d", i%23))
				w.incr(t, a, 1, fmt.Sprintf("c:%d", i%23))
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // let some replies in, so later ops run into the change
				}
				tc.apply(c, i)
			}
			flush(t, a)
			w.checkFake(t, c, a)
			st := a.Stats()
			if st.Retries[tc.retry] == 0 {
				t.Errorf("no %v retry: %+v", tc.retry, st)
			}
			if st.Reordered != 0 || st.Resent != 0 {
				t.Errorf("reordered %d resent %d", st.Reordered, st.Resent)
			}
		})
	}
}

func TestApplyTransientErrors(t *testing.T) {
	for _, reply := range []string{"TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down",
		"LOADING Redis is loading the dataset in memory", "MASTERDOWN Link with MASTER is down", "BUSY Redis is busy running a script"} {
		t.Run(strings.Fields(reply)[0], func(t *testing.T) {
			c := newFakeCluster(t, 2)
			// Every command of the list fails 5 times, then works.
			c.addFault(&fault{node: -1, cmd: "RPUSH", key: "l:3", skip: 20, times: 5, reply: reply})
			a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
			w := newWorkload()
			for i := 0; i < 400; i++ {
				w.rpush(t, a, 0, fmt.Sprintf("l:%d", i%5))
			}
			flush(t, a)
			st := a.Stats()
			if st.Reordered == 0 {
				w.checkFake(t, c, a)
			} else {
				t.Logf("reordered %d (a later pipelined op of the slot ran before the retry)", st.Reordered)
			}
			if sum(st.Retries[:]) < 5 {
				t.Errorf("retries %v", st.Retries)
			}
		})
	}
}

func sum(xs []uint64) (n uint64) {
	for _, x := range xs {
		n += x
	}
	return n
}

func TestApplyLostConnection(t *testing.T) {
	tests := []struct {
		name      string
		reply     string
		recheck   bool
		wantExtra int
		rechecked uint64
	}{
		{"dropped before running", "drop", false, 0, 0},
		{"dropped after running: at-least-once", "drop-after", false, 1, 0},
		{"dropped after running: recheck", "drop-after", true, 0, 1},
		// The recheck itself fails (the network is still bad): the op may have
		// run, so it is asked about again, never re-sent blind.
		{"dropped after running: recheck fails, then answers", "drop-after", true, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(t, 2)
			c.addFault(&fault{node: -1, cmd: "INCR", key: "c:1", skip: 50, times: 1, reply: tc.reply})
			a, _, _ := startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) {
				failures := 0
				if strings.Contains(tc.name, "recheck fails") {
					failures = 2
				}
				if tc.recheck {
					var mu sync.Mutex
					cfg.Recheck = func(ctx context.Context, d Dest, op Op) (bool, error) {
						mu.Lock()
						defer mu.Unlock()
						if op.Offset == 152 && failures > 0 {
							failures--
							return false, errors.New("i/o timeout")
						}
						return op.Offset == 152, nil // the 51st INCR c:1 (i=151) ran: the fault says so
					}
				}
			})
			w := newWorkload()
			for i := 0; i < 300; i++ {
				w.incr(t, a, 0, fmt.Sprintf("c:%d", i%3))
			}
			flush(t, a)
			w.counts["c:1"] += tc.wantExtra
			w.checkFake(t, c, a)
			st := a.Stats()
			// Every op written and unanswered when the connection dropped is
			// resent (or rechecked); only the one the node ran is a duplicate.
			if st.Resent+st.Rechecked == 0 || st.Rechecked != tc.rechecked || st.Retries[RetryConnLost] == 0 {
				t.Errorf("resent %d rechecked %d connlost %d", st.Resent, st.Rechecked, st.Retries[RetryConnLost])
			}
		})
	}
}

// TestApplyLostInOrder checks that a lost op without a checkpoint of its own
// (Recheck cannot tell) is not sent again when a later op of its lane, written
// on the same connection, was found applied: re-sending SET k 1 after INCR k ran
// would undo the INCR.
func TestApplyLostInOrder(t *testing.T) {
	c := newFakeCluster(t, 1)
	c.addFault(&fault{node: -1, cmd: "INCR", key: "k", times: 1, reply: "drop-after-silent"})
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) {
		cfg.Recheck = func(ctx context.Context, d Dest, op Op) (bool, error) {
			return op.Offset == 2, nil // the INCR carries a checkpoint that says it ran
		}
	})
	ops := []Op{cmdOp(0, 1, "SET", "k", "1"), cmdOp(0, 2, "INCR", "k")}
	ops[0].Offset = 0 // the SET carries no checkpoint: Recheck cannot know it
	buf := a.BatchBuffer()
	for i := range ops {
		start := len(buf)
		buf = append(buf, ops[i].Cmd...)
		ops[i].Cmd = buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = append(buf, ops[i].Key...)
		ops[i].Key = buf[start:len(buf):len(buf)]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.SubmitBatch(ctx, ops, buf); err != nil {
		t.Fatal(err)
	}
	flush(t, a)
	if got := str(c.get("k")); got != "2" {
		t.Errorf("k = %q, want 2 (SET k 1 then INCR k, each run once)", got)
	}
	if st := a.Stats(); st.Rechecked != 2 {
		t.Errorf("rechecked %d, want 2 (the INCR by its checkpoint, the SET before it by order)", st.Rechecked)
	}
}

func TestApplyPolicy(t *testing.T) {
	t.Run("skip wrongtype", func(t *testing.T) {
		c := newFakeCluster(t, 1)
		a, _, _ := startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) { cfg.OnError = PolicySkip })
		submit(t, a, cmdOp(0, 1, "RPUSH", "k", "x"))
		submit(t, a, cmdOp(0, 2, "INCR", "k"))
		submit(t, a, cmdOp(0, 3, "INCR", "n"))
		flush(t, a)
		st := a.Stats()
		if st.Errors[KindWrongType] != 1 || a.Applied(0) != 3 || str(c.get("n")) != "1" {
			t.Errorf("errors %v applied %d", st.Errors, a.Applied(0))
		}
	})
	t.Run("stop oom", func(t *testing.T) {
		c := newFakeCluster(t, 1)
		c.addFault(&fault{node: -1, cmd: "SET", key: "big", reply: "OOM command not allowed when used memory > 'maxmemory'."})
		a, done, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
		submit(t, a, cmdOp(0, 1, "SET", "a", "1"))
		submit(t, a, cmdOp(0, 2, "SET", "big", "1"))
		err, ok := done.wait(10 * time.Second)
		if !ok {
			t.Fatal("Run did not stop")
		}
		if err == nil || !strings.Contains(err.Error(), "is full") || !strings.Contains(err.Error(), "maxmemory") {
			t.Fatalf("Run: %v", err)
		}
		t.Log(err)
		if a.Applied(0) != 1 || a.Stats().Errors[KindOOM] != 1 {
			t.Errorf("applied %d stats %+v", a.Applied(0), a.Stats())
		}
		if err := a.Submit(context.Background(), cmdOp(0, 3, "SET", "b", "1")); err == nil {
			t.Error("Submit after a fatal error succeeded")
		}
	})
}

func TestApplyNoScript(t *testing.T) {
	c := newFakeCluster(t, 2)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	// Connect the pipe first: scripts known at connect time are preloaded, and
	// this test is about the NOSCRIPT answer.
	submit(t, a, cmdOp(0, 0, "SET", "s:1", "0"))
	flush(t, a)
	body := "return redis.call('INCR', KEYS[1])"
	sha := a.LoadScript([]byte(body))
	for i := 0; i < 10; i++ {
		op := cmdOp(0, int64(i+1), "EVALSHA", sha, "1", "s:1")
		op.Slot, op.Key = slotOf("s:1"), []byte("s:1")
		submit(t, a, op)
	}
	flush(t, a)
	if got := str(c.get("s:1")); got != "10" {
		t.Errorf("s:1 = %s", got)
	}
	if a.Stats().Retries[RetryNoScript] == 0 {
		t.Error("no NOSCRIPT retry")
	}
	// Unknown body: error through the policy.
	op := cmdOp(0, 11, "EVALSHA", strings.Repeat("ab", 20), "1", "s:1")
	op.Slot = slotOf("s:1")
	submit(t, a, op)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Flush(ctx); err == nil || !strings.Contains(err.Error(), "NOSCRIPT") {
		t.Errorf("Flush: %v", err)
	}
}

func TestApplyTransaction(t *testing.T) {
	c := newFakeCluster(t, 2)
	// The INCR queued inside MULTI is answered TRYAGAIN once: EXECABORT, nothing ran.
	c.addFault(&fault{node: -1, cmd: "INCR", key: "{t}a", times: 1, reply: "TRYAGAIN later"})
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	var cmd []byte
	cmd = resp.AppendCommandString(cmd, "MULTI")
	cmd = resp.AppendCommandString(cmd, "INCR", "{t}a")
	cmd = resp.AppendCommandString(cmd, "INCR", "{t}b")
	cmd = resp.AppendCommandString(cmd, "EXEC")
	submit(t, a, Op{Source: 0, Offset: 7, Slot: slotOf("{t}a"), Cmd: cmd, N: 4, Key: []byte("{t}a")})
	flush(t, a)
	if str(c.get("{t}a")) != "1" || str(c.get("{t}b")) != "1" || a.Applied(0) != 7 {
		t.Errorf("a=%s b=%s applied=%d", str(c.get("{t}a")), str(c.get("{t}b")), a.Applied(0))
	}
}

func TestApplyBarrier(t *testing.T) {
	c := newFakeCluster(t, 3)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	w := newWorkload()
	for i := 0; i < 500; i++ {
		w.incr(t, a, 0, fmt.Sprintf("c:%d", i%11))
	}
	var seen string
	err := a.Submit(context.Background(), Op{Source: 0, Offset: 1000, Barrier: func(ctx context.Context, d Dest) error {
		v, err := d.Do(ctx, slotOf("c:3"), []byte("GET"), []byte("c:3"))
		seen = string(v.Str)
		if err != nil {
			return err
		}
		_, err = d.Do(ctx, slotOf("copy"), []byte("SET"), []byte("copy"), v.Str)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(w.counts["c:3"]); seen != want || str(c.get("copy")) != want {
		t.Errorf("barrier saw %q, copy %q, want %s", seen, str(c.get("copy")), want)
	}
	if a.Applied(0) != 1000 {
		t.Errorf("Applied = %d", a.Applied(0))
	}
	// AllMasters: runs on every master.
	cmd := resp.AppendCommandString(nil, "SCRIPT", "LOAD", "return 1")
	if err := a.Submit(context.Background(), Op{Source: 0, Offset: 1001, Slot: AllMasters, Cmd: cmd, N: 1}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	got := c.executed["SCRIPT"]
	c.mu.Unlock()
	if got != 3 {
		t.Errorf("SCRIPT LOAD ran %d times, want 3", got)
	}
}

func TestApplySmallWindow(t *testing.T) {
	c := newFakeCluster(t, 2)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) {
		cfg.BatchCommands, cfg.InflightCommands, cfg.InflightBytes = 2, 3, 64
		cfg.MaxPendingOps, cfg.MaxPendingBytes = 5, 200
		cfg.ConnsPerNode = 3
	})
	w := newWorkload()
	for i := 0; i < 2000; i++ {
		w.rpush(t, a, i%3, fmt.Sprintf("l:%d", i%13))
	}
	flush(t, a)
	w.checkFake(t, c, a)
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{Addrs: []string{"x"}, InflightCommands: 1, BatchCommands: 2},
		{Addrs: []string{"x"}, BackoffMin: time.Second, BackoffMax: time.Millisecond},
		{Addrs: []string{"x"}, OnError: 9},
		{Addrs: []string{"x"}, ConnsPerNode: -1},
	}
	for i, c := range bad {
		if err := c.validate(); err == nil || !strings.HasPrefix(err.Error(), "xsync/apply: ") {
			t.Errorf("%d: validate = %v", i, err)
		}
	}
	good := Config{Addrs: []string{"x"}}
	if err := good.validate(); err != nil || good.ConnsPerNode != 1 || good.BatchCommands != 512 {
		t.Errorf("defaults: %v %+v", err, good)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		msg   string
		retry bool
		rk    RetryKind
		ek    ErrorKind
		addr  string
	}{
		{"MOVED 3999 127.0.0.1:6381", true, RetryMoved, 0, "127.0.0.1:6381"},
		{"ASK 3999 127.0.0.1:6382", true, RetryAsk, 0, "127.0.0.1:6382"},
		{"TRYAGAIN Multiple keys", true, RetryTryAgain, 0, ""},
		{"CLUSTERDOWN Hash slot not served", true, RetryClusterDown, 0, ""},
		{"LOADING Redis is loading", true, RetryLoading, 0, ""},
		{"OOM command not allowed", false, 0, KindOOM, ""},
		{"WRONGTYPE Operation", false, 0, KindWrongType, ""},
		{"BUSYKEY Target key name already exists.", false, 0, KindBusyKey, ""},
		{"ERR syntax error", false, 0, KindOther, ""},
		{"EXECABORT Transaction discarded", false, 0, KindExecAbort, ""},
	}
	for _, tc := range tests {
		c := classify([]byte(tc.msg))
		if c.retry != tc.retry || (c.retry && c.rk != tc.rk) || (!c.retry && c.ek != tc.ek) || c.addr != tc.addr {
			t.Errorf("%q: %+v", tc.msg, c)
		}
	}
}

func TestRunLifecycle(t *testing.T) {
	t.Run("unreachable seed", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		a, res, _ := startApplier(t, []string{addr}, nil)
		err, ok := res.wait(10 * time.Second)
		if !ok || err == nil || !strings.Contains(err.Error(), "xsync/apply: no destination seed usable") {
			t.Fatalf("Run: %v", err)
		}
		if err := a.Ready(context.Background()); err == nil {
			t.Error("Ready succeeded after a failed Run")
		}
		if err := a.Submit(context.Background(), cmdOp(0, 1, "SET", "a", "1")); err == nil {
			t.Error("Submit succeeded")
		}
		if err := a.Flush(context.Background()); err == nil {
			t.Error("Flush succeeded after a failed Run")
		}
	})
	t.Run("graceful stop drains", func(t *testing.T) {
		c := newFakeCluster(t, 2)
		a, res, cancel := startApplier(t, []string{c.nodes[0].addr}, nil)
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		if err := a.Ready(rctx); err != nil || a.Table() == nil || !a.Table().Covered() {
			t.Fatalf("Ready: %v", err)
		}
		w := newWorkload()
		for i := 0; i < 2000; i++ {
			w.incr(t, a, 0, fmt.Sprintf("c:%d", i%9))
		}
		cancel()
		err, ok := res.wait(10 * time.Second)
		if !ok || err != nil {
			t.Fatalf("Run: %v %v", err, ok)
		}
		w.checkFake(t, c, a) // everything submitted before the stop was applied
		if err := a.Submit(context.Background(), cmdOp(0, 1, "SET", "a", "1")); !errors.Is(err, ErrClosed) {
			t.Errorf("Submit after stop: %v", err)
		}
		a.Close()
		a.Close()
	})
}
