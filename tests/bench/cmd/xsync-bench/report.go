package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report collects the figures of one run and prints them as a table.
type report struct {
	cfg           config
	srcKeys       int64
	srcUsed       int64
	restore       *restoreResult
	native        *nativeResult
	full          *fullSyncResult
	runs          []fullSyncRun // every full sync, when --xsync or --repeat asked for several
	steps         []*loadStep
	maxRate       *loadStep
	ceiling       *loadStep // the Go writers unthrottled, xsync following
	redisBench    *loadStep // redis-benchmark unthrottled, xsync following
	nativeCeiling *loadStep // the Go writers unthrottled, native replicas following (xsync stopped)
	half          *loadStep
	halfNative    *loadStep // the half-rate run again, probing native replicas too
	finalRSSKiB   int64
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nxsync-bench: %d keys (tests/loadgen.Fill", r.srcKeys)
	if r.cfg.bigKeys > 0 {
		fmt.Fprintf(w, ", %d big-key sets of %d elements", r.cfg.bigKeys, r.cfg.bigLen)
	}
	fmt.Fprintf(w, "), source used_memory %.0f MiB, 3 -> 3 masters on loopback\n\n", mib(r.srcUsed))
	row := func(cols ...string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | ")) }
	row("figure", "xsync", "reference", "ratio", "target", "met")
	row("---", "---:", "---:", "---:", "---", "---")
	f := r.full
	if f == nil {
		return
	}
	ref, ratio, met := "-", "-", "-"
	if r.native != nil {
		ref = fmt.Sprintf("%.2f s native replication", r.native.seconds)
		ratio = fmt.Sprintf("%.2fx", f.seconds/r.native.seconds)
		met = yesNo(f.seconds <= 1.5*r.native.seconds)
	}
	row("full sync time", fmt.Sprintf("%.2f s", f.seconds), ref, ratio, "<= 1.5x native", met)
	ref, ratio = "-", "-"
	if r.restore != nil {
		ref = fmt.Sprintf("%.0f keys/s RESTORE ceiling", float64(r.restore.keys)/r.restore.seconds)
		ratio = fmt.Sprintf("%.2f", float64(f.keys)/f.seconds/(float64(r.restore.keys)/r.restore.seconds))
	}
	row("full sync keys/s", fmt.Sprintf("%.0f", float64(f.keys)/f.seconds), ref, ratio, "-", "-")
	ref, ratio = "-", "-"
	if r.restore != nil {
		ref = fmt.Sprintf("%.1f MB/s of DUMP payloads", float64(r.restore.bytes)/1e6/r.restore.seconds)
		ratio = fmt.Sprintf("%.2f", (float64(f.bytes)/f.seconds)/(float64(r.restore.bytes)/r.restore.seconds))
	}
	row("full sync MB/s (snapshot bytes)", fmt.Sprintf("%.1f", float64(f.bytes)/1e6/f.seconds), ref, ratio, "-", "-")
	ref = "-"
	if r.native != nil {
		ref = fmt.Sprintf("%.2f s all CPU of native replication", r.native.allCPU.Seconds())
	}
	row("xsync CPU during full sync", fmt.Sprintf("%.2f s", f.xsyncCPU.Seconds()), ref, "-", "-", "-")
	share := f.xsyncCPU.Seconds() / f.allCPU.Seconds()
	row("xsync share of all CPU in full sync", fmt.Sprintf("%.0f%%", 100*share),
		fmt.Sprintf("%.2f s all CPU (xsync + 6 redis-server)", f.allCPU.Seconds()), "-", "<= 25%", yesNo(share <= 0.25))
	rssTarget, rssMet := "<= 150 MiB on 1M keys", yesNo(mib(f.peakRSSKiB*1024) <= 150)
	if r.srcKeys < 1000000 {
		rssMet += " (fewer keys)"
	}
	row("xsync peak RSS (VmHWM) at end of full sync", fmt.Sprintf("%.0f MiB", mib(f.peakRSSKiB*1024)), "-", "-", rssTarget, rssMet)
	if r.maxRate != nil {
		row("incremental max rate with lag < 1 s", fmt.Sprintf("%d cmd/s (achieved %.0f)", r.maxRate.target, r.maxRate.achieved), "-", "-", "-", "-")
	} else if len(r.steps) > 0 {
		row("incremental max rate with lag < 1 s", fmt.Sprintf("below %d cmd/s", r.cfg.incrStart), "-", "-", "-", "-")
	}
	r.printCeilings(row)
	if h := r.half; h != nil {
		ref, ratio := "-", "-"
		if hn := r.halfNative; hn != nil && len(hn.native) > 0 {
			ref = fmt.Sprintf("%s / %s native replica (xsync %s / %s in that run)", ms(pct(hn.native, 0.5)), ms(pct(hn.native, 0.99)), ms(hn.pct(0.5)), ms(hn.pct(0.99)))
			ratio = fmt.Sprintf("%.1fx p99", float64(hn.pct(0.99))/float64(max(1, pct(hn.native, 0.99))))
		}
		row(fmt.Sprintf("end-to-end lag at half the max rate (%d cmd/s), p50 / p99 (max)", h.target),
			ms(h.pct(0.5))+" / "+ms(h.pct(0.99))+" ("+ms(h.pct(1))+")", ref, ratio, "p99 < 100 ms", yesNo(h.pct(0.99) < 100*time.Millisecond))
		ls := slices.Clone(h.lagSecs)
		slices.Sort(ls)
		if len(ls) > 0 {
			row("INFO lag_seconds at half the max rate, p50 / p99", fmt.Sprintf("%.3f / %.3f s", ls[len(ls)/2], ls[min(len(ls)-1, len(ls)*99/100)]), "-", "-", "-", "-")
		}
		row("xsync CPU at half the max rate", fmt.Sprintf("%.2f cores", h.xsyncCPU.Seconds()/h.elapsed.Seconds()), "-", "-", "-", "-")
	}
	if r.finalRSSKiB > 0 {
		row("xsync peak RSS at the end of the run", fmt.Sprintf("%.0f MiB", mib(r.finalRSSKiB*1024)), "-", "-", "-", "-")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "full sync: first key applied after %.2f s; %d keys applied, %d snapshot bytes; destination %d keys (+%d xsync checkpoint keys)\n",
		f.firstKey, f.keys, f.bytes, f.dstKeys, f.internalKeys)
	names := make([]string, 0, len(f.perProcCPU))
	for n := range f.perProcCPU {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "other processes on the machine during the full sync: %.2f CPU-s (%.0f%% of %d CPUs; includes the bench)\n",
		f.otherCPU.Seconds(), 100*f.otherCPU.Seconds()/f.seconds/float64(runtime.NumCPU()), runtime.NumCPU())
	fmt.Fprintf(w, "CPU seconds during the full sync:")
	for _, n := range names {
		fmt.Fprintf(w, " %s %.2f;", n, f.perProcCPU[n].Seconds())
	}
	fmt.Fprintln(w)
	printRuns(w, r.runs)
	if r.restore != nil {
		fmt.Fprintf(w, "RESTORE ceiling: %d keys, %.1f MB of payloads in %.2f s; destination CPU %.2f s; other processes %.2f CPU-s (bench included)\n",
			r.restore.keys, float64(r.restore.bytes)/1e6, r.restore.seconds, r.restore.allCPU.Seconds(), r.restore.other.Seconds())
	}
	if r.native != nil {
		fmt.Fprintf(w, "native replication: %d keys in %.2f s; CPU %.2f s (3 sources incl. fork children %.2f, 3 replicas %.2f); other processes %.2f CPU-s\n",
			r.native.keys, r.native.seconds, r.native.allCPU.Seconds(), r.native.srcCPU.Seconds(), (r.native.allCPU - r.native.srcCPU).Seconds(), r.native.other.Seconds())
		fmt.Fprintf(w, "      replicas: %s; sources: %s; sources without fork children %.2f CPU-s\n", r.native.repIO, r.native.srcIO, r.native.srcPar.Seconds())
	}
	if len(r.steps) > 0 {
		fmt.Fprintln(w, "incremental steps (SET, pipelined, over the 3 source masters):")
		for _, s := range append(slices.Clone(r.steps), r.ceiling, r.redisBench, r.half, r.halfNative, r.nativeCeiling) {
			if s == nil {
				continue
			}
			what := fmt.Sprintf("%7d/s asked", s.target)
			if s.label != "" {
				what = s.label
			}
			fmt.Fprintf(w, "  %s, %8.0f/s achieved: %s; cores: %s; %s\n", what, s.achieved, s.lagText(), s.coresText(),
				map[bool]string{true: "ok", false: "lag >= 1 s or rate not reached"}[s.ok])
		}
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// printCeilings prints the rows of the unthrottled steps: how fast each load
// generator drives the sources and whether xsync, or native replication, keeps up.
func (r *report) printCeilings(row func(cols ...string)) {
	ratio := func(s *loadStep) string {
		if r.maxRate == nil || s.achieved <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(r.maxRate.target)/s.achieved)
	}
	xsyncLag := func(s *loadStep) string {
		return fmt.Sprintf("probe p99 %s (max %s), INFO lag_seconds max %.3f", ms(s.pct(0.99)), ms(s.pct(1)), s.maxLagSec)
	}
	if c := r.ceiling; c != nil {
		row("load generator unthrottled, xsync following: rate, xsync's lag", fmt.Sprintf("%.0f cmd/s, %s", c.achieved, xsyncLag(c)),
			"incremental max rate / this rate", ratio(c), "keeps up (lag < 1 s)", yesNo(c.ok))
	}
	if n := r.nativeCeiling; n != nil {
		lag := fmt.Sprintf("probe p99 %s (max %s), source offset - replica offset max %d B", ms(pct(n.native, 0.99)), ms(pct(n.native, 1)), n.maxNativeLag)
		row("load generator unthrottled, native replicas following: rate, replicas' lag", fmt.Sprintf("%.0f cmd/s, %s", n.achieved, lag),
			"incremental max rate / this rate", ratio(n), "keeps up (lag < 1 s)", yesNo(n.ok))
	}
	if rb := r.redisBench; rb != nil {
		row("redis-benchmark unthrottled, xsync following: rate, xsync's lag", fmt.Sprintf("%.0f cmd/s, %s", rb.achieved, xsyncLag(rb)),
			"incremental max rate / this rate", ratio(rb), "keeps up (lag < 1 s)", yesNo(rb.ok))
	}
}
