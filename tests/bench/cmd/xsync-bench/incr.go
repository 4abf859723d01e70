package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// writerKeys returns, per source master, key names that hash to its slots.
func (b *bench) writerKeys(perNode int) [][]string {
	out := make([][]string, len(b.src.nodes))
	for i := 0; ; i++ {
		k := "inc:" + strconv.Itoa(i)
		n := b.src.owner[slots.SlotString(k)]
		if len(out[n]) < perNode {
			out[n] = append(out[n], k)
		}
		done := true
		for _, o := range out {
			done = done && len(o) == perNode
		}
		if done {
			return out
		}
	}
}

// sampleLag reads INFO xsync and the sources' offsets every 100 ms until ctx is done.
func (b *bench) sampleLag(ctx context.Context, st *loadStep) {
	adm := b.admin()
	defer adm.Close()
	every(ctx, 100*time.Millisecond, func() {
		x, err := b.xsyncInfo(ctx, adm)
		if err != nil {
			return
		}
		ls := x.float("lag_seconds")
		st.lagSecs = append(st.lagSecs, ls)
		st.maxLagSec = max(st.maxLagSec, ls)
		st.maxLagByte = max(st.maxLagByte, x.int("lag_bytes"))
		if tl, err := b.trueLag(ctx, x); err == nil {
			st.maxTrueLag = max(st.maxTrueLag, tl)
		}
	})
}

// every calls f every d until ctx is done.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
	}
}

// drain waits until xsync has applied everything the sources hold and returns how
// long that took.
func (b *bench) drain(ctx context.Context, rate int) (float64, error) {
	t0 := time.Now()
	adm := b.admin()
	defer adm.Close()
	lastLog := time.Now()
	for {
		x, err := b.xsyncInfo(ctx, adm)
		if err == nil && x.synced(len(b.src.nodes)) {
			if tl, err := b.trueLag(ctx, x); err == nil && tl <= 0 {
				break
			}
		}
		if err == nil && time.Since(lastLog) > 2*time.Second {
			lastLog = time.Now()
			line := ""
			for i, sh := range x.shards {
				line += fmt.Sprintf(" shard%d %s received=%s applied=%s lag_bytes=%s;", i, sh["addr"], sh["received_offset"], sh["applied_offset"], sh["lag_bytes"])
			}
			offs := ""
			for _, n := range b.src.nodes {
				info, _ := n.c.Info(ctx, "replication").Result()
				offs += " " + n.addr() + "=" + infoField(info, "master_repl_offset")
			}
			b.logf("    draining %.0fs:%s source offsets%s", time.Since(t0).Seconds(), line, offs)
		}
		if b.xsync.Exited() {
			return 0, fmt.Errorf("bench: xsync exited: %v", b.xsync.err)
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Since(t0) > 3*time.Minute {
			return 0, fmt.Errorf("bench: xsync did not catch up within 3 minutes after %d/s", rate)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(t0).Seconds(), nil
}

// writeAt sends SETs to one master at rate per second, pipelined: every millisecond
// the commands due so far are written in one batch; a reader counts the replies.
// At most maxInflight commands are unanswered (the rest of a batch waits).
func writeAt(ctx context.Context, addr string, rate float64, keys []string, valueSize int, acked *atomic.Int64) error {
	const maxInflight = 20000
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	defer conn.Close()
	var inflight atomic.Int64
	rerr := make(chan error, 1)
	go func() {
		rd := bufio.NewReaderSize(conn, 64<<10)
		for {
			line, err := rd.ReadSlice('\n')
			if err != nil {
				rerr <- err
				return
			}
			if line[0] == '-' {
				rerr <- fmt.Errorf("bench: SET on %s: %s", addr, line)
				return
			}
			inflight.Add(-1)
			acked.Add(1)
		}
	}()
	val := make([]byte, valueSize)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	var buf []byte
	var sent int64
	start := time.Now()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			// Let the replies of what was sent arrive, so that acked counts them.
			deadline := time.Now().Add(5 * time.Second)
			for inflight.Load() > 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			return nil
		case err := <-rerr:
			return fmt.Errorf("bench: writer %s: %w", addr, err)
		case <-t.C:
		}
		due := int64(rate*time.Since(start).Seconds()) - sent
		due = min(due, maxInflight-inflight.Load())
		for ; due > 0; due-- {
			buf = resp.AppendArray(buf[:0], 3)
			buf = resp.AppendBulkString(buf, "SET")
			buf = resp.AppendBulkString(buf, keys[n%len(keys)])
			buf = resp.AppendBulk(buf, val)
			n++
			sent++
			inflight.Add(1)
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("bench: writer %s: %w", addr, err)
			}
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("bench: writer %s: %w", addr, err)
		}
	}
}

// probe measures end-to-end lag until ctx is done: SET probe:<n> on its source master,
// then EXISTS on its destination master (when onDst: xsync follows) and on the
// native replica of that source master (when natives is set) every 200µs until it
// is there (30 s at most); 10 ms between probes. A probe over 1 s is logged. The
// lag counts from before the SET.
func (b *bench) probe(ctx context.Context, natives []*server, onDst bool) (lats, nat []time.Duration, err error) {
	// Keys are new in every run: an EXISTS on a key of an earlier run would
	// succeed at once.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for n := 0; ctx.Err() == nil; n++ {
		k := "probe:" + run + ":" + strconv.Itoa(n)
		sl := slots.SlotString(k)
		si := b.src.owner[sl]
		src := b.src.nodes[si]
		var where []*server
		if onDst {
			where = append(where, b.dst.nodes[b.dst.owner[sl]])
		}
		if natives != nil {
			where = append(where, natives[si])
		}
		t0 := time.Now()
		if err := src.c.Set(ctx, k, t0.UnixNano(), 0).Err(); err != nil {
			if ctx.Err() != nil {
				break
			}
			return lats, nat, fmt.Errorf("bench: probe SET: %w", err)
		}
		acked := time.Now()
		seen, err := b.waitSeen(k, where, t0)
		if err != nil {
			return lats, nat, err
		}
		if onDst {
			lats = append(lats, seen[0])
		}
		if natives != nil {
			nat = append(nat, seen[len(seen)-1])
		}
		for i, s := range where {
			if seen[i] > time.Second {
				b.logf("    probe %s (slot %d, source %s, on %s): %s (the source acknowledged the SET after %s)", k, sl, src.addr(), s.addr(), seen[i], acked.Sub(t0))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return lats, nat, nil
}

// waitSeen polls EXISTS k on every server of where until it is there on all (30 s
// at most) and returns, per server, the time from t0 until it was seen.
func (b *bench) waitSeen(k string, where []*server, t0 time.Time) ([]time.Duration, error) {
	seen := make([]time.Duration, len(where))
	for left := len(where); left > 0; {
		for i, s := range where {
			if seen[i] != 0 {
				continue
			}
			v, err := s.c.Exists(context.Background(), k).Result()
			if err != nil {
				return seen, fmt.Errorf("bench: probe EXISTS on %s: %w", s.addr(), err)
			}
			if v == 1 {
				seen[i] = time.Since(t0)
				left--
			}
		}
		if left == 0 {
			break
		}
		if time.Since(t0) > 30*time.Second {
			b.logf("    probe %s not everywhere after 30s", k)
			for i := range seen {
				seen[i] = max(seen[i], time.Since(t0))
			}
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	return seen, nil
}

// findMaxRate steps the rate up (×2 while lag stays under 1 s), then bisects between
// the last good and the first bad rate.
func (b *bench) findMaxRate(ctx context.Context, keys [][]string) (good *loadStep, steps []*loadStep, err error) {
	rate := b.cfg.incrStart
	var bad int
	for bad == 0 {
		st, err := b.runLoad(ctx, rate, b.cfg.stepDur, keys, nil)
		if err != nil {
			return good, steps, err
		}
		steps = append(steps, st)
		b.logStep(st)
		if st.ok {
			good = st
			rate *= 2
		} else {
			bad = rate
			if st.achieved < 0.95*float64(rate) {
				// The generator or the sources cannot write faster: the
				// ceiling is theirs, not xsync's. Bisect below it anyway.
				bad = min(rate, int(st.achieved))
			}
		}
		if rate > b.cfg.incrMax {
			return good, steps, nil
		}
	}
	lo := b.cfg.incrStart / 2
	if good != nil {
		lo = good.target
	}
	for i := 0; i < b.cfg.bisect && bad-lo > lo/10; i++ {
		mid := (lo + bad) / 2
		st, err := b.runLoad(ctx, mid, b.cfg.stepDur, keys, nil)
		if err != nil {
			return good, steps, err
		}
		steps = append(steps, st)
		b.logStep(st)
		if st.ok {
			good, lo = st, mid
		} else {
			bad = mid
		}
	}
	return good, steps, nil
}

// trueLag returns the largest difference, over the source masters, between the
// master's replication offset and what xsync reports applied for it (INFO's
// lag_bytes counts from the received offset, so bytes the master has not sent yet
// are not in it).
func (b *bench) trueLag(ctx context.Context, x xsyncInfo) (int64, error) {
	var worst int64
	for _, sh := range x.shards {
		applied, _ := strconv.ParseInt(sh["applied_offset"], 10, 64)
		for _, n := range b.src.nodes {
			if n.addr() != sh["addr"] {
				continue
			}
			info, err := n.c.Info(ctx, "replication").Result()
			if err != nil {
				return 0, err
			}
			off, _ := strconv.ParseInt(infoField(info, "master_repl_offset"), 10, 64)
			worst = max(worst, off-applied)
		}
	}
	return worst, nil
}
