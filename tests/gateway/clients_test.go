package gateway

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/gateway"
)

// scenario is one kind of client through the gateway: what it saw.
type scenario struct {
	name   string
	mu     sync.Mutex
	ops    int
	errs   []error
	nulls  int // WATCH: EXEC answered null (a conflict or a cutover in between), retried
	lats   []time.Duration
	during []time.Duration // latencies of the operations that overlapped the cutover call
}

func (s *scenario) done(start time.Time, err error, cut *cutWindow) {
	d := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	s.ops++
	s.lats = append(s.lats, d)
	if cut.overlaps(start, start.Add(d)) {
		s.during = append(s.during, d)
	}
}

func (s *scenario) report(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%-22s %6d ops, %d errors, %d EXEC null retried, p99 %v (max %v); overlapping the cutover: %d ops, max %v",
		s.name, s.ops, len(s.errs), s.nulls, pct(s.lats, 0.99), pct(s.lats, 1), len(s.during), pct(s.during, 1))
	for i, err := range s.errs {
		if i == 3 {
			break
		}
		t.Logf("  %s error: %v", s.name, err)
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))].Round(10 * time.Microsecond)
}

// cutWindow is when the XSYNC CUTOVER call ran.
type cutWindow struct {
	mu       sync.Mutex
	from, to time.Time
}

func (c *cutWindow) overlaps(a, b time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.from.IsZero() && a.Before(c.to) && b.After(c.from)
}

// TestClientScenariosAcrossCutover: go-redis clients (RESP2 and RESP3) through
// the gateway before, during and after XSYNC CUTOVER, with a replicator in
// between: pipelines of INCR, WATCH/MULTI/EXEC increments, a subscriber, and a
// BLPOP consumer fed by RPUSH. Every acknowledged write is on the destination
// exactly once, every pushed item popped at most once and none lost; redis-cli
// works through the gateway after it. The figures are logged.
func TestClientScenariosAcrossCutover(t *testing.T) {
	src, dst, r := startReplication(t)
	ctx := context.Background()
	gw := startGateway(t, gateway.Config{
		Source: gateway.Backend{Seeds: src.Addrs()},
		Target: gateway.Backend{Seeds: dst.Addrs()},
		Logger: testLogger(t),
	})
	co, err := cutover.New(cutover.Config{Status: r.Status, Gate: gw, OnSwitch: r.Pause, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	adm := startAdmin(t, admin.Config{Cutover: co}, r)
	waitStreaming(t, r, 3)

	newClient := func(proto int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: gw.Addr(), Protocol: proto, DisableIdentity: true, PoolSize: 2, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	cut := &cutWindow{}
	// The clients stop between operations, never in the middle of one: every
	// operation ends with its reply, so what was acknowledged is known.
	var stop atomic.Bool
	wctx := ctx
	wcancel := func() { stop.Store(true) }
	var wg sync.WaitGroup
	var scenarios []*scenario
	run := func(s *scenario, f func()) {
		scenarios = append(scenarios, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				f()
			}
		}()
	}
	// Pipelines: 10 INCR per round trip.
	var piped [2]int64
	for i, proto := range []int{2, 3} {
		c := newClient(proto)
		s := &scenario{name: fmt.Sprintf("pipeline resp%d", proto)}
		key := fmt.Sprintf("pipe:%d", proto)
		run(s, func() {
			start := time.Now()
			_, err := c.Pipelined(wctx, func(p redis.Pipeliner) error {
				for range 10 {
					p.Incr(wctx, key)
				}
				return nil
			})
			if err == nil {
				s.mu.Lock()
				piped[i] += 10
				s.mu.Unlock()
			}
			s.done(start, err, cut)
		})
	}
	// WATCH transactions: optimistic increments, retried on a null EXEC.
	var watched [2]int64
	for i, proto := range []int{2, 3} {
		c := newClient(proto)
		s := &scenario{name: fmt.Sprintf("watch resp%d", proto)}
		key := fmt.Sprintf("{watch}%d", proto)
		run(s, func() {
			start := time.Now()
			err := c.Watch(wctx, func(tx *redis.Tx) error {
				n, err := tx.Get(wctx, key).Int()
				if err != nil && err != redis.Nil {
					return err
				}
				_, err = tx.TxPipelined(wctx, func(p redis.Pipeliner) error { p.Set(wctx, key, n+1, 0); return nil })
				return err
			}, key)
			if errors.Is(err, redis.TxFailedErr) {
				s.mu.Lock()
				s.nulls++
				s.mu.Unlock()
				return
			}
			if err == nil {
				s.mu.Lock()
				watched[i]++
				s.mu.Unlock()
			}
			s.done(start, err, cut)
		})
	}
	// Pub/sub: a RESP3 subscriber; a publisher through the gateway.
	subC := newClient(3)
	sub := subC.Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var received sync.Map
	go func() {
		for m := range sub.Channel() {
			received.Store(m.Payload, true)
		}
	}()
	pub := newClient(2)
	pubS := &scenario{name: "publish resp2"}
	var published []string
	seq := 0
	run(pubS, func() {
		seq++
		v := strconv.Itoa(seq)
		start := time.Now()
		err := pub.Publish(wctx, "news", v).Err()
		if err == nil {
			pubS.mu.Lock()
			published = append(published, v)
			pubS.mu.Unlock()
		}
		pubS.done(start, err, cut)
		time.Sleep(time.Millisecond) // a message per millisecond, not a flood
	})
	// Blocking pops: a BLPOP consumer, an RPUSH producer.
	cons, prod := newClient(3), newClient(2)
	popS, pushS := &scenario{name: "blpop resp3"}, &scenario{name: "rpush resp2"}
	var popped, pushed []string
	run(popS, func() {
		start := time.Now()
		v, err := cons.BLPop(wctx, 200*time.Millisecond, "queue").Result()
		if err == redis.Nil {
			return
		}
		if err == nil {
			popS.mu.Lock()
			popped = append(popped, v[1])
			popS.mu.Unlock()
		}
		popS.done(start, err, cut)
	})
	pseq := 0
	run(pushS, func() {
		pseq++
		v := strconv.Itoa(pseq)
		start := time.Now()
		err := prod.RPush(wctx, "queue", v).Err()
		if err == nil {
			pushS.mu.Lock()
			pushed = append(pushed, v)
			pushS.mu.Unlock()
		}
		pushS.done(start, err, cut)
		time.Sleep(500 * time.Microsecond)
	})

	// redis-benchmark: short runs one after the other (each connects anew).
	benchS := &scenario{name: "redis-benchmark (whole runs)"}
	var benchP99 []string
	if _, err := exec.LookPath("redis-benchmark"); err == nil {
		_, port, _ := strings.Cut(gw.Addr(), ":")
		run(benchS, func() {
			start := time.Now()
			out, err := exec.Command("redis-benchmark", "-h", "127.0.0.1", "-p", port, "--csv", "-t", "set,incr",
				"-n", "2000", "-c", "5", "-r", "1000").CombinedOutput()
			if err == nil && strings.Contains(string(out), "rror") {
				err = fmt.Errorf("redis-benchmark: %s", out)
			}
			if err == nil {
				for _, l := range strings.Split(string(out), "\n") {
					if f := strings.Split(l, ","); len(f) >= 7 && !strings.Contains(f[0], "test") {
						ov := ""
						if cut.overlaps(start, time.Now()) {
							ov = " (during the cutover)"
						}
						benchS.mu.Lock()
						benchP99 = append(benchP99, strings.Trim(f[0], `"`)+" p99 "+strings.Trim(f[6], `"`)+" ms"+ov)
						benchS.mu.Unlock()
					}
				}
			}
			benchS.done(start, err, cut)
		})
	}

	phase := workloadPhase() / 2
	time.Sleep(phase) // the clients run on the source
	admC := redis.NewClient(&redis.Options{Addr: adm.Addr(), Protocol: 2, DisableIdentity: true})
	defer admC.Close()
	cut.mu.Lock()
	cut.from, cut.to = time.Now(), time.Now().Add(time.Hour)
	cut.mu.Unlock()
	reply, err := admC.Do(ctx, "XSYNC", "CUTOVER", "30").Text()
	cut.mu.Lock()
	cut.to = time.Now()
	cut.mu.Unlock()
	if err != nil {
		wcancel()
		wg.Wait()
		t.Fatalf("XSYNC CUTOVER: %v", err)
	}
	t.Logf("XSYNC CUTOVER: %s", reply)
	time.Sleep(phase) // the clients run on the destination
	wcancel()
	wg.Wait()
	for _, s := range scenarios {
		s.report(t)
	}

	for _, l := range benchP99 {
		if strings.Contains(l, "during") {
			t.Logf("redis-benchmark %s", l)
		}
	}
	if len(benchP99) > 0 {
		t.Logf("redis-benchmark: %d runs of 2000 SET and 2000 INCR, 5 connections each; p99 of each run: %s", benchS.ops, strings.Join(benchP99, "; "))
	}
	for _, s := range scenarios {
		if len(s.errs) > 0 {
			t.Errorf("%s: %d errors, the first: %v", s.name, len(s.errs), s.errs[0])
		}
	}
	dc := dst.Client()
	for i, proto := range []int{2, 3} {
		if n, _ := dc.Get(ctx, fmt.Sprintf("pipe:%d", proto)).Int64(); n != piped[i] {
			t.Errorf("pipe:%d = %d on the destination, %d acknowledged", proto, n, piped[i])
		}
		if n, _ := dc.Get(ctx, fmt.Sprintf("{watch}%d", proto)).Int64(); n != watched[i] {
			t.Errorf("{watch}%d = %d on the destination, %d transactions acknowledged", proto, n, watched[i])
		}
	}
	left, err := dc.LRange(ctx, "queue", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(popped), left...)
	seen := map[string]int{}
	for _, v := range all {
		seen[v]++
	}
	for _, v := range pushed {
		if seen[v] != 1 {
			t.Errorf("pushed item %s popped or left %d times", v, seen[v])
			break
		}
	}
	t.Logf("queue: %d pushed, %d popped, %d left on the destination", len(pushed), len(popped), len(left))
	lost := 0
	for _, v := range published {
		if _, ok := received.Load(v); !ok {
			lost++
		}
	}
	t.Logf("pub/sub: %d published, %d not received (at most once: messages published while the subscriber re-subscribes on the destination are not delivered)", len(published), lost)
	lastOK := false
	if n := len(published); n > 0 {
		_, lastOK = received.Load(published[n-1])
	}
	waitFor(t, "a message published after the switch reaches the re-subscribed client", func() bool {
		if lastOK {
			return true
		}
		v := "probe-" + strconv.Itoa(seq)
		_ = pub.Publish(ctx, "news", v).Err()
		time.Sleep(20 * time.Millisecond)
		_, ok := received.Load(v)
		return ok
	})

	// redis-cli through the gateway, after the cutover.
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		_, port, _ := strings.Cut(gw.Addr(), ":")
		out, err := exec.Command(cli, "-p", port, "SET", "cli:key", "v").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Errorf("redis-cli SET through the gateway: %q, %v", out, err)
		}
		if v := dc.Get(ctx, "cli:key").Val(); v != "v" {
			t.Errorf("redis-cli's SET is not on the destination: %q", v)
		}
	}
}

// waitFor polls f until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
