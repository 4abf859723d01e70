// Command xsync-bench measures xsync against references on the same data in the same
// run: it starts a 3-master source and a 3-master destination Redis Cluster on
// loopback, fills the source with tests/loadgen's dataset, and measures
//
//   - the destination's ingest ceiling: every key as pipelined RESTORE ... REPLACE;
//   - native replication: one fresh replica per source master (REPLICAOF);
//   - xsync's full sync: time, keys/s, MB/s, CPU, peak RSS, share of all CPU;
//   - xsync's incremental sync: the highest source write rate with lag under 1 s, and
//     end-to-end lag p50/p99 at half of it;
//   - the load generators' ceilings: the Go writers unthrottled with xsync following,
//     redis-benchmark unthrottled with xsync following, and the Go writers
//     unthrottled again with only native replicas following (xsync stopped);
//
// and prints every figure beside its reference and its target. Every process
// it starts is stopped at the end, on failure and on Ctrl-C. `make bench` runs it.
//
//	xsync-bench [--keys 1000000] [--big-keys 0 --big-len 100000] [--base 22201]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/xsync/xsync/tests/loadgen"
)

type config struct {
	keys, bigKeys, bigLen int
	fillWorkers           int
	base                  int
	xsync, xsyncArgs      string
	redisServer, redisCli string
	stepDur, lagDur       time.Duration
	incrStart, incrMax    int
	bisect                int
	valueSize             int
	timeout               time.Duration
	keep                  bool
	noNative, noRestore   bool
	noIncr                bool
	perfDir               string
	repeat                int
	slowDest              float64
	redisBench            string // redis-benchmark binary
	noRedisBench          bool
	rbPipeline, rbClients int
	rbThreads, rbKeyspace int
}

type bench struct {
	cfg                   config
	dir                   string
	procs                 procs
	redisServer, redisCli string
	src, dst              *cluster
	xsync                 *proc
	logMu                 sync.Mutex
	start                 time.Time
}

func (b *bench) logf(format string, args ...any) {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	var c config
	flag.IntVar(&c.keys, "keys", 1000000, "keys of the generated dataset (tests/loadgen.Fill)")
	flag.IntVar(&c.bigKeys, "big-keys", 0, "big-key sets (a list, hash, set and zset each) added to the dataset")
	flag.IntVar(&c.bigLen, "big-len", 100000, "elements per big key")
	flag.IntVar(&c.fillWorkers, "fill-workers", 4, "parallel fillers (key prefixes d0:, d1:, ...)")
	flag.IntVar(&c.base, "base", 22201, "first port: sources base..+2, destinations +10..+12, native replicas +20..+22, xsync admin +30 (keep base+10012 < 32768: bus ports outside the ephemeral range)")
	flag.StringVar(&c.xsync, "xsync", "bin/xsync", "xsync binary; a comma-separated list runs the full sync with each in turn on the same data (the last one goes on to the incremental part)")
	flag.IntVar(&c.repeat, "repeat", 1, "full syncs per xsync binary (interleaved when --xsync lists several)")
	flag.Float64Var(&c.slowDest, "slow-dest", 0, "during xsync's full sync, keep the destination servers stopped (SIGSTOP) for this fraction of every 20 ms (0..0.95): a destination slower than xsync")
	flag.StringVar(&c.xsyncArgs, "xsync-args", "", "extra flags for xsync sync (space-separated)")
	flag.StringVar(&c.redisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&c.redisCli, "redis-cli", "redis-cli", "redis-cli binary")
	flag.DurationVar(&c.stepDur, "step", 10*time.Second, "incremental: duration of each rate step")
	flag.DurationVar(&c.lagDur, "lag-duration", 20*time.Second, "incremental: duration of the lag measurement at half the max rate")
	flag.IntVar(&c.incrStart, "incr-start", 20000, "incremental: first rate (commands/s, all masters together)")
	flag.IntVar(&c.incrMax, "incr-max", 2000000, "incremental: stop stepping up above this rate")
	flag.IntVar(&c.bisect, "bisect", 3, "incremental: bisection steps between the last good and the first bad rate")
	flag.IntVar(&c.valueSize, "value-size", 64, "incremental: bytes per SET value")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "longest wait for one sync")
	flag.BoolVar(&c.keep, "keep", false, "keep the data directory (logs) at the end")
	flag.BoolVar(&c.noNative, "skip-native", false, "skip the native replication references (the full sync, and the incremental steps with native replicas)")
	flag.BoolVar(&c.noRestore, "skip-restore", false, "skip the RESTORE ceiling reference")
	flag.BoolVar(&c.noIncr, "skip-incremental", false, "skip the incremental part")
	flag.BoolVar(&c.noRedisBench, "skip-redis-benchmark", false, "skip the incremental step driven by redis-benchmark (skipped anyway when it is not installed)")
	flag.StringVar(&c.redisBench, "redis-benchmark", "redis-benchmark", "redis-benchmark binary: an unthrottled SET load (--cluster) with xsync following")
	flag.IntVar(&c.rbPipeline, "redis-benchmark-pipeline", 128, "redis-benchmark -P: requests per pipeline")
	flag.IntVar(&c.rbClients, "redis-benchmark-clients", 24, "redis-benchmark -c: connections, spread over the source masters")
	flag.IntVar(&c.rbThreads, "redis-benchmark-threads", 0, "redis-benchmark --threads (0 or 1: single-threaded)")
	flag.IntVar(&c.rbKeyspace, "redis-benchmark-keyspace", 100000, "redis-benchmark -r: random key numbers (its keys carry a hash tag per source master)")
	flag.StringVar(&c.perfDir, "perf", "", "record xsync with `perf record -g` during the full sync and the half-rate run into this directory")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{cfg: c, start: time.Now()}
	err := b.run(ctx)
	b.procs.stopAll()
	if b.dir != "" {
		if c.keep || err != nil {
			fmt.Fprintf(os.Stderr, "xsync-bench: logs kept in %s\n", b.dir)
		} else {
			os.RemoveAll(b.dir)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "xsync-bench: %v\n", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func (b *bench) run(ctx context.Context) error {
	var err error
	if b.redisServer, err = exec.LookPath(b.cfg.redisServer); err != nil {
		return fmt.Errorf("bench: redis-server: %w", err)
	}
	if b.redisCli, err = exec.LookPath(b.cfg.redisCli); err != nil {
		return fmt.Errorf("bench: redis-cli: %w", err)
	}
	bins := b.cfg.xsyncBins()
	if len(bins) == 0 {
		return errors.New("bench: --xsync names no binary")
	}
	for _, bin := range bins {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("bench: xsync binary: %w (run make build)", err)
		}
	}
	base := b.cfg.base
	srcPorts, dstPorts := []int{base, base + 1, base + 2}, []int{base + 10, base + 11, base + 12}
	if err := checkPorts(append(srcPorts, dstPorts...), true); err != nil {
		return err
	}
	if err := checkPorts([]int{base + 20, base + 21, base + 22, base + 30}, false); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "xsync-bench-"); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	ver, _ := exec.Command(b.redisServer, "--version").Output()
	b.logf("%s; %s; %d CPUs; data in %s", trim(string(ver)), runtime.Version(), runtime.NumCPU(), b.dir)

	// Diskless sync without the 5 s wait for more replicas (the same for native
	// replication and xsync); an unlimited replica output buffer so that an
	// overloaded xsync in the incremental steps lags instead of being cut off.
	srcExtra := []string{"--repl-diskless-sync-delay", "0", "--repl-backlog-size", "512mb",
		"--client-output-buffer-limit", "replica 0 0 0"}
	if b.src, err = b.startCluster(ctx, srcPorts, srcExtra...); err != nil {
		return err
	}
	if b.dst, err = b.startCluster(ctx, dstPorts); err != nil {
		return err
	}
	b.logf("source cluster %v, destination cluster %v", b.src.addrs(), b.dst.addrs())

	t := time.Now()
	if err := b.fill(ctx); err != nil {
		return err
	}
	srcKeys, err := b.src.dbsize(ctx)
	if err != nil {
		return err
	}
	used := int64(0)
	for _, s := range b.src.nodes {
		info, _ := s.c.Info(ctx, "memory").Result()
		v, _ := strconv.ParseInt(infoField(info, "used_memory"), 10, 64)
		used += v
	}
	b.logf("filled %d keys in %.1fs (source used_memory %.0f MiB)", srcKeys, time.Since(t).Seconds(), float64(used)/(1<<20))
	rep := &report{cfg: b.cfg, srcKeys: srcKeys, srcUsed: used}

	if !b.cfg.noRestore {
		t = time.Now()
		keys, err := b.dumpAll(ctx)
		if err != nil {
			return err
		}
		b.logf("dumped %d keys in %.1fs (not timed); RESTORE ceiling...", len(keys), time.Since(t).Seconds())
		if rep.restore, err = b.runRestore(ctx, keys); err != nil {
			return err
		}
		keys = nil
		runtime.GC()
		b.logf("RESTORE ceiling: %d keys in %.2fs", rep.restore.keys, rep.restore.seconds)
	}
	if !b.cfg.noNative {
		b.logf("native replication...")
		if rep.native, err = b.runNative(ctx, srcKeys); err != nil {
			return err
		}
		b.logf("native replication: %.2fs", rep.native.seconds)
	}
	for i := range max(1, b.cfg.repeat) {
		for j, bin := range bins {
			if i > 0 || j > 0 {
				if err := b.resetDestination(ctx); err != nil {
					return err
				}
			}
			if rep.full, err = b.runFullSync(ctx, bin, srcKeys); err != nil {
				return err
			}
			rep.runs = append(rep.runs, fullSyncRun{bin, rep.full})
			b.logf("xsync full sync: %.2fs, %d keys, %d bytes", rep.full.seconds, rep.full.keys, rep.full.bytes)
		}
	}
	if !b.cfg.noIncr {
		if err := b.runIncremental(ctx, rep); err != nil {
			return err
		}
	}
	if b.xsync != nil && rep.finalRSSKiB == 0 {
		rep.finalRSSKiB, _ = statusKB(b.xsync.Pid(), "VmHWM")
	}
	rep.print(os.Stdout)
	return nil
}

// runIncremental finds the highest write rate with lag under 1 s, drives the sources
// unthrottled (the Go writers, then redis-benchmark), measures the lag at half the
// max rate, then again with native replicas probed too (the reference), and last
// the Go writers unthrottled with only the native replicas following (xsync is
// stopped for it).
func (b *bench) runIncremental(ctx context.Context, rep *report) error {
	keys := b.writerKeys(100000)
	b.logf("incremental: stepping the write rate up from %d/s (%s per step)", b.cfg.incrStart, b.cfg.stepDur)
	good, steps, err := b.findMaxRate(ctx, keys)
	rep.steps = steps
	if err != nil || good == nil {
		return err
	}
	rep.maxRate = good
	// The target: keep up with the highest rate the load generator
	// can drive into the sources. Unthrottled (20,000 unanswered SETs per master),
	// with xsync following: its achieved rate is the generator's ceiling here.
	b.logf("incremental: the load generator unthrottled, xsync following")
	if rep.ceiling, err = b.runLoad(ctx, unthrottled, b.cfg.stepDur, keys, nil); err != nil {
		return err
	}
	rep.ceiling.label = "generator unthrottled"
	b.logStep(rep.ceiling)
	if err := b.runRedisBenchmark(ctx, rep); err != nil {
		return err
	}
	half := good.target / 2
	b.logf("incremental: lag at half the max rate, %d/s for %s", half, b.cfg.lagDur)
	stopPerf := b.perfRecord("incremental", b.xsync.Pid())
	rep.half, err = b.runLoad(ctx, half, b.cfg.lagDur, keys, nil)
	stopPerf()
	if err != nil {
		return err
	}
	b.logStep(rep.half)
	if b.cfg.noNative {
		return nil
	}
	// The same load again with a native replica of each source master, the same
	// probes polling both (the replicas' CPU now competes with xsync's too).
	b.logf("incremental: again at %d/s with native replicas probed too", half)
	natives, err := b.startReplicas(ctx)
	defer stopReplicas(natives)
	if err != nil {
		return err
	}
	if _, err := b.attachReplicas(ctx, natives); err != nil {
		return err
	}
	if rep.halfNative, err = b.runLoad(ctx, half, b.cfg.lagDur, keys, natives); err != nil {
		return err
	}
	b.logStep(rep.halfNative)
	return b.runNativeCeiling(ctx, rep, keys, natives)
}

// fill runs loadgen.Fill in parallel workers with distinct prefixes and seeds.
func (b *bench) fill(ctx context.Context) error {
	w := max(1, b.cfg.fillWorkers)
	errs := make(chan error, w)
	for i := range w {
		n := b.cfg.keys / w
		if i == 0 {
			n += b.cfg.keys % w
		}
		o := loadgen.FillOptions{Keys: n, Prefix: "d" + strconv.Itoa(i) + ":", Seed: uint64(i + 1), Batch: 500}
		if i == 0 {
			o.BigKeys, o.BigLen = b.cfg.bigKeys, b.cfg.bigLen
		}
		go func() { errs <- loadgen.Fill(ctx, b.src.cc, o) }()
	}
	var first error
	for range w {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func trim(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
