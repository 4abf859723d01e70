package cutover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/datadriven"
	"github.com/xsync/xsync/replicator"
)

// fakeGate records the calls of a cutover.
type fakeGate struct {
	mu      sync.Mutex
	events  *[]string
	holdErr error
}

func (g *fakeGate) add(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	*g.events = append(*g.events, s)
}
func (g *fakeGate) Hold(context.Context) error { g.add("gate: hold"); return g.holdErr }
func (g *fakeGate) Switch() error              { g.add("gate: switch"); return nil }
func (g *fakeGate) Rollback() error            { g.add("gate: rollback"); return nil }

// fakeShard is one shard of the scripted Status: applied becomes then from the
// poll-th call of Status on.
type fakeShard struct {
	index         int
	addr          string
	state         replicator.State
	applied, then int64
	poll          int
}

// TestCutoverDataDriven runs testdata/cutover.txt through internal/datadriven
// (go test -run TestCutoverDataDriven -rewrite writes the events again). Every
// directive is "case <name>", its input the setup lines and its output the events;
// each case runs in a subtest of that name. An expected "error: ..." line matches
// any error that contains its text, so a case may name only the stable part.
func TestCutoverDataDriven(t *testing.T) {
	datadriven.RunTest(t, "testdata/cutover.txt", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "case" || len(d.Rest) != 1 || len(d.Args) != 0 {
			d.Fatalf(t, "want \"case <name>\", got %q", d.Line)
		}
		var got []string
		ran := false
		t.Run(d.Rest[0], func(t *testing.T) {
			ran = true
			got = runCutoverCase(t, d)
		})
		if !ran { // filtered out by -run: keep what the file says
			return d.Expected
		}
		return strings.Join(matchErrors(got, d.Expected), "\n")
	})
}

// matchErrors replaces each error event of got by the expected line at the same
// place when the expected one is an "error: " line whose text the event contains.
func matchErrors(got []string, expected string) []string {
	want := strings.Split(expected, "\n")
	for i, g := range got {
		if i < len(want) && strings.HasPrefix(want[i], "error: ") && strings.HasPrefix(g, "error: ") &&
			strings.Contains(g, strings.TrimPrefix(want[i], "error: ")) {
			got[i] = want[i]
		}
	}
	return got
}

func runCutoverCase(t *testing.T, d *datadriven.TestData) []string {
	t.Helper()
	var events []string
	gate := &fakeGate{events: &events}
	var (
		mu      sync.Mutex
		shards  []*fakeShard
		polls   int
		offsets = map[string]string{}
		markErr error
	)
	status := func() replicator.Status {
		mu.Lock()
		defer mu.Unlock()
		polls++
		var st replicator.Status
		for _, s := range shards {
			applied := s.applied
			if s.poll > 0 && polls >= s.poll {
				applied = s.then
			}
			st.Shards = append(st.Shards, replicator.ShardStatus{Index: s.index, Addr: s.addr, State: s.state, AppliedOffset: applied})
		}
		return st
	}
	co, err := New(Config{
		Status: status, Gate: gate, Poll: time.Millisecond, Logger: quietLogger(),
		SourceOffset: func(_ context.Context, addr string) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			v, ok := offsets[addr]
			if !ok || v == "error" {
				return 0, fmt.Errorf("%s: unreachable", addr)
			}
			return strconv.ParseInt(v, 10, 64)
		},
		Mark:     func(context.Context, time.Time) error { return markErr },
		OnSwitch: func() error { gate.add("replicator: pause"); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(d.Input, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		bad := func() { d.Fatalf(t, "case %s: bad line %q", d.Rest[0], line) }
		switch {
		case f[0] == "shard" && len(f) == 5:
			s := &fakeShard{addr: f[2], state: replicator.State(f[3])}
			s.index, _ = strconv.Atoi(f[1])
			a, then, has := strings.Cut(f[4], "@")
			s.applied, _ = strconv.ParseInt(a, 10, 64)
			if has {
				p, v, _ := strings.Cut(then, "=")
				s.poll, _ = strconv.Atoi(p)
				s.then, _ = strconv.ParseInt(v, 10, 64)
			}
			shards = append(shards, s)
		case f[0] == "source" && len(f) == 3:
			offsets[f[1]] = f[2]
		case line == "gate hold-error":
			gate.holdErr = errors.New("writes still in flight")
		case line == "mark error":
			markErr = errors.New("READONLY")
		case f[0] == "follower" && len(f) == 4:
			e, _ := strconv.ParseInt(f[3], 10, 64)
			if e == 0 {
				e = co.Info().Epoch + 1
			}
			co.Report(f[1], FollowerState(f[2]), e)
		case (f[0] == "run" || f[0] == "run-again") && len(f) == 2:
			d, err := time.ParseDuration(f[1])
			if err != nil {
				bad()
			}
			res, err := co.Run(context.Background(), d)
			if len(res.Offsets) > 0 {
				var parts []string
				for i, o := range res.Offsets {
					parts = append(parts, fmt.Sprintf("%d=%d", i, o))
				}
				sort.Strings(parts)
				// The offsets line comes before the pause, the switch or the rollback.
				at := len(events)
				for at > 0 && (events[at-1] == "gate: switch" || events[at-1] == "gate: rollback" || events[at-1] == "replicator: pause") {
					at--
				}
				events = append(events[:at], append([]string{"offsets: " + strings.Join(parts, " ")}, events[at:]...)...)
			}
			if err != nil {
				events = append(events, "error: "+err.Error())
			} else if res.Pause <= 0 {
				events = append(events, "error: no pause recorded")
			}
			events = append(events, "state: "+string(co.Info().State))
		default:
			bad()
		}
	}
	return events
}

func TestCutoverMarkDone(t *testing.T) {
	co, err := New(Config{Status: func() replicator.Status { return replicator.Status{} }, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	co.MarkDone()
	if st, e := co.Report("f", FollowerOpen, 0); st != StateDone || e != 1 {
		t.Fatalf("a follower is told %s %d, want done 1", st, e)
	}
	if _, err := co.Run(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "already done") {
		t.Fatalf("Run after MarkDone: %v", err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
