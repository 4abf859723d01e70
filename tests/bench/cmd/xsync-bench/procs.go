package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the bench started. It runs in its own process group (so a
// redis-server's fork child for BGSAVE is stopped with it) and gets SIGKILL when the
// bench dies (Pdeathsig).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid after done
}

// Pid returns the process id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// procs owns every process the bench starts; stopAll ends them all.
type procs struct {
	mu   sync.Mutex
	list []*proc
}

// start runs bin with args, stdout and stderr into logPath.
func (ps *procs) start(name, logPath, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	ps.mu.Lock()
	ps.list = append(ps.list, p)
	ps.mu.Unlock()
	return p, nil
}

// stop sends SIGTERM to the process group, and SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// A BGSAVE child left behind in the group dies with it.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// stopAll stops every process, in parallel.
func (ps *procs) stopAll() {
	ps.mu.Lock()
	list := append([]*proc(nil), ps.list...)
	ps.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range list {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(3 * time.Second) }()
	}
	wg.Wait()
}

// clkTck is USER_HZ, the unit of the times in /proc/<pid>/stat (100 on every Linux
// port the bench runs on).
const clkTck = 100

// cpuTime returns utime+stime of pid from /proc/<pid>/stat; with children, the
// reaped children's cutime+cstime too (a redis-server's BGSAVE fork child counts
// there once the server has reaped it).
func cpuTime(pid int, children bool) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17.
	if len(f) < 15 {
		return 0, errors.New("bench: short /proc stat")
	}
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	var ticks int64
	for _, k := range idx {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clkTck, nil
}

// cpuSample sums cpuTime over a set of processes.
type cpuSet struct {
	pids     []int
	children []bool
}

func (c *cpuSet) add(pid int, children bool) {
	c.pids = append(c.pids, pid)
	c.children = append(c.children, children)
}

// sample returns the CPU time of each process (0 for one that is gone).
func (c *cpuSet) sample() []time.Duration {
	out := make([]time.Duration, len(c.pids))
	for i, pid := range c.pids {
		out[i], _ = cpuTime(pid, c.children[i])
	}
	return out
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

func diff(a, b []time.Duration) []time.Duration {
	out := make([]time.Duration, len(a))
	for i := range a {
		out[i] = b[i] - a[i]
	}
	return out
}

// statusKB returns a "VmHWM"-style field of /proc/<pid>/status in KiB.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: no %s in /proc/%d/status", field, pid)
}

// machineBusy returns the CPU time the whole machine spent outside idle and iowait
// (first line of /proc/stat), to tell how much other processes disturbed a phase.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are in user already
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clkTck
}

// ioCounts are a process's I/O system calls and bytes (/proc/<pid>/io).
type ioCounts struct{ reads, readBytes, writes, writeBytes int64 }

func (a ioCounts) sub(b ioCounts) ioCounts {
	return ioCounts{a.reads - b.reads, a.readBytes - b.readBytes, a.writes - b.writes, a.writeBytes - b.writeBytes}
}

func (a ioCounts) add(b ioCounts) ioCounts {
	return ioCounts{a.reads + b.reads, a.readBytes + b.readBytes, a.writes + b.writes, a.writeBytes + b.writeBytes}
}

// String prints the calls and their mean size.
func (a ioCounts) String() string {
	per := func(b, n int64) float64 { return float64(b) / 1024 / float64(max(1, n)) }
	return fmt.Sprintf("%d reads of %.1f KiB, %d writes of %.1f KiB", a.reads, per(a.readBytes, a.reads), a.writes, per(a.writeBytes, a.writes))
}

// procIO returns the I/O counts of pid: for a server, how its input arrives
// and its output leaves (a source's BGSAVE child not included).
func procIO(pid int) ioCounts {
	var c ioCounts
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			c.reads = n
		case "rchar":
			c.readBytes = n
		case "syscw":
			c.writes = n
		case "wchar":
			c.writeBytes = n
		}
	}
	return c
}

// parentsCPU sums the CPU time of servers without their children (for a
// source, its main process without the BGSAVE fork child).
func parentsCPU(ss []*server) time.Duration {
	var t time.Duration
	for _, s := range ss {
		d, _ := cpuTime(s.p.Pid(), false)
		t += d
	}
	return t
}

// serversIO sums procIO over servers.
func serversIO(ss []*server) ioCounts {
	var c ioCounts
	for _, s := range ss {
		c = c.add(procIO(s.p.Pid()))
	}
	return c
}
