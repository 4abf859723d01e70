package cutover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

type cutoverCase struct {
	name     string
	setup    []string
	expected []string
	line     int
}

func readCutoverCases(t *testing.T, path string) []cutoverCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []cutoverCase
	var cur *cutoverCase
	inExpected := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "case "):
			cases = append(cases, cutoverCase{name: strings.TrimPrefix(line, "case "), line: n})
			cur, inExpected = &cases[len(cases)-1], false
		case cur == nil:
		case line == "----":
			inExpected = true
		case line == "":
			if inExpected {
				cur = nil
			}
		case inExpected:
			cur.expected = append(cur.expected, line)
		default:
			cur.setup = append(cur.setup, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCutoverDataDriven runs testdata/cutover.txt.
func TestCutoverDataDriven(t *testing.T) {
	for _, tc := range readCutoverCases(t, "testdata/cutover.txt") {
		t.Run(tc.name, func(t *testing.T) {
			got := runCutoverCase(t, tc)
			if len(got) != len(tc.expected) {
				t.Fatalf("testdata/cutover.txt:%d: events\n%s\nwant\n%s", tc.line, strings.Join(got, "\n"), strings.Join(tc.expected, "\n"))
			}
			for i := range got {
				want := tc.expected[i]
				ok := got[i] == want
				if strings.HasPrefix(want, "error: ") { // errors match by substring
					ok = strings.HasPrefix(got[i], "error: ") && strings.Contains(got[i], strings.TrimPrefix(want, "error: "))
				}
				if !ok {
					t.Fatalf("testdata/cutover.txt:%d: event %d = %q, want %q\nall:\n%s", tc.line, i, got[i], want, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func runCutoverCase(t *testing.T, tc cutoverCase) []string {
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
	for _, line := range tc.setup {
		f := strings.Fields(line)
		bad := func() { t.Fatalf("testdata/cutover.txt: case %s: bad line %q", tc.name, line) }
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
