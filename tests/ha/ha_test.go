// Package ha tests xsync active/standby end to end: two xsync processes campaign
// for one Lease (served by a minimal stand-in of the Kubernetes API, in the test)
// and replicate between real Redis clusters. A leader that is frozen (SIGSTOP:
// a long pause, or a partition from the API server) is replaced by the standby,
// and when it wakes up it cannot write any more (fenced); a leader that crashes
// (SIGKILL) is replaced too. Under a load whose double application would show,
// the destination ends equal to the source: exactly once across both takeovers.
package ha

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

const (
	leaseName     = "xsync-ha-test"
	leaseDuration = 3 * time.Second
)

func waitInfo(t *testing.T, p *xsynctest.Proc, timeout time.Duration, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	return p.WaitInfo(t, timeout, what, ok)
}

func role(want string) func(map[string]string) bool {
	return func(m map[string]string) bool { return m["ha_role"] == want }
}

// exitCode waits for p to exit and returns its exit code.
func exitCode(t *testing.T, p *xsynctest.Proc, timeout time.Duration, what string) int {
	t.Helper()
	select {
	case err := <-p.Done:
		p.Done <- err
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		default:
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(timeout):
		t.Fatalf("%s: still running after %v", what, timeout)
	}
	return -1
}

func readLog(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fullSyncs sums full_syncs over the shard lines of an INFO map.
func fullSyncs(m map[string]string) int {
	n := 0
	for k, v := range m {
		if !strings.HasPrefix(k, "shard") || k == "shards" {
			continue
		}
		for _, f := range strings.Split(v, ",") {
			if s, ok := strings.CutPrefix(f, "full_syncs="); ok {
				x, _ := strconv.Atoi(s)
				n += x
			}
		}
	}
	return n
}

var killedRE = regexp.MustCompile(`fence taken.*connections_killed=(\d+)`)

func TestActiveStandbyFenceAndTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	bin := xsynctest.Build(t)
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{Config: []string{"repl-backlog-size 64mb"}}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 20000}); err != nil {
		t.Fatal(err)
	}
	ls := startLeaseServer(t)
	kubeconfig := ls.kubeconfig(t)
	srcURL, dstURL := "redis://"+src.Seeds(), "redis://"+dst.Seeds()
	dir := t.TempDir()
	logs := map[string]string{}
	start := func(name, identity string) *xsynctest.Proc {
		logFile := filepath.Join(dir, name+".log")
		logs[name] = logFile
		return xsynctest.StartSync(t, bin, srcURL, dstURL, logFile,
			"--ha-lease", leaseName, "--ha-namespace", "xsync", "--ha-identity", identity, "--kubeconfig", kubeconfig,
			"--ha-lease-duration", leaseDuration.String(), "--ha-renew-deadline", "2s", "--ha-retry-period", "250ms")
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for name, f := range logs {
			b, _ := os.ReadFile(f)
			lines := strings.Split(string(b), "\n")
			t.Logf("%s log (last lines):\n%s", name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})

	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wdone := make(chan *loadgen.Stats, 1)
	go func() {
		st, _ := loadgen.Run(wctx, src.Client(), loadgen.WorkOptions{NonIdempotentOnly: true, Assignments: true, Clients: 4, Rate: 2000})
		wdone <- st
	}()
	// Beside it, writes with per-key sequences: the checker names each one lost or
	// applied twice.
	hdone := make(chan *loadgen.History, 1)
	go func() { hdone <- loadgen.RunHistory(wctx, src.Client(), loadgen.HistoryOptions{Clients: 2, Rate: 500}) }()

	// A leads and syncs; B stands by and follows nothing.
	a := start("a", "pod-a")
	waitInfo(t, a, 30*time.Second, "pod-a leads", role("leader"))
	waitInfo(t, a, 2*time.Minute, "pod-a streams", func(m map[string]string) bool { return m["state"] == "stream" })
	b := start("b", "pod-b")
	waitInfo(t, b, 30*time.Second, "pod-b stands by", func(m map[string]string) bool {
		return m["ha_role"] == "standby" && m["ha_leader"] == "pod-a"
	})
	time.Sleep(time.Second)
	mb, _ := b.Info(ctx)
	if mb["shards"] != "0" || mb["state"] != "standby" {
		t.Fatalf("the standby follows %s source shards in state %q, want 0 in state standby", mb["shards"], mb["state"])
	}
	if h, _ := ls.holder("xsync", leaseName); h != "pod-a" {
		t.Fatalf("lease holder %q, want pod-a", h)
	}

	// A freezes (a long pause, or cut off from the API server): B takes over
	// from the checkpoints, and fences A off the destination.
	if err := a.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	waitInfo(t, b, 30*time.Second, "pod-b takes over", role("leader"))
	tookOver := time.Since(frozen)
	mb = waitInfo(t, b, time.Minute, "pod-b streams", func(m map[string]string) bool {
		return m["state"] == "stream" && m["shards"] == "3"
	})
	if n := fullSyncs(mb); n != 0 {
		t.Errorf("pod-b made %d full syncs after taking over, want 0 (resume from the checkpoints)", n)
	}
	match := killedRE.FindStringSubmatch(readLog(t, logs["b"]))
	if match == nil {
		t.Fatal("pod-b did not log taking the fence")
	}
	if killed, _ := strconv.Atoi(match[1]); killed < 3 {
		t.Errorf("pod-b's fence killed %d connections of pod-a, want at least one per destination master (3)", killed)
	}
	t.Logf("pod-a frozen: pod-b led after %v (lease duration %v), killed %s of pod-a's connections, resumed with 0 full syncs",
		tookOver.Round(time.Millisecond), leaseDuration, match[1])

	// A wakes up with the sources' writes of the pause in its sockets: it must
	// not apply them, and must stop with exit code 4.
	woke := time.Now()
	if err := a.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, a, time.Minute, "pod-a after waking up"); code != 4 {
		t.Fatalf("pod-a exited with %d, want 4 (lost the lead)", code)
	}
	alog := readLog(t, logs["a"])
	fenced := strings.Contains(alog, "fenced: another xsync process leads")
	if !fenced && !strings.Contains(alog, "lost the lease") {
		t.Fatal("pod-a's log says neither that it was fenced nor that it lost the lease")
	}
	t.Logf("pod-a woke up and stopped after %v (exit 4; refused by the fence: %v)", time.Since(woke).Round(time.Millisecond), fenced)

	// A comes back as a standby; then B crashes and A takes over again.
	a2 := start("a2", "pod-a")
	waitInfo(t, a2, 30*time.Second, "pod-a (restarted) stands by", func(m map[string]string) bool {
		return m["ha_role"] == "standby" && m["ha_leader"] == "pod-b"
	})
	if err := b.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	crashed := time.Now()
	waitInfo(t, a2, 30*time.Second, "pod-a takes over from the crashed pod-b", role("leader"))
	t.Logf("pod-b killed -9: pod-a led after %v", time.Since(crashed).Round(time.Millisecond))

	time.Sleep(2 * time.Second)
	wcancel()
	ws := <-wdone
	hist := <-hdone
	t.Logf("workload: %d writes acknowledged, %d with sequences", ws.Ops.Load(), hist.Acked.Load())
	var masters []*redis.Client
	for _, m := range src.Masters() {
		masters = append(masters, m.Client())
	}
	a2.WaitCaughtUp(t, masters, 2*time.Minute)
	hrep, err := hist.Check(ctx, src.Client(), dst.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !hrep.OK() {
		var b strings.Builder
		hrep.WriteReport(&b)
		t.Errorf("history after two takeovers:\n%s", b.String())
	}
	t.Logf("history: %s", hrep.Summary())
	res, err := verify.Run(ctx, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 3, RoundDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() {
		var rep strings.Builder
		res.WriteReport(&rep)
		t.Fatalf("destination differs from source after two takeovers:\n%s", rep.String())
	}
	t.Logf("equal after a fenced takeover and a crash takeover: %d keys", res.SourceKeys)

	if err := a2.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, a2, 15*time.Second, "pod-a after SIGTERM"); code != 0 {
		t.Fatalf("pod-a exited with %d after SIGTERM, want 0", code)
	}
	if h, _ := ls.holder("xsync", leaseName); h != "" {
		t.Errorf("after a clean stop the lease is still held by %q, want it released", h)
	}
}
