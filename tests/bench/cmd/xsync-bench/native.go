package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// nativeResult is native replication of the same data: one fresh empty replica per
// source master, all started with REPLICAOF at once.
type nativeResult struct {
	seconds float64 // REPLICAOF until every replica is up, not loading, not syncing
	allCPU  time.Duration
	other   time.Duration // every other process on the machine
	keys    int64
}

func (b *bench) runNative(ctx context.Context, srcKeys int64) (*nativeResult, error) {
	var reps []*server
	defer func() {
		for _, s := range reps {
			s.c.Close()
			s.p.stop(5 * time.Second)
		}
	}()
	for i := range b.src.nodes {
		s, err := b.startServer(ctx, b.cfg.base+20+i)
		if err != nil {
			return nil, err
		}
		reps = append(reps, s)
	}
	var cpu cpuSet
	for _, s := range b.src.nodes {
		cpu.add(s.p.Pid(), true)
	}
	for _, s := range reps {
		cpu.add(s.p.Pid(), true)
	}
	before := cpu.sample()
	busy0 := machineBusy()
	start := time.Now()
	for i, s := range reps {
		if err := s.c.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(b.src.nodes[i].port)).Err(); err != nil {
			return nil, fmt.Errorf("bench: REPLICAOF: %w", err)
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
				return nil, ctx.Err()
			}
			if time.Since(start) > b.cfg.timeout {
				return nil, fmt.Errorf("bench: native replica %s not in sync after %s", s.addr(), b.cfg.timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r := &nativeResult{seconds: time.Since(start).Seconds()}
	noBgsave(ctx, b.src.nodes)
	r.allCPU = sum(diff(before, cpu.sample()))
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
