package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
)

// The bench can run xsync's full sync several times on the same data: --xsync takes
// a comma-separated list of binaries and --repeat runs each that many times,
// interleaved (a b a b ...), so that two builds are compared on the same snapshot
// in the same machine conditions. Between two runs xsync is stopped and the
// destination emptied. The table reports the last run; compareLines lists them all.

// xsyncBins returns the binaries named by --xsync.
func (c *config) xsyncBins() []string {
	var out []string
	for _, s := range strings.Split(c.xsync, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fullSyncRun is one full sync of a comparison.
type fullSyncRun struct {
	bin string
	r   *fullSyncResult
}

// resetDestination stops the running xsync and empties the destination, so that
// the next full sync starts from the same state as the first.
func (b *bench) resetDestination(ctx context.Context) error {
	if b.xsync != nil {
		b.xsync.stop(10 * time.Second)
		b.xsync = nil
	}
	for _, s := range b.dst.nodes {
		if err := s.c.FlushAll(ctx).Err(); err != nil {
			return fmt.Errorf("bench: FLUSHALL %s: %w", s.addr(), err)
		}
	}
	// A BGSAVE for the stopped xsync may still run: the next one would wait for it.
	noBgsave(ctx, b.src.nodes)
	return nil
}

// printRuns prints one line per full sync of a comparison: time and CPU seconds
// per group of processes.
func printRuns(w io.Writer, runs []fullSyncRun) {
	fmt.Fprintln(w, "full sync runs (CPU seconds; system calls of the destination servers and of the sources, fork children left out):")
	for i, run := range runs {
		r := run.r
		var src, dst time.Duration
		for n, d := range r.perProcCPU {
			switch {
			case strings.HasPrefix(n, "source "):
				src += d
			case strings.HasPrefix(n, "dest "):
				dst += d
			}
		}
		fmt.Fprintf(w, "  %d %s: %.2f s; xsync %.2f sources %.2f destinations %.2f all %.2f; others %.2f; peak RSS %.0f MiB; keys %d\n      destinations: %s; sources: %s; sources without fork children %.2f CPU-s\n",
			i+1, run.bin, r.seconds, r.xsyncCPU.Seconds(), src.Seconds(), dst.Seconds(), r.allCPU.Seconds(),
			r.otherCPU.Seconds(), mib(r.peakRSSKiB*1024), r.dstKeys, r.dstIO, r.srcIO, r.srcParentCPU.Seconds())
	}
}

// slowDestinations stops every destination server (SIGSTOP) for frac of each
// 20 ms period until the returned function is called: a destination slower than
// xsync, to measure xsync's memory when it has to wait (--slow-dest).
func (b *bench) slowDestinations(frac float64) (stop func()) {
	if frac <= 0 {
		return func() {}
	}
	const period = 20 * time.Millisecond
	off := time.Duration(float64(period) * min(frac, 0.95))
	done := make(chan struct{})
	finished := make(chan struct{})
	pids := make([]int, 0, len(b.dst.nodes))
	for _, s := range b.dst.nodes {
		pids = append(pids, s.p.Pid())
	}
	signal := func(sig syscall.Signal) {
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
	}
	go func() { // owned: stop waits for it
		defer close(finished)
		defer signal(syscall.SIGCONT)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			signal(syscall.SIGSTOP)
			time.Sleep(off)
			signal(syscall.SIGCONT)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		select {
		case <-done:
		default:
			close(done)
		}
		<-finished
	}
}
