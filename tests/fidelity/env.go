package fidelity

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/translate"
)

// Setup names a source and destination topology.
type Setup string

// The setups.
const (
	StandaloneToCluster    Setup = "standalone-cluster"    // cross-slot commands split or emulated
	ClusterToCluster       Setup = "cluster-cluster"       // 3 source masters into 2
	StandaloneToStandalone Setup = "standalone-standalone" // several dbs, SELECT, MOVE, SWAPDB
)

// Setups lists every setup.
var Setups = []Setup{StandaloneToCluster, ClusterToCluster, StandaloneToStandalone}

// env is the servers of one setup and the replicator between them.
type env struct {
	t     testing.TB
	setup Setup
	opts  Options

	srcCluster *redistest.Cluster
	srcMasters []*redis.Client // one per source master
	replicas   []*redis.Client // the native replica of each, same order
	srcAddrs   []string
	conns      []*redis.Conn // the fuzzer's connection to each master (SELECT state)
	slotMaster func(key string) int

	dstMasters []*redis.Client // each destination master (standalone: one)
	dstCluster bool
	dstSlots   []int // destination master index per slot (CLUSTER SLOTS)
	dbc        map[string]*redis.Client
	dstSeeds   []string

	dbs    int
	digest bool // DEBUG DIGEST-VALUE on every side

	logs   *lineBuffer
	rr     *replicator.Replicator
	cancel context.CancelFunc
	done   chan error
}

// serverVersion runs `bin --version` and returns "7.0.15" (or "").
func serverVersion(bin string) string {
	if bin == "" {
		bin = "redis-server"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`v=([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func atLeast(v string, major, minor int) bool {
	p := strings.Split(v, ".")
	if len(p) < 2 {
		return false
	}
	a, _ := strconv.Atoi(p[0])
	b, _ := strconv.Atoi(p[1])
	return a > major || a == major && b >= minor
}

// serverConfig lets DEBUG DIGEST-VALUE run (7.0+ refuse DEBUG by default).
func serverConfig(version string) []string {
	if atLeast(version, 7, 0) {
		return []string{"enable-debug-command yes"}
	}
	return nil
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	e := &env{t: t, setup: opts.Setup, opts: opts, dbs: 1, logs: &lineBuffer{max: 200}}
	sv, dv := serverVersion(opts.SourceBinary), serverVersion(opts.TargetBinary)
	e.digest = sv != "" && sv == dv
	src := redistest.Options{Binary: opts.SourceBinary, Config: serverConfig(sv), LogLines: -1}
	dst := redistest.Options{Binary: opts.TargetBinary, Config: serverConfig(dv), LogLines: -1}
	switch opts.Setup {
	case StandaloneToCluster, StandaloneToStandalone:
		m := redistest.Start(t, src)
		r := redistest.Start(t, src)
		ctx := context.Background()
		//lint:ignore SA1019 REPLICAOF is 5.0+; SLAVEOF works on every version
		if err := r.Client().SlaveOf(ctx, "127.0.0.1", strconv.Itoa(m.Port())).Err(); err != nil {
			t.Fatalf("REPLICAOF: %v", err)
		}
		e.srcMasters, e.replicas, e.srcAddrs = []*redis.Client{m.Client()}, []*redis.Client{r.Client()}, []string{m.Addr()}
		e.slotMaster = func(string) int { return 0 }
	case ClusterToCluster:
		c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1, Options: src})
		e.srcCluster = c
		idx := map[string]int{}
		for i, m := range c.Masters() {
			idx[m.Addr()] = i
			e.srcMasters = append(e.srcMasters, m.Client())
			e.srcAddrs = append(e.srcAddrs, m.Addr())
			e.replicas = append(e.replicas, readOnly(t, c.ReplicasOf(m)[0].Client()))
		}
		e.slotMaster = func(key string) int { return idx[c.MasterFor(key).Addr()] }
	default:
		t.Fatalf("xsync/fidelity: unknown setup %q", opts.Setup)
	}
	switch opts.Setup {
	case StandaloneToCluster:
		d := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: dst})
		e.setDest(d)
	case ClusterToCluster:
		d := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 2, Options: dst})
		e.setDest(d)
	case StandaloneToStandalone:
		d := redistest.Start(t, dst)
		e.dstMasters, e.dstSeeds = []*redis.Client{d.Client()}, []string{d.Addr()}
		e.dbs = 4
	}
	for _, m := range e.srcMasters {
		e.conns = append(e.conns, m.Conn())
	}
	t.Cleanup(func() {
		for _, c := range e.conns {
			c.Close()
		}
	})
	e.waitReplicas()
	e.start()
	return e
}

// readOnly returns a client of a cluster replica that may read (READONLY on
// every connection; a replica answers MOVED otherwise).
func readOnly(t testing.TB, c *redis.Client) *redis.Client {
	o := *c.Options()
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() }
	r := redis.NewClient(&o)
	t.Cleanup(func() { r.Close() })
	return r
}

func (e *env) setDest(d *redistest.Cluster) {
	e.dstCluster = true
	for _, m := range d.Masters() {
		e.dstMasters = append(e.dstMasters, m.Client())
	}
	e.dstSeeds = d.Addrs()
}

// start runs a replicator from the source to the destination.
func (e *env) start() {
	cfg := replicator.Config{
		SourceSeeds: e.srcAddrs[:1],
		TargetSeeds: e.dstSeeds,
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if e.setup == StandaloneToStandalone {
		cfg.Translate.SwapDB = translate.Apply
	}
	r, err := replicator.New(cfg)
	if err != nil {
		e.t.Fatalf("replicator.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.rr, e.cancel, e.done = r, cancel, make(chan error, 1)
	go func() { e.done <- r.Run(ctx) }()
	e.t.Cleanup(e.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := r.Status()
		ok := len(st.Shards) == len(e.srcMasters)
		for _, sh := range st.Shards {
			ok = ok && sh.State == replicator.StateStream
		}
		if ok {
			return
		}
		if err := e.failed(); err != nil {
			e.t.Fatalf("replicator stopped before streaming: %v\n%s", err, e.logs)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("replicator not streaming after 60s: %+v\n%s", st.Shards, e.logs)
		}
		time.Sleep(50 * time.Millisecond) // polling the replicator's status, bounded by the deadline
	}
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
	e.done <- nil
	e.cancel = nil
}

// failed returns the replicator's error once Run has returned.
func (e *env) failed() error {
	select {
	case err := <-e.done:
		e.done <- err
		if err == nil {
			err = fmt.Errorf("xsync/fidelity: the replicator returned")
		}
		return err
	default:
		return nil
	}
}

// offset reads master_repl_offset (on a master) or slave_repl_offset.
func offset(ctx context.Context, c *redis.Client, field string) (int64, error) {
	s, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && k == field {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("xsync/fidelity: no %s in INFO replication", field)
}

func (e *env) waitReplicas() {
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for i, m := range e.srcMasters {
		for {
			want, err := offset(ctx, m, "master_repl_offset")
			if err != nil {
				e.t.Fatal(err)
			}
			got, err := offset(ctx, e.replicas[i], "slave_repl_offset")
			if err == nil && got >= want && want > 0 {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("replica of %s at %d, master at %d after 60s", e.srcAddrs[i], got, want)
			}
			time.Sleep(20 * time.Millisecond) // polling INFO, bounded by the deadline
		}
	}
}

// sync waits until every replica and xsync have everything the masters
// wrote. It returns the replicator's error if it stopped.
func (e *env) sync() error {
	ctx := context.Background()
	want := map[string]int64{}
	for i, m := range e.srcMasters {
		o, err := offset(ctx, m, "master_repl_offset")
		if err != nil {
			return err
		}
		want[e.srcAddrs[i]] = o
	}
	e.waitReplicas()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := e.failed(); err != nil {
			return err
		}
		st := e.rr.Status()
		ok := len(st.Shards) == len(e.srcMasters)
		for _, sh := range st.Shards {
			ok = ok && sh.State == replicator.StateStream && sh.AppliedOffset >= want[sh.Addr]
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("xsync/fidelity: xsync did not catch up in 60s: %+v", st.Shards)
		}
		time.Sleep(20 * time.Millisecond) // polling the replicator's status, bounded by the deadline
	}
}

// reset empties every server and restarts the replicator (for a replay).
func (e *env) reset() {
	e.stop()
	e.logs.reset()
	ctx := context.Background()
	for _, c := range append(append([]*redis.Client{}, e.srcMasters...), e.dstMasters...) {
		c.FlushAll(ctx)
		c.Do(ctx, "FUNCTION", "FLUSH")
		c.Do(ctx, "SCRIPT", "FLUSH")
	}
	for _, c := range e.conns {
		c.Do(ctx, "SELECT", "0")
	}
	e.waitReplicas()
	e.start()
}

// lineBuffer keeps the last lines written (the replicator's log).
type lineBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	if len(b.lines) > b.max {
		b.lines = b.lines[len(b.lines)-b.max:]
	}
	return len(p), nil
}

func (b *lineBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = nil
}

// tail returns the last n lines.
func (b *lineBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines[max(len(b.lines)-n, 0):], "\n")
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}
