// Package soak runs xsync sync (the binary) between two Redis Clusters under a
// steady mixed load for a long time, injecting faults at random intervals:
// kill -9 of xsync (restarted), failovers and node restarts on both sides,
// reshards of both sides (redis-cli --cluster reshard), and network faults between
// xsync and the nodes of both sides (a faultproxy in front of every node, reached
// through --source-addr-map and --target-addr-map). It logs a line per fault with
// how long the fault lasted (injected until healed: a failover or a reshard until
// the cluster is stable again, kill -9 until xsync is restarted) and the time xsync
// took to recover after it (lag back under one second, everything the source held
// at the end of the fault applied), and at the end the history checker's
// counts and the key-by-key comparison: lost 0, duplicated 0, diverged keys 0.
//
// SOAK_TIME sets the duration (default 3m; `make soak SOAK_TIME=2h`), SOAK_SEED the
// seed of the fault schedule and the loads (default 1). Destination data loss
// (FLUSHALL on a destination master behind xsync's back) is one of the faults;
// SOAK_DEST_LOSS=0 leaves it out.
package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/faultproxy"
	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

const (
	sourceTimeout = 3 * time.Second
	replyTimeout  = 3 * time.Second
	// quietAfterSourceReshard keeps kill -9 away from a source reshard for longer
	// than the watermark period: docs/checkpoints.md ("Source resharding") names
	// the replay that a crash right after a slot moved between source shards can
	// cause, as a known limit.
	quietAfterSourceReshard = 15 * time.Second
)

type soak struct {
	t        *testing.T
	ctx      context.Context
	rng      *rand.Rand
	bin      string
	src, dst *redistest.Cluster
	proxies  map[string]*faultproxy.Proxy // by node address
	args     []string                     // xsync sync flags
	logFile  string
	p        *xsynctest.Proc
	// healedAfter is dest_loss_events before a destination loss fault, until
	// its heal is waited for; -1 otherwise.
	healedAfter int64
	starts      int
}

func (s *soak) start() {
	s.starts++
	s.p = xsynctest.StartSync(s.t, s.bin, "redis://"+s.src.Seeds(), "redis://"+s.dst.Seeds(), s.logFile, s.args...)
}

func (s *soak) masters() []*redis.Client {
	var out []*redis.Client
	for _, m := range s.src.Masters() {
		out = append(out, m.Client())
	}
	return out
}

func (s *soak) pick(n int) int { return s.rng.IntN(n) }

func (s *soak) side(dst bool) (*redistest.Cluster, string) {
	if dst {
		return s.dst, "destination"
	}
	return s.src, "source"
}

func (s *soak) all(f faultproxy.Faults) {
	for _, p := range s.proxies {
		p.Set(f)
	}
}

func (s *soak) hold(d time.Duration) {
	s.t.Helper()
	select {
	case err := <-s.p.Done:
		s.p.Done <- err
		s.t.Fatalf("xsync exited: %v", err)
	case <-time.After(d):
	}
}

// waitFor polls ok until it holds, for at most a minute.
func (s *soak) waitFor(what string, ok func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within a minute", what)
		}
		s.hold(20 * time.Millisecond)
	}
}

// A fault runs to its end (healed) and returns what it did.
type fault struct {
	kind string
	run  func(s *soak) string
}

var faults = []fault{
	{"kill -9 xsync", func(s *soak) string {
		if err := s.p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			s.t.Fatal(err)
		}
		<-s.p.Done
		s.p.Done <- nil
		s.start()
		return "killed and restarted"
	}},
	{"failover source", failover(false)},
	{"failover destination", failover(true)},
	{"restart source node", restartNode(false)},
	{"restart destination node", restartNode(true)},
	{"reshard source", reshard(false)},
	{"reshard destination", reshard(true)},
	{"latency", func(s *soak) string {
		s.all(faultproxy.Faults{Latency: 200 * time.Millisecond, Jitter: 50 * time.Millisecond})
		s.hold(3 * time.Second)
		s.all(faultproxy.Faults{})
		return "200ms ±50ms on every link for 3s"
	}},
	{"bandwidth", func(s *soak) string {
		s.all(faultproxy.Faults{Rate: 64 << 10})
		s.hold(3 * time.Second)
		s.all(faultproxy.Faults{})
		return "64 KB/s on every link for 3s"
	}},
	{"connection reset", func(s *soak) string {
		n := 0
		for _, p := range s.proxies {
			before := p.Resets.Load()
			p.Reset()
			n += int(p.Resets.Load() - before)
		}
		return fmt.Sprintf("%d connections reset", n)
	}},
	{"half-open source", halfOpen(false)},
	{"half-open destination", halfOpen(true)},
	{"slow close source", slowClose(false)},
	{"slow close destination", slowClose(true)},
}

// destLoss empties a destination master behind xsync's back (SOAK_DEST_LOSS=0
// leaves it out).
// Its recovery is counted until the heal is done (INFO xsync: dest_loss_events
// grew and dest_loss_healing is 0), then the lag back under a second.
var destLoss = fault{"destination data loss", func(s *soak) string {
	ms := s.dst.Masters()
	m := ms[s.pick(len(ms))]
	before := s.lossEvents()
	if err := m.Client().FlushAll(s.ctx).Err(); err != nil {
		s.t.Fatal(err)
	}
	s.healedAfter = before
	return "FLUSHALL on " + m.Addr()
}}

// lossEvents reads dest_loss_events from INFO xsync.
func (s *soak) lossEvents() int64 {
	m := s.p.WaitInfo(s.t, time.Minute, "INFO xsync", func(map[string]string) bool { return true })
	n, _ := strconv.ParseInt(m["dest_loss_events"], 10, 64)
	return n
}

func failover(dst bool) func(s *soak) string {
	return func(s *soak) string {
		c, _ := s.side(dst)
		ms := c.Masters()
		m := ms[s.pick(len(ms))]
		rs := c.ReplicasOf(m)
		if len(rs) == 0 {
			return "skipped: " + m.Addr() + " has no replica"
		}
		if err := c.Failover(s.ctx, rs[0]); err != nil {
			s.t.Fatal(err)
		}
		return fmt.Sprintf("%s -> %s", m.Addr(), rs[0].Addr())
	}
}

func restartNode(dst bool) func(s *soak) string {
	return func(s *soak) string {
		c, _ := s.side(dst)
		rs := c.Replicas()
		r := rs[s.pick(len(rs))]
		if err := r.Kill(); err != nil {
			s.t.Fatal(err)
		}
		if err := r.Restart(); err != nil {
			s.t.Fatal(err)
		}
		if err := c.WaitStable(s.ctx); err != nil {
			s.t.Fatal(err)
		}
		return "kill -9 and restart of replica " + r.Addr()
	}
}

func reshard(dst bool) func(s *soak) string {
	return func(s *soak) string {
		c, _ := s.side(dst)
		view, err := c.View(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		// From the master with the most slots to another one.
		var from, to *redistest.Server
		most := -1
		var others []*redistest.Server
		for _, n := range view {
			if !n.Master() {
				continue
			}
			srv := c.Node(n.Addr)
			if n.NumSlots() > most {
				if from != nil {
					others = append(others, from)
				}
				from, most = srv, n.NumSlots()
			} else {
				others = append(others, srv)
			}
		}
		to = others[s.pick(len(others))]
		if err := c.Reshard(s.ctx, from, to, 100); err != nil {
			s.t.Fatal(err)
		}
		return fmt.Sprintf("100 slots %s -> %s", from.Addr(), to.Addr())
	}
}

func (s *soak) proxyOfMaster(dst bool) (*faultproxy.Proxy, *redistest.Server) {
	c, _ := s.side(dst)
	ms := c.Masters()
	m := ms[s.pick(len(ms))]
	return s.proxies[m.Addr()], m
}

func halfOpen(dst bool) func(s *soak) string {
	return func(s *soak) string {
		p, m := s.proxyOfMaster(dst)
		n := p.Abandoned.Load()
		began := time.Now()
		p.Set(faultproxy.Faults{HalfOpen: true})
		s.waitFor("xsync gives up the half-open link to "+m.Addr(), func() bool { return p.Abandoned.Load() > n })
		p.Set(faultproxy.Faults{})
		return fmt.Sprintf("link to %s given up after %v", m.Addr(), time.Since(began).Round(time.Millisecond))
	}
}

func slowClose(dst bool) func(s *soak) string {
	return func(s *soak) string {
		p, m := s.proxyOfMaster(dst)
		p.Set(faultproxy.Faults{SlowClose: 5 * time.Second})
		n := p.Accepted.Load()
		began := time.Now()
		kill := []any{"CLIENT", "KILL", "TYPE", "replica"}
		if dst {
			kill = []any{"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}
		}
		if err := m.Client().Do(s.ctx, kill...).Err(); err != nil {
			s.t.Fatal(err)
		}
		s.waitFor("xsync reconnects to "+m.Addr(), func() bool { return p.Accepted.Load() > n })
		p.Set(faultproxy.Faults{})
		return fmt.Sprintf("%s closed xsync's connections, FIN held 5s; reconnected after %v", m.Addr(), time.Since(began).Round(time.Millisecond))
	}
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	dur := 3 * time.Minute
	if v := os.Getenv("SOAK_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_TIME=%q: %v (use a duration such as 2h)", v, err)
		}
		dur = d
	}
	seed := uint64(1)
	if v := os.Getenv("SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", v, err)
		}
		seed = n
	}
	kinds := slices.Clone(faults)
	if os.Getenv("SOAK_DEST_LOSS") != "0" {
		kinds = append(kinds, destLoss)
	}

	s := &soak{t: t, ctx: context.Background(), rng: rand.New(rand.NewPCG(seed, 0x50a4)), bin: xsynctest.Build(t), healedAfter: -1}
	nodeConf := []string{"repl-backlog-size 64mb", "repl-ping-replica-period 1"}
	s.src = redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1, Options: redistest.Options{Config: nodeConf}})
	s.dst = redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	if err := loadgen.Fill(s.ctx, s.src.Client(), loadgen.FillOptions{Keys: 10000, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	// A proxy in front of every node of both sides (a replica may become a master).
	s.proxies = map[string]*faultproxy.Proxy{}
	maps := [2][]string{}
	for i, c := range []*redistest.Cluster{s.src, s.dst} {
		for j, n := range c.Nodes() {
			p, err := faultproxy.New(n.Addr(), seed+uint64(100*i+j))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			s.proxies[n.Addr()] = p
			maps[i] = append(maps[i], n.Addr()+"="+p.Addr())
		}
	}
	s.args = []string{"--source-timeout", sourceTimeout.String(), "--reply-timeout", replyTimeout.String(),
		"--source-addr-map", strings.Join(maps[0], ","), "--target-addr-map", strings.Join(maps[1], ",")}
	s.logFile = filepath.Join(t.TempDir(), "xsync.log")
	t.Cleanup(func() {
		if dir := os.Getenv("SOAK_LOG_DIR"); dir != "" {
			b, _ := os.ReadFile(s.logFile)
			os.WriteFile(filepath.Join(dir, "xsync.log"), b, 0o644)
		}
		if t.Failed() {
			b, _ := os.ReadFile(s.logFile)
			lines := strings.Split(string(b), "\n")
			t.Logf("xsync log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-80):], "\n"))
		}
	})

	// The steady mixed load: every replicated command, and the history workload.
	wctx, wcancel := context.WithCancel(s.ctx)
	defer wcancel()
	wdone := make(chan *loadgen.Stats, 1)
	go func() {
		st, _ := loadgen.Run(wctx, s.src.Client(), loadgen.WorkOptions{Clients: 2, Rate: 400, Seed: seed})
		wdone <- st
	}()
	hdone := make(chan *loadgen.History, 1)
	hc := redis.NewClusterClient(s.src.ClusterOptions())
	defer hc.Close()
	go func() {
		hdone <- loadgen.RunHistory(wctx, hc, loadgen.HistoryOptions{Clients: 3, Rate: 400, Seed: seed})
	}()

	s.start()
	began := time.Now()
	first := s.p.WaitRecovered(t, s.masters(), 5*time.Minute)
	t.Logf("initial full sync and catch-up: %v", first.Round(time.Millisecond))

	type rec struct {
		kind string
		took time.Duration
	}
	var recs []rec
	lastSourceReshard := time.Time{}
	deadline := time.Now().Add(dur)
	// The faults come in rounds, each round every kind once in a seeded random
	// order, so that a short soak sees each kind too.
	var round []fault
	for i := 1; time.Now().Before(deadline); i++ {
		if len(round) == 0 {
			round = slices.Clone(kinds)
			s.rng.Shuffle(len(round), func(a, b int) { round[a], round[b] = round[b], round[a] })
		}
		f := round[0]
		round = round[1:]
		s.hold(time.Duration(500+s.pick(2500)) * time.Millisecond)
		if f.kind == "kill -9 xsync" {
			if quiet := quietAfterSourceReshard - time.Since(lastSourceReshard); quiet > 0 {
				s.hold(quiet)
			}
		}
		at := time.Since(began)
		what := f.run(s)
		lasted := time.Since(began) - at
		if f.kind == "reshard source" {
			lastSourceReshard = time.Now()
		}
		healStart := time.Now()
		if s.healedAfter >= 0 {
			before := s.healedAfter
			s.healedAfter = -1
			s.p.WaitInfo(t, 5*time.Minute, "the heal of the destination loss", func(m map[string]string) bool {
				n, _ := strconv.ParseInt(m["dest_loss_events"], 10, 64)
				return n > before && m["dest_loss_healing"] == "0"
			})
		}
		took := time.Since(healStart) + s.p.WaitRecovered(t, s.masters(), 5*time.Minute)
		recs = append(recs, rec{f.kind, took})
		t.Logf("fault %3d at %6v  %-26s lasted %-9v recovered in %-9v (%s)", i, at.Round(time.Second), f.kind,
			lasted.Round(time.Millisecond), took.Round(time.Millisecond), what)
	}

	wcancel()
	ws, hist := <-wdone, <-hdone
	s.p.WaitRecovered(t, s.masters(), 5*time.Minute)
	rep, err := hist.Check(s.ctx, s.src.Client(), s.dst.Client())
	if err != nil {
		t.Fatal(err)
	}
	res, err := verify.Run(s.ctx, verify.Config{Source: s.src.Client(), Target: s.dst.Client(), Rounds: 3, RoundDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	diverged := res.Total()

	var b strings.Builder
	fmt.Fprintf(&b, "soak of %v (seed %d): %d mixed writes + %d with sequences, %d faults, %d xsync starts\n",
		time.Since(began).Round(time.Second), seed, ws.Ops.Load(), hist.Acked.Load(), len(recs), s.starts)
	byKind := map[string][]time.Duration{}
	for _, r := range recs {
		byKind[r.kind] = append(byKind[r.kind], r.took)
	}
	for _, f := range kinds {
		ds := byKind[f.kind]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		fmt.Fprintf(&b, "  %-26s %3d  recovery after the fault: median %-9v worst %v\n", f.kind, len(ds), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "history: %s\n", rep.Summary())
	fmt.Fprintf(&b, "lost %d, duplicated %d, diverged keys %d (of %d)\n", rep.LostWrites, rep.DuplicatedWrites, diverged, res.SourceKeys)
	t.Log(b.String())
	if !rep.OK() {
		var rb strings.Builder
		rep.WriteReport(&rb)
		t.Errorf("history:\n%s", rb.String())
	}
	if !res.Equal() {
		var vb strings.Builder
		res.WriteReport(&vb)
		t.Errorf("destination differs from source:\n%s", vb.String())
	}
}
