package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// xsyncInfo is a parsed INFO xsync reply: the top-level fields and one map per shard.
type xsyncInfo struct {
	fields map[string]string
	shards []map[string]string
}

func (x xsyncInfo) int(field string) int64 {
	v, _ := strconv.ParseInt(x.fields[field], 10, 64)
	return v
}

func (x xsyncInfo) float(field string) float64 {
	v, _ := strconv.ParseFloat(x.fields[field], 64)
	return v
}

func parseXsyncInfo(s string) xsyncInfo {
	x := xsyncInfo{fields: map[string]string{}}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if n, ok := strings.CutPrefix(k, "shard"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			m := map[string]string{}
			for _, kv := range strings.Split(v, ",") {
				a, b, _ := strings.Cut(kv, "=")
				m[a] = b
			}
			x.shards = append(x.shards, m)
			continue
		}
		x.fields[k] = v
	}
	return x
}

// synced reports every shard streaming with nothing left to apply.
func (x xsyncInfo) synced(shards int) bool {
	if x.fields["state"] != "stream" || x.fields["lag_bytes"] != "0" || len(x.shards) != shards {
		return false
	}
	for _, sh := range x.shards {
		if sh["state"] != "stream" || sh["lag_bytes"] != "0" {
			return false
		}
	}
	return true
}

// fullSyncResult holds what the xsync full sync measured.
type fullSyncResult struct {
	seconds      float64 // process start until every shard streams with lag 0
	firstKey     float64 // process start until the first key was applied (prechecks, PSYNC, fork)
	keys         int64
	bytes        int64 // snapshot bytes read (fullsync_bytes_done)
	xsyncCPU     time.Duration
	allCPU       time.Duration // xsync + every redis-server (sources with their fork children, destinations)
	otherCPU     time.Duration // every other process on the machine (the bench itself included)
	perProcCPU   map[string]time.Duration
	peakRSSKiB   int64
	dstKeys      int64         // destination keys without xsync's own
	dstIO, srcIO ioCounts      // system calls of the destination and source servers
	srcParentCPU time.Duration // CPU of the sources without their BGSAVE fork children
	internalKeys int64
}

// admin returns a client of xsync's admin port.
func (b *bench) admin() *redis.Client {
	return redis.NewClient(nodeOptions(b.adminAddr()))
}

func (b *bench) adminAddr() string { return "127.0.0.1:" + strconv.Itoa(b.cfg.base+30) }

func (b *bench) xsyncInfo(ctx context.Context, c *redis.Client) (xsyncInfo, error) {
	s, err := c.Do(ctx, "INFO", "xsync").Text()
	if err != nil {
		return xsyncInfo{}, err
	}
	return parseXsyncInfo(s), nil
}

// runFullSync starts xsync against the empty destination and waits until every shard
// streams with lag 0. xsync keeps running for the incremental part.
func (b *bench) runFullSync(ctx context.Context, bin string, srcKeys int64) (*fullSyncResult, error) {
	r := &fullSyncResult{perProcCPU: map[string]time.Duration{}}
	var cpu cpuSet
	names := []string{}
	for _, s := range b.src.nodes {
		cpu.add(s.p.Pid(), true)
		names = append(names, "source "+s.addr())
	}
	for _, s := range b.dst.nodes {
		cpu.add(s.p.Pid(), true)
		names = append(names, "dest "+s.addr())
	}
	before := cpu.sample()
	busy0 := machineBusy()
	dst0, src0 := serversIO(b.dst.nodes), serversIO(b.src.nodes)
	srcPar0 := parentsCPU(b.src.nodes)
	args := []string{"sync", "--source", b.src.url(), "--target", b.dst.url(),
		"--admin", b.adminAddr(), "--progress", "off", "--log-file", filepath.Join(b.dir, "xsync.log")}
	args = append(args, strings.Fields(b.cfg.xsyncArgs)...)
	b.logf("xsync full sync: %s %s", bin, strings.Join(args, " "))
	start := time.Now()
	p, err := b.procs.start("xsync", filepath.Join(b.dir, "xsync.out"), bin, args...)
	if err != nil {
		return nil, err
	}
	b.xsync = p
	stopPerf := b.perfRecord("fullsync", p.Pid())
	defer stopPerf()
	stopSlow := b.slowDestinations(b.cfg.slowDest)
	defer stopSlow()
	cpu.add(p.Pid(), false)
	names = append(names, "xsync")
	before = append(before, 0)
	adm := b.admin()
	defer adm.Close()
	lastPrint := time.Now()
	var x xsyncInfo
	for {
		if p.Exited() {
			return nil, fmt.Errorf("bench: xsync exited during the full sync: %v (see %s/xsync.log and xsync.out)", p.err, b.dir)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		x, err = b.xsyncInfo(ctx, adm)
		if err == nil {
			if r.firstKey == 0 && x.int("fullsync_keys_done") > 0 {
				r.firstKey = time.Since(start).Seconds()
			}
			if x.synced(len(b.src.nodes)) {
				break
			}
			if time.Since(lastPrint) > 5*time.Second {
				lastPrint = time.Now()
				b.logf("  %5.1fs state %s keys %d/%d bytes %d", time.Since(start).Seconds(), x.fields["state"],
					x.int("fullsync_keys_done"), x.int("fullsync_keys_total"), x.int("fullsync_bytes_done"))
			}
		}
		if time.Since(start) > b.cfg.timeout {
			return nil, fmt.Errorf("bench: xsync full sync not done after %s", b.cfg.timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.seconds = time.Since(start).Seconds()
	r.dstIO, r.srcIO = serversIO(b.dst.nodes).sub(dst0), serversIO(b.src.nodes).sub(src0)
	r.srcParentCPU = parentsCPU(b.src.nodes) - srcPar0
	stopSlow()
	xcpu, _ := cpuTime(p.Pid(), false)
	stopPerf()
	r.peakRSSKiB, _ = statusKB(p.Pid(), "VmHWM")
	noBgsave(ctx, b.src.nodes)
	after := cpu.sample()
	busy1 := machineBusy()
	after[len(after)-1] = xcpu
	d := diff(before, after)
	for i, n := range names {
		r.perProcCPU[n] = d[i]
	}
	r.xsyncCPU = xcpu
	r.allCPU = sum(d)
	r.otherCPU = max(0, busy1-busy0-r.allCPU)
	r.keys = x.int("fullsync_keys_done")
	r.bytes = x.int("fullsync_bytes_done")
	// xsync writes its watermark keys now and then: count again when one came
	// between DBSIZE and the SCAN.
	for try := 0; try < 3; try++ {
		dst, err := b.dst.dbsize(ctx)
		if err != nil {
			return nil, err
		}
		r.internalKeys, err = b.countInternal(ctx)
		if err != nil {
			return nil, err
		}
		r.dstKeys = dst - r.internalKeys
		if r.dstKeys == srcKeys {
			break
		}
		time.Sleep(time.Second)
	}
	if r.dstKeys != srcKeys {
		b.logf("WARNING: destination has %d keys (+%d of xsync's own), source %d", r.dstKeys, r.internalKeys, srcKeys)
	}
	return r, nil
}

// countInternal counts xsync's own keys (checkpoints) on the destination.
func (b *bench) countInternal(ctx context.Context) (int64, error) {
	var n int64
	for _, s := range b.dst.nodes {
		var cursor uint64
		for {
			keys, next, err := s.c.Scan(ctx, cursor, "__xsync:*", 10000).Result()
			if err != nil {
				return 0, fmt.Errorf("bench: SCAN %s: %w", s.addr(), err)
			}
			n += int64(len(keys))
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return n, nil
}
