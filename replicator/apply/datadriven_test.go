package apply

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/datadriven"
)

// TestDataDriven runs the retry and order scenarios of testdata/*.txt against
// the scripted fake cluster, through internal/datadriven: each scenario is a
// subtest, each directive prints "ok" or what went wrong.
//
//	subtest <name>
//	cluster nodes=3 [standalone=1] [policy=skip] [inflight=N] [batch=N] [conns=N]
//	fault [node=N] [cmd=NAME] [key=K] [skip=N] [times=N] [once=1] reply="ERRCODE msg"|drop|drop-after|garbage
//	                         (once: each distinct command fails the first time it is seen only)
//	submit src=N n=N cmd=INCR|RPUSH keys=k1,k2,... [pace=N]   (pace: pause 1ms every N ops)
//	move key=K [to=N]        (the key's slot now belongs to node N, default the next: MOVED)
//	migrate key=K [to=N]     (the slot migrates to N, default the next, and K moves: ASK)
//	finish                   (end every migration)
//	drop node=N              (close the node's client connections)
//	flush
//	check                    (counters and lists equal what was submitted; Applied offsets too)
//	stat NAME(=|>|<)N ...    (moved ask tryagain clusterdown loading connlost noscript resent
//	                          rechecked reordered refreshes err.wrongtype err.oom ...)
//	subtest end
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/*.txt", func(t *testing.T, path string) {
		var h ddHarness
		datadriven.RunTest(t, path, h.run)
	})
}

var tokenRE = regexp.MustCompile(`(\w[\w.]*)(=|>|<)("(?:[^"\\]|\\.)*"|\S+)|\S+`)

type directive struct {
	line int
	cmd  string
	args map[string]string
	ops  map[string]string // comparison operator per key (stat)
	rest []string          // tokens without '='
}

func parseLine(n int, s string) directive {
	d := directive{line: n, args: map[string]string{}, ops: map[string]string{}}
	for i, m := range tokenRE.FindAllStringSubmatch(s, -1) {
		if i == 0 {
			d.cmd = m[0]
			continue
		}
		if m[1] == "" {
			d.rest = append(d.rest, m[0])
			continue
		}
		v := m[3]
		if strings.HasPrefix(v, `"`) {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
		}
		d.args[m[1]] = v
		d.ops[m[1]] = m[2]
	}
	return d
}

func (d directive) int(t *testing.T, key string, def int) int {
	v, ok := d.args[key]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("line %d: %s=%q: %v", d.line, key, v, err)
	}
	return n
}

// ddHarness is the state of one scenario: the fake cluster, the applier and the
// workload, created by the cluster directive.
type ddHarness struct {
	c *fakeCluster
	a *Applier
	w *workload
}

func (h *ddHarness) run(t *testing.T, td *datadriven.TestData) string {
	d := parseLine(0, td.Line)
	where := td.Pos
	c, a, w := h.c, h.a, h.w
	switch d.cmd {
	case "cluster":
		c = newFakeCluster(t, d.int(t, "nodes", 3))
		c.cluster = d.args["standalone"] == ""
		a, _, _ = startApplier(t, []string{c.nodes[0].addr}, func(cfg *Config) {
			if d.args["policy"] == "skip" {
				cfg.OnError = PolicySkip
			}
			cfg.InflightCommands = d.int(t, "inflight", 0)
			cfg.BatchCommands = d.int(t, "batch", 0)
			cfg.ConnsPerNode = d.int(t, "conns", 0)
		})
		h.c, h.a, h.w = c, a, newWorkload()
	case "fault":
		c.addFault(&fault{node: d.int(t, "node", -1), cmd: d.args["cmd"], key: d.args["key"],
			skip: d.int(t, "skip", 0), times: d.int(t, "times", 0), reply: d.args["reply"], once: d.args["once"] != ""})
	case "submit":
		keys := strings.Split(d.args["keys"], ",")
		src, pace := d.int(t, "src", 0), d.int(t, "pace", 0)
		for i := 0; i < d.int(t, "n", 1); i++ {
			k := keys[i%len(keys)]
			switch d.args["cmd"] {
			case "INCR":
				w.incr(t, a, src, k)
			case "RPUSH":
				w.rpush(t, a, src, k)
			default:
				t.Fatalf("%s: unknown cmd %q", where, d.args["cmd"])
			}
			if pace > 0 && i%pace == pace-1 {
				time.Sleep(time.Millisecond)
			}
		}
	case "move":
		s := slotOf(d.args["key"])
		c.moveSlot(s, d.int(t, "to", -1))
	case "migrate":
		c.migrateKey(d.args["key"], d.int(t, "to", -1))
	case "finish":
		c.mu.Lock()
		migr := make(map[int]int, len(c.migr))
		for s, to := range c.migr {
			migr[s] = to
		}
		c.mu.Unlock()
		for s, to := range migr {
			c.moveSlot(s, to)
		}
	case "drop":
		c.dropConns(d.int(t, "node", 0))
	case "flush":
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := a.Flush(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: Flush: %v (%s)", where, err, fmtStats(a.Stats()))
		}
	case "check":
		w.checkFake(t, c, a)
	case "stat":
		st := a.Stats()
		var bad []string
		for _, k := range slices.Sorted(maps.Keys(d.args)) {
			want := d.args[k]
			got, ok := statByName(st, k)
			if !ok {
				t.Fatalf("%s: unknown stat %q", where, k)
			}
			n, _ := strconv.ParseUint(want, 10, 64)
			okCmp := map[string]bool{"=": got == n, ">": got > n, "<": got < n}[d.ops[k]]
			if !okCmp {
				bad = append(bad, fmt.Sprintf("stat %s = %d, want %s%s", k, got, d.ops[k], want))
			}
		}
		if len(bad) > 0 {
			return strings.Join(bad, "\n") + "\n(" + fmtStats(st) + ")"
		}
	default:
		t.Fatalf("%s: unknown directive %q", where, d.cmd)
	}
	return "ok"
}

func statByName(s Stats, name string) (uint64, bool) {
	for i := 0; i < NumRetryKinds; i++ {
		if RetryKind(i).String() == name {
			return s.Retries[i], true
		}
	}
	for i := 0; i < NumErrorKinds; i++ {
		if "err."+ErrorKind(i).String() == name {
			return s.Errors[i], true
		}
	}
	m := map[string]uint64{"resent": s.Resent, "rechecked": s.Rechecked, "reordered": s.Reordered,
		"refreshes": s.Refreshes, "applied": s.Applied, "submitted": s.Submitted, "connects": s.Connects}
	v, ok := m[name]
	return v, ok
}
