package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// redis-benchmark as the load generator: the target is that the
// incremental sync keeps up with the highest rate a generator can drive into the
// sources, and redis-benchmark (C, multiplexed, pipelined) drives more than the
// bench's Go writers. One step, unthrottled, for --step, with xsync following.

// runRedisBenchmark runs the redis-benchmark step into rep.redisBench, unless
// --skip-redis-benchmark or redis-benchmark is not installed.
func (b *bench) runRedisBenchmark(ctx context.Context, rep *report) error {
	if b.cfg.noRedisBench {
		return nil
	}
	bin, err := exec.LookPath(b.cfg.redisBench)
	if err != nil {
		b.logf("incremental: redis-benchmark step skipped: %v", err)
		return nil
	}
	log := filepath.Join(b.dir, "redis-benchmark.log")
	args := b.redisBenchArgs()
	keys0, _ := b.src.dbsize(ctx)
	b.logf("incremental: redis-benchmark unthrottled, xsync following: %s %s", bin, strings.Join(args, " "))
	st, err := b.runStep(ctx, stepSpec{label: "redis-benchmark unthrottled", rate: unthrottled,
		dur: b.cfg.stepDur, gen: b.redisBenchGen(bin, args, log)})
	if err != nil {
		return err
	}
	rep.redisBench = st
	b.logStep(st)
	keys1, _ := b.src.dbsize(ctx)
	b.logf("  redis-benchmark's own figure: %s requests/s; the sources hold %d more keys", lastOverall(log), keys1-keys0)
	return nil
}

// redisBenchArgs is the redis-benchmark command line: SET of --value-size bytes on
// random keys of --redis-benchmark-keyspace, through every source master
// (--cluster), with more requests than it can send in a step (it is stopped).
func (b *bench) redisBenchArgs() []string {
	c := b.cfg
	args := []string{"--cluster", "-h", "127.0.0.1", "-p", strconv.Itoa(b.src.nodes[0].port),
		"-t", "set", "-d", strconv.Itoa(c.valueSize), "-r", strconv.Itoa(c.rbKeyspace),
		"-P", strconv.Itoa(c.rbPipeline), "-c", strconv.Itoa(c.rbClients), "-n", "2000000000", "-q"}
	if c.rbThreads > 1 {
		args = append(args, "--threads", strconv.Itoa(c.rbThreads))
	}
	return args
}

// redisBenchGen starts redis-benchmark and stops it when ctx is done. The
// commands are counted from the sources' INFO commandstats (SET calls, the
// probes' included: about 100 a second).
func (b *bench) redisBenchGen(bin string, args []string, log string) generator {
	return func(ctx context.Context) (int64, time.Duration, error) {
		calls0, err := b.setCalls(ctx)
		if err != nil {
			return 0, 0, err
		}
		p, err := b.procs.start("redis-benchmark", log, bin, args...)
		if err != nil {
			return 0, 0, err
		}
		defer p.stop(3 * time.Second)
		select {
		case <-ctx.Done():
		case <-p.done:
			return 0, 0, fmt.Errorf("bench: redis-benchmark ended before the step did: %v (see %s)", p.err, log)
		}
		calls1, err := b.setCalls(context.WithoutCancel(ctx))
		cpu, _ := cpuTime(p.Pid(), false)
		return calls1 - calls0, cpu, err
	}
}

// setCalls sums cmdstat_set calls over the source masters.
func (b *bench) setCalls(ctx context.Context) (int64, error) {
	var n int64
	for _, s := range b.src.nodes {
		info, err := s.c.Info(ctx, "commandstats").Result()
		if err != nil {
			return 0, fmt.Errorf("bench: INFO commandstats %s: %w", s.addr(), err)
		}
		// cmdstat_set:calls=N,usec=...
		v, _, _ := strings.Cut(strings.TrimPrefix(infoField(info, "cmdstat_set"), "calls="), ",")
		c, _ := strconv.ParseInt(v, 10, 64)
		n += c
	}
	return n, nil
}

// lastOverall returns the overall rate of redis-benchmark -q's last progress
// line in its log ("SET: rps=309248.0 (overall: 396767.3) avg_msec=..."), or "?".
func lastOverall(log string) string {
	out, err := os.ReadFile(log)
	if err != nil {
		return "?"
	}
	s := string(out)
	i := strings.LastIndex(s, "rps=")
	if i < 0 {
		return "?"
	}
	_, v, ok := strings.Cut(s[i:], "(overall: ")
	if !ok {
		return "?"
	}
	v, _, _ = strings.Cut(v, ")")
	return v
}
