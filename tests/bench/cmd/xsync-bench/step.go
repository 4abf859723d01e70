package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// unthrottled as a rate asks the writers for more than they can send: only
// their window of unanswered commands holds them back.
const unthrottled = 100_000_000

// loadStep is one load step with end-to-end probes.
type loadStep struct {
	label         string  // what drove the load, when not the Go writers at a set rate
	target        int     // commands per second asked for
	achieved      float64 // commands acknowledged by the sources per second
	noXsync       bool    // xsync did not follow (stopped): only the natives did
	probes        []time.Duration
	native        []time.Duration // the same probes on native replicas, when attached
	maxLagSec     float64         // highest INFO xsync lag_seconds seen
	maxLagByte    int64           // highest INFO xsync lag_bytes seen
	maxTrueLag    int64           // highest source master_repl_offset minus xsync applied_offset seen
	maxNativeLag  int64           // highest source master_repl_offset minus its replica's slave_repl_offset seen
	lagSecs       []float64
	xsyncCPU      time.Duration
	srcCPU        time.Duration // the 3 source masters
	dstCPU        time.Duration // the 3 destination masters
	natCPU        time.Duration // the native replicas, when attached
	genCPU        time.Duration // the load generator, when it is a separate process (redis-benchmark)
	benchCPU      time.Duration // the bench itself (Go writers and probes)
	otherCPU      time.Duration // every other process on the machine
	elapsed       time.Duration
	drained       float64 // seconds from the end of the load until xsync's lag_bytes 0
	nativeDrained float64 // seconds from the end of the load until the replicas' offsets reach the sources'
	ok            bool
}

func (s *loadStep) pct(p float64) time.Duration { return pct(s.probes, p) }

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	v := slices.Clone(d)
	slices.Sort(v)
	return v[min(len(v)-1, int(p*float64(len(v))))]
}

// xsyncKeptUp reports xsync's lag under 1 s all along: every probe and INFO xsync.
func (s *loadStep) xsyncKeptUp() bool {
	return len(s.probes) > 0 && s.pct(1) < time.Second && s.maxLagSec < 1
}

// nativeKeptUp reports every probe seen on the native replicas within 1 s.
func (s *loadStep) nativeKeptUp() bool {
	return len(s.native) > 0 && pct(s.native, 1) < time.Second
}

// generator drives load into the sources until ctx is done. It returns the
// commands the sources acknowledged (or processed) by then, and its own CPU
// time when it is a separate process (0 when it runs inside the bench).
type generator func(ctx context.Context) (acked int64, cpu time.Duration, err error)

// stepSpec is one load step: what drives the load and who follows the sources.
type stepSpec struct {
	label   string        // names the step in the log and the report ("" for a rate step)
	rate    int           // commands per second asked for (unthrottled: all the generator can)
	dur     time.Duration // how long the load runs
	gen     generator
	natives []*server // native replicas of the source masters: probed and their byte lag sampled too
	noXsync bool      // xsync does not follow: no INFO xsync, no probes on the destination, no drain
}

// runLoad writes SET key <value> at rate commands per second in total, spread over the
// source masters, pipelined (one connection per master), for dur; meanwhile a probe
// writes a key to the source and polls the destination until it appears.
func (b *bench) runLoad(ctx context.Context, rate int, dur time.Duration, keys [][]string, natives []*server) (*loadStep, error) {
	return b.runStep(ctx, stepSpec{rate: rate, dur: dur, gen: b.goWriters(rate, keys), natives: natives})
}

// goWriters is the bench's own generator: writeAt on every source master, rate
// commands per second in total. It counts the replies that arrived before ctx
// was done.
func (b *bench) goWriters(rate int, keys [][]string) generator {
	return func(ctx context.Context) (int64, time.Duration, error) {
		var acked, inTime atomic.Int64
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { <-gctx.Done(); inTime.Store(acked.Load()); return nil })
		for i, s := range b.src.nodes {
			g.Go(func() error {
				return writeAt(gctx, s.addr(), float64(rate)/float64(len(b.src.nodes)), keys[i], b.cfg.valueSize, &acked)
			})
		}
		err := g.Wait()
		return inTime.Load(), 0, err
	}
}

// runStep runs sp.gen for sp.dur with the probes and the lag samplers alongside,
// then waits until the followers have caught up.
func (b *bench) runStep(ctx context.Context, sp stepSpec) (*loadStep, error) {
	st := &loadStep{label: sp.label, target: sp.rate, noXsync: sp.noXsync}
	lctx, cancel := context.WithTimeout(ctx, sp.dur)
	defer cancel()
	cpu := b.newStepCPU(sp)
	cpu0 := cpu.sample()
	start := time.Now()
	var acked int64
	g, gctx := errgroup.WithContext(lctx)
	g.Go(func() (err error) { acked, st.genCPU, err = sp.gen(gctx); return err })
	g.Go(func() error {
		lats, nat, err := b.probe(gctx, sp.natives, !sp.noXsync)
		st.probes, st.native = lats, nat
		return err
	})
	if !sp.noXsync {
		g.Go(func() error { b.sampleLag(gctx, st); return nil })
	}
	if sp.natives != nil {
		g.Go(func() error { b.sampleNativeLag(gctx, sp.natives, st); return nil })
	}
	err := g.Wait()
	st.elapsed = time.Since(start)
	st.achieved = float64(acked) / sp.dur.Seconds()
	cpu.account(st, cpu0, cpu.sample())
	if err != nil {
		return st, err
	}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	if !sp.noXsync {
		if st.drained, err = b.drain(ctx, sp.rate); err != nil {
			return st, err
		}
	}
	if sp.natives != nil {
		if st.nativeDrained, err = b.drainNatives(ctx, sp.natives); err != nil {
			return st, err
		}
	}
	// An unthrottled step has no rate to reach: it is good when the followers kept up.
	rateOK := sp.rate == unthrottled || st.achieved >= 0.95*float64(sp.rate)
	if sp.noXsync {
		st.ok = rateOK && st.nativeKeptUp()
	} else {
		st.ok = rateOK && st.xsyncKeptUp()
	}
	return st, nil
}

// stepCPU is the processes whose CPU time a step reports.
type stepCPU struct {
	src, dst, nat cpuSet
	xsyncPid      int // 0 when xsync does not follow
}

// cpuSample is the CPU time of the processes of a stepCPU at one moment.
type cpuSample struct {
	src, dst, nat     []time.Duration
	xsync, self, busy time.Duration
}

func (b *bench) newStepCPU(sp stepSpec) *stepCPU {
	c := &stepCPU{}
	for _, n := range b.src.nodes {
		c.src.add(n.p.Pid(), true)
	}
	for _, n := range b.dst.nodes {
		c.dst.add(n.p.Pid(), true)
	}
	for _, n := range sp.natives {
		c.nat.add(n.p.Pid(), false)
	}
	if !sp.noXsync && b.xsync != nil {
		c.xsyncPid = b.xsync.Pid()
	}
	return c
}

func (c *stepCPU) sample() cpuSample {
	s := cpuSample{src: c.src.sample(), dst: c.dst.sample(), nat: c.nat.sample(), busy: machineBusy()}
	if c.xsyncPid != 0 {
		s.xsync, _ = cpuTime(c.xsyncPid, false)
	}
	s.self, _ = cpuTime(os.Getpid(), false)
	return s
}

// account sets st's CPU figures from two samples (st.genCPU already set).
func (c *stepCPU) account(st *loadStep, a, b cpuSample) {
	st.xsyncCPU = b.xsync - a.xsync
	st.srcCPU, st.dstCPU, st.natCPU = sum(diff(a.src, b.src)), sum(diff(a.dst, b.dst)), sum(diff(a.nat, b.nat))
	st.benchCPU = b.self - a.self
	st.otherCPU = max(0, b.busy-a.busy-st.xsyncCPU-st.srcCPU-st.dstCPU-st.natCPU-st.genCPU-st.benchCPU)
}

func (b *bench) logStep(st *loadStep) {
	verdict := "lag < 1 s"
	if !st.ok {
		verdict = "FAIL"
	}
	b.logf("  %s: achieved %8.0f/s, %s, cores: %s; %s: %s", st.name(), st.achieved, st.lagText(), st.coresText(), st.drainText(), verdict)
}

// name is the step's label, or its rate.
func (s *loadStep) name() string {
	if s.label != "" {
		return s.label
	}
	return fmt.Sprintf("rate %7d/s", s.target)
}

// lagText is the lag figures of the step: xsync's, and the native replicas' when attached.
func (s *loadStep) lagText() string {
	var t string
	if !s.noXsync {
		t = fmt.Sprintf("probe p50 %s p99 %s max %s (%d probes), INFO lag_seconds max %.3f, lag_bytes max %d, source offset - applied max %d",
			ms(s.pct(0.5)), ms(s.pct(0.99)), ms(s.pct(1)), len(s.probes), s.maxLagSec, s.maxLagByte, s.maxTrueLag)
	}
	if len(s.native) > 0 {
		if t != "" {
			t += "; "
		}
		t += fmt.Sprintf("native replicas: probe p50 %s p99 %s max %s (%d probes), source offset - replica offset max %d",
			ms(pct(s.native, 0.5)), ms(pct(s.native, 0.99)), ms(pct(s.native, 1)), len(s.native), s.maxNativeLag)
	}
	return t
}

// coresText is the CPU of each group of processes over the step, in cores.
func (s *loadStep) coresText() string {
	c := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()/s.elapsed.Seconds(), 'f', 2, 64) }
	t := ""
	if !s.noXsync {
		t = "xsync " + c(s.xsyncCPU) + " "
	}
	t += "sources " + c(s.srcCPU) + " destinations " + c(s.dstCPU)
	if s.natCPU > 0 {
		t += " replicas " + c(s.natCPU)
	}
	if s.genCPU > 0 {
		t += " redis-benchmark " + c(s.genCPU)
	}
	return t + " bench " + c(s.benchCPU) + " others " + c(s.otherCPU)
}

// drainText is how long the followers took to catch up after the load.
func (s *loadStep) drainText() string {
	var t string
	if !s.noXsync {
		t = fmt.Sprintf("drained in %.1fs", s.drained)
	}
	if len(s.native) > 0 {
		if t != "" {
			t += ", "
		}
		t += fmt.Sprintf("replicas drained in %.1fs", s.nativeDrained)
	}
	return t
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }
