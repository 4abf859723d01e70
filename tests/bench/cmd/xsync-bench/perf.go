package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// perfRecord samples pid's stacks with `perf record -g` into dir/name.data until the
// returned stop is called (opt-in: --perf DIR; perf costs the process a few percent).
// Read the result with `perf report -i DIR/NAME.data --no-children`.
func (b *bench) perfRecord(name string, pid int) (stop func()) {
	if b.cfg.perfDir == "" {
		return func() {}
	}
	bin, err := exec.LookPath("perf")
	if err != nil {
		b.logf("--perf: %v", err)
		return func() {}
	}
	out := filepath.Join(b.cfg.perfDir, name+".data")
	p, err := b.procs.start("perf "+name, filepath.Join(b.dir, "perf-"+name+".log"), bin,
		"record", "-F", "499", "-g", "-o", out, "-p", strconv.Itoa(pid))
	if err != nil {
		b.logf("--perf: %v", err)
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { stopPerf(p, name, out) }) }
}

func stopPerf(p *proc, name, out string) {
	{
		_ = syscall.Kill(p.Pid(), syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.stop(time.Second)
		}
		fmt.Fprintf(os.Stderr, "perf profile of %s: perf report -i %s --no-children\n", name, out)
	}
}
