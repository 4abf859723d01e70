package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// nativeResult is native replication of the same data: one fresh empty replica per
// source master, all started with REPLICAOF at once.
type nativeResult struct {
	seconds float64 // REPLICAOF until every replica is up, not loading, not syncing
	allCPU  time.Duration
	srcCPU  time.Duration // the sources, BGSAVE fork children included
	other   time.Duration // every other process on the machine
	keys    int64
	srcIO   ioCounts      // system calls of the sources (fork children left out)
	srcPar  time.Duration // CPU of the sources without their fork children
	repIO   ioCounts      // of the replicas
}

func (b *bench) runNative(ctx context.Context, srcKeys int64) (*nativeResult, error) {
	var cpu cpuSet
	for _, s := range b.src.nodes {
		cpu.add(s.p.Pid(), true)
	}
	reps, err := b.startReplicas(ctx)
	defer stopReplicas(reps)
	if err != nil {
		return nil, err
	}
	for _, s := range reps {
		cpu.add(s.p.Pid(), true)
	}
	before := cpu.sample()
	busy0 := machineBusy()
	src0, rep0 := serversIO(b.src.nodes), serversIO(reps)
	par0 := parentsCPU(b.src.nodes)
	secs, err := b.attachReplicas(ctx, reps)
	if err != nil {
		return nil, err
	}
	r := &nativeResult{seconds: secs, srcIO: serversIO(b.src.nodes).sub(src0), repIO: serversIO(reps).sub(rep0)}
	r.srcPar = parentsCPU(b.src.nodes) - par0
	noBgsave(ctx, b.src.nodes)
	d := diff(before, cpu.sample())
	r.allCPU = sum(d)
	r.srcCPU = sum(d[:len(b.src.nodes)])
	r.other = max(0, machineBusy()-busy0-r.allCPU)
	for _, s := range reps {
		n, err := s.c.DBSize(ctx).Result()
		if err != nil {
			return nil, fmt.Errorf("bench: DBSIZE: %w", err)
		}
		r.keys += n
	}
	if r.keys != srcKeys {
		b.logf("WARNING: native replicas hold %d keys, source %d", r.keys, srcKeys)
	}
	return r, nil
}

// startReplicas starts one empty standalone redis-server per source master.
func (b *bench) startReplicas(ctx context.Context) ([]*server, error) {
	var reps []*server
	for i := range b.src.nodes {
		// A replica keeps the RDB it received in its directory: start empty.
		_ = os.RemoveAll(filepath.Join(b.dir, strconv.Itoa(b.cfg.base+20+i)))
		s, err := b.startServer(ctx, b.cfg.base+20+i)
		if err != nil {
			return reps, err
		}
		reps = append(reps, s)
	}
	return reps, nil
}

func stopReplicas(reps []*server) {
	for _, s := range reps {
		s.c.Close()
		s.p.stop(5 * time.Second)
	}
}

// attachReplicas sends REPLICAOF to every replica at once (replica i follows source
// master i) and returns the seconds until all are up, not loading, not syncing.
func (b *bench) attachReplicas(ctx context.Context, reps []*server) (float64, error) {
	start := time.Now()
	for i, s := range reps {
		if err := s.c.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(b.src.nodes[i].port)).Err(); err != nil {
			return 0, fmt.Errorf("bench: REPLICAOF: %w", err)
		}
	}
	for _, s := range reps {
		for {
			info, err := s.c.Info(ctx, "replication", "persistence").Result()
			if err == nil && infoField(info, "master_link_status") == "up" &&
				infoField(info, "master_sync_in_progress") == "0" && infoField(info, "loading") == "0" {
				break
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if time.Since(start) > b.cfg.timeout {
				return 0, fmt.Errorf("bench: native replica %s not in sync after %s", s.addr(), b.cfg.timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return time.Since(start).Seconds(), nil
}

// nativeLag returns the largest difference, over the source masters, between the
// master's replication offset and the offset its native replica has processed
// (natives[i] follows source master i). The replica is read first: a figure
// errs on the high side.
func (b *bench) nativeLag(ctx context.Context, natives []*server) (int64, error) {
	var worst int64
	for i, r := range natives {
		ri, err := r.c.Info(ctx, "replication").Result()
		if err != nil {
			return 0, err
		}
		mi, err := b.src.nodes[i].c.Info(ctx, "replication").Result()
		if err != nil {
			return 0, err
		}
		roff, err := strconv.ParseInt(infoField(ri, "slave_repl_offset"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: replica %s: slave_repl_offset: %w", r.addr(), err)
		}
		moff, _ := strconv.ParseInt(infoField(mi, "master_repl_offset"), 10, 64)
		worst = max(worst, moff-roff)
	}
	return worst, nil
}

// sampleNativeLag samples nativeLag every 100 ms until ctx is done.
func (b *bench) sampleNativeLag(ctx context.Context, natives []*server, st *loadStep) {
	every(ctx, 100*time.Millisecond, func() {
		if l, err := b.nativeLag(ctx, natives); err == nil {
			st.maxNativeLag = max(st.maxNativeLag, l)
		}
	})
}

// drainNatives waits until every native replica has processed its master's whole
// replication stream and returns how long that took.
func (b *bench) drainNatives(ctx context.Context, natives []*server) (float64, error) {
	t0 := time.Now()
	for {
		l, err := b.nativeLag(ctx, natives)
		if err == nil && l <= 0 {
			return time.Since(t0).Seconds(), nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Since(t0) > 3*time.Minute {
			return 0, fmt.Errorf("bench: native replicas did not catch up within 3 minutes (source offset - replica offset %d, %v)", l, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runNativeCeiling stops xsync and runs the Go writers unthrottled (as for
// rep.ceiling: same step duration, same keys) with only the native replicas
// following: does native replication keep up with what the generator drives into
// the sources? xsync's peak RSS is read before it is stopped.
func (b *bench) runNativeCeiling(ctx context.Context, rep *report, keys [][]string, natives []*server) error {
	if b.xsync != nil {
		rep.finalRSSKiB, _ = statusKB(b.xsync.Pid(), "VmHWM")
		b.xsync.stop(10 * time.Second)
		b.xsync = nil
	}
	b.logf("incremental: the load generator unthrottled, native replicas following (xsync stopped)")
	st, err := b.runStep(ctx, stepSpec{label: "generator unthrottled, native replicas only", rate: unthrottled,
		dur: b.cfg.stepDur, gen: b.goWriters(unthrottled, keys), natives: natives, noXsync: true})
	if err != nil {
		return err
	}
	for _, r := range natives {
		info, err := r.c.Info(ctx, "replication").Result()
		if err != nil || infoField(info, "master_link_status") != "up" {
			b.logf("WARNING: native replica %s: link to its master not up after the step (%v)", r.addr(), err)
			st.ok = false
		}
	}
	rep.nativeCeiling = st
	b.logStep(st)
	return nil
}
