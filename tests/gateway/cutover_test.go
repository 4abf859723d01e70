package gateway

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/gateway"
)

const (
	numClients  = 50
	numCounters = 10 // INCR targets shared by the clients
)

// writer is one client of the gateway: INCR on shared counters, LPUSH of unique
// values on its own list, SET of its own key; every acknowledged write recorded.
type writer struct {
	id      int
	c       *redis.Client
	incrs   [numCounters]int64 // acknowledged INCRs per counter
	pushed  []string           // acknowledged LPUSH values, in order
	lastSet string             // last acknowledged SET value
	errs    []error
	// lats are the latencies of every command, with their start times.
	lats []opLat
}

type opLat struct {
	start time.Time
	d     time.Duration
}

func (w *writer) run(ctx context.Context) {
	for seq := 0; ctx.Err() == nil; seq++ {
		var err error
		start := time.Now()
		switch seq % 3 {
		case 0:
			k := (w.id + seq) % numCounters
			if err = w.c.Incr(ctx, fmt.Sprintf("ctr:%d", k)).Err(); err == nil {
				w.incrs[k]++
			}
		case 1:
			v := fmt.Sprintf("w%d-%d", w.id, seq)
			if err = w.c.LPush(ctx, fmt.Sprintf("list:%d", w.id), v).Err(); err == nil {
				w.pushed = append(w.pushed, v)
			}
		case 2:
			v := strconv.Itoa(seq)
			if err = w.c.Set(ctx, fmt.Sprintf("str:%d", w.id), v, 0).Err(); err == nil {
				w.lastSet = v
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return // cancelled mid-command: not acknowledged, and not counted
			}
			w.errs = append(w.errs, err)
			continue
		}
		w.lats = append(w.lats, opLat{start, time.Since(start)})
	}
}

// TestCutoverUnderLoad: a 3-master source behind the gateway, a replicator into
// a 3-master destination, 50 clients writing through the gateway, XSYNC CUTOVER
// on the admin port in the middle. Every acknowledged write must be on the
// destination exactly once, and the source must get no write after the switch.
func TestCutoverUnderLoad(t *testing.T) {
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

	wctx, wcancel := context.WithCancel(ctx)
	ws := make([]*writer, numClients)
	var wg sync.WaitGroup
	for i := range ws {
		proto := 2 + i%2 // RESP2 and RESP3 clients
		ws[i] = &writer{id: i, c: redis.NewClient(&redis.Options{Addr: gw.Addr(), Protocol: proto, DisableIdentity: true, PoolSize: 1, MaxRetries: -1})}
		defer ws[i].c.Close()
		wg.Add(1)
		go func() { defer wg.Done(); ws[i].run(wctx) }()
	}
	phase := workloadPhase()
	time.Sleep(phase) // the workload runs; the replicator follows

	admin := redis.NewClient(&redis.Options{Addr: adm.Addr(), Protocol: 2, DisableIdentity: true})
	defer admin.Close()
	before, _ := masterOffsets(ctx, src)
	cutStart := time.Now()
	reply, err := admin.Do(ctx, "XSYNC", "CUTOVER", "30").Text()
	cutEnd := time.Now()
	if err != nil {
		wcancel()
		wg.Wait()
		t.Fatalf("XSYNC CUTOVER: %v", err)
	}
	t.Logf("XSYNC CUTOVER: %s (took %v)", reply, cutEnd.Sub(cutStart).Round(time.Millisecond))
	if gw.Backend() != "destination" {
		t.Fatalf("after the cutover the gateway forwards to the %s", gw.Backend())
	}
	atSwitch, err := masterOffsets(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	srcAtSwitch := sourceData(t, src)
	time.Sleep(phase) // the workload goes on, on the destination
	wcancel()
	wg.Wait()
	info, _ := admin.Info(ctx, "xsync").Result()
	for _, l := range strings.Split(info, "\r\n") {
		if strings.HasPrefix(l, "cutover_") {
			t.Log(l)
		}
	}

	// Nothing reached the source after the switch: its data did not change and its
	// offsets moved by no more than the master's replication PINGs.
	if got := sourceData(t, src); got != srcAtSwitch {
		t.Errorf("the source changed after the switch:\n at switch: %s\n at end:    %s", srcAtSwitch, got)
	}
	end, err := masterOffsets(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for a, off := range end {
		t.Logf("source %s: master_repl_offset %d before the cutover, %d at the switch, %d at the end", a, before[a], atSwitch[a], off)
		if off-atSwitch[a] > 200 {
			t.Errorf("source %s: master_repl_offset moved by %d bytes after the switch", a, off-atSwitch[a])
		}
	}

	// Every acknowledged write is on the destination exactly once.
	total, errs := checkDestination(t, dst.Client(), ws)
	t.Logf("%d acknowledged writes by %d clients (%d errors), %.0f writes/s", total, numClients, errs, float64(total)/(2*phase+cutEnd.Sub(cutStart)).Seconds())
	in := co.Info()
	t.Logf("hold: %v from the XSYNC CUTOVER call (connections to the destination opened before it), lasted %v",
		in.HeldAt.Sub(cutStart).Round(time.Millisecond), in.ReleasedAt.Sub(in.HeldAt).Round(time.Millisecond))
	reportPause(t, ws, in.HeldAt, in.ReleasedAt, "the hold")
	reportPause(t, ws, cutStart, cutEnd, "the XSYNC CUTOVER call")
}

// checkDestination checks that every acknowledged write of ws is on the
// destination exactly once; it returns the numbers of writes and errors.
func checkDestination(t *testing.T, dc *redis.ClusterClient, ws []*writer) (total, errs int) {
	t.Helper()
	ctx := context.Background()
	var wantCtr [numCounters]int64
	for _, w := range ws {
		total += len(w.lats)
		errs += len(w.errs)
		for _, e := range w.errs[:min(len(w.errs), 3)] {
			t.Errorf("client %d: %v", w.id, e)
		}
		for k, n := range w.incrs {
			wantCtr[k] += n
		}
		got, err := dc.LRange(ctx, fmt.Sprintf("list:%d", w.id), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !sameReversed(got, w.pushed) {
			t.Errorf("list:%d on the destination: %d values, want the %d acknowledged LPUSHes exactly once, in order", w.id, len(got), len(w.pushed))
		}
		if w.lastSet != "" {
			if v, _ := dc.Get(ctx, fmt.Sprintf("str:%d", w.id)).Result(); v != w.lastSet {
				t.Errorf("str:%d = %q on the destination, last acknowledged SET %q", w.id, v, w.lastSet)
			}
		}
	}
	for k, want := range wantCtr {
		got, err := dc.Get(ctx, fmt.Sprintf("ctr:%d", k)).Int64()
		if err != nil || got != want {
			t.Errorf("ctr:%d = %d (%v) on the destination, want %d acknowledged INCRs", k, got, err, want)
		}
	}
	return total, errs
}

// sameReversed reports whether got (LRANGE of an LPUSHed list) is want reversed.
func sameReversed(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[len(want)-1-i] {
			return false
		}
	}
	return true
}

// reportPause logs the write pause the clients saw: per client, the longest
// command that overlapped the cutover; then p50/p99/max over the clients, and
// the latency of every command outside the cutover for comparison.
func reportPause(t *testing.T, ws []*writer, from, to time.Time, what string) {
	t.Helper()
	var pauses, normal []time.Duration
	for _, w := range ws {
		var worst time.Duration
		for _, l := range w.lats {
			if l.start.Before(to) && l.start.Add(l.d).After(from) {
				worst = max(worst, l.d)
			} else {
				normal = append(normal, l.d)
			}
		}
		pauses = append(pauses, worst)
	}
	p := func(s []time.Duration, q float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	t.Logf("pause seen by the clients (per client, its longest command overlapping %s): p50 %v, p99 %v, max %v",
		what, p(pauses, 0.5).Round(10*time.Microsecond), p(pauses, 0.99).Round(10*time.Microsecond), p(pauses, 1).Round(10*time.Microsecond))
	t.Logf("command latency outside %s: p50 %v, p99 %v, max %v (%d commands)",
		what, p(normal, 0.5).Round(time.Microsecond), p(normal, 0.99).Round(time.Microsecond), p(normal, 1).Round(time.Microsecond), len(normal))
}

// sourceData summarizes the workload's keys on the source.
func sourceData(t *testing.T, c *redistest.Cluster) string {
	t.Helper()
	ctx := context.Background()
	sc := c.Client()
	var b strings.Builder
	for k := range numCounters {
		v, _ := sc.Get(ctx, fmt.Sprintf("ctr:%d", k)).Result()
		fmt.Fprintf(&b, "ctr:%d=%s ", k, v)
	}
	var lists int64
	for i := range numClients {
		n, _ := sc.LLen(ctx, fmt.Sprintf("list:%d", i)).Result()
		lists += n
	}
	fmt.Fprintf(&b, "list elements=%d", lists)
	return b.String()
}

var offsetRE = regexp.MustCompile(`master_repl_offset:(\d+)`)

func masterOffsets(ctx context.Context, c *redistest.Cluster) (map[string]int64, error) {
	out := map[string]int64{}
	for _, m := range c.Masters() {
		info, err := m.Client().Info(ctx, "replication").Result()
		if err != nil {
			return nil, err
		}
		mm := offsetRE.FindStringSubmatch(info)
		if mm == nil {
			return nil, fmt.Errorf("%s: no master_repl_offset", m.Addr())
		}
		out[m.Addr()], _ = strconv.ParseInt(mm[1], 10, 64)
	}
	return out, nil
}
