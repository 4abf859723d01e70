// Package merge tests several sources merged into one destination: each
// source's sync puts its keys under its own --key-prefix, so a FLUSHALL in one
// source, a forced resync of another and a kill -9 of a third's xsync leave the
// other sources' keys on the destination untouched, and the union of the
// sources stays equal to the destination. Without prefixes a job on the shared
// destination refuses to start with --flush apply.
package merge

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/tests/loadgen"
)

// member is one source, its sync and its prefix on the destination.
type member struct {
	name, prefix, internal string
	url                    string
	client                 redis.UniversalClient
	masters                []*redis.Client
	log                    string
	proc                   *xsynctest.Proc
}

func (m *member) start(t *testing.T, bin, dst string) {
	m.proc = xsynctest.StartSync(t, bin, m.url, dst, m.log,
		"--internal-prefix", m.internal, "--key-prefix", m.prefix)
}

// applied waits until m's xsync has applied n more ops than when it is
// called (the writers keep going across a fault).
func (m *member) applied(t *testing.T, n int64) func() {
	t.Helper()
	ops := func(i map[string]string) int64 { v, _ := strconv.ParseInt(i["ops_applied"], 10, 64); return v }
	base := ops(m.proc.WaitInfo(t, 30*time.Second, m.name+" answers INFO", func(map[string]string) bool { return true }))
	return func() {
		t.Helper()
		m.proc.WaitInfo(t, 60*time.Second, fmt.Sprintf("%s applies %d more ops", m.name, n), func(i map[string]string) bool { return ops(i) >= base+n })
	}
}

func (m *member) caughtUp(t *testing.T) {
	t.Helper()
	m.proc.WaitCaughtUp(t, m.masters, 90*time.Second)
}

// load writes to every source until stop is called.
func load(t *testing.T, ms []*member) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(ms))
	for i, m := range ms {
		go func() {
			defer func() { done <- struct{}{} }()
			loadgen.Run(ctx, m.client, loadgen.WorkOptions{Prefix: "w:", Clients: 2, Rate: 150, Seed: uint64(i + 1), NoScripts: true})
		}()
	}
	return func() {
		cancel()
		for range ms {
			<-done
		}
	}
}

// lost counts the keys of m's source that are missing on the destination under
// m's prefix.
func lost(ctx context.Context, t *testing.T, m *member, dst *redis.ClusterClient) (keys, missing int) {
	t.Helper()
	scan := func(ctx context.Context, n *redis.Client) error {
		var cursor uint64
		for {
			ks, next, err := n.Scan(ctx, cursor, "", 1000).Result()
			if err != nil {
				return err
			}
			for _, k := range ks {
				keys++
				if dst.Exists(ctx, m.prefix+k).Val() == 0 && n.Exists(ctx, k).Val() == 1 {
					missing++
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	if len(m.masters) == 1 {
		err = scan(ctx, m.masters[0])
	} else {
		for _, c := range m.masters {
			if err = scan(ctx, c); err != nil {
				break
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return keys, missing
}

func runCLI(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	return 0, string(out)
}

// TestMergeThreeSources: two standalone sources and a 3-master cluster merged
// into a 3-master destination under "a:", "b:" and "c:", with writers on all
// three. In turn: FLUSHALL on a, a forced resync of b (its 16 kB backlog
// overrun while its xsync is stopped, keys deleted meanwhile), kill -9 of c's
// xsync and a restart. After each the union verify is equal and no key of
// another source is missing; a fourth job without a prefix refuses to start.
func TestMergeThreeSources(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	ctx := context.Background()
	bin := xsynctest.Build(t)
	srcA := redistest.Start(t, redistest.Options{})
	srcB := redistest.Start(t, redistest.Options{Config: []string{"repl-backlog-size 16kb", "repl-diskless-sync-delay 0"}})
	srcC := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{Config: []string{"repl-diskless-sync-delay 0"}}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dir := t.TempDir()
	var cMasters []*redis.Client
	for _, s := range srcC.Masters() {
		cMasters = append(cMasters, s.Client())
	}
	ms := []*member{
		{name: "a", prefix: "a:", internal: "__xa:", url: srcA.URL(), client: srcA.Client(), masters: []*redis.Client{srcA.Client()}},
		{name: "b", prefix: "b:", internal: "__xb:", url: srcB.URL(), client: srcB.Client(), masters: []*redis.Client{srcB.Client()}},
		{name: "c", prefix: "c:", internal: "__xc:", url: "redis://" + srcC.Seeds(), client: srcC.Client(), masters: cMasters},
	}
	const keys = 2000
	for i, m := range ms {
		m.log = filepath.Join(dir, m.name+".log")
		if err := loadgen.Fill(ctx, m.client, loadgen.FillOptions{Keys: keys, Seed: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range ms {
				b, _ := os.ReadFile(m.log)
				lines := strings.Split(string(b), "\n")
				t.Logf("xsync %s log (last lines):\n%s", m.name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	dstURL := "redis://" + dst.Seeds()
	for _, m := range ms {
		m.start(t, bin, dstURL) // one after the other: each finds the ones before in the registry
		m.caughtUp(t)
	}
	info := ms[0].proc.WaitInfo(t, 30*time.Second, "a sees the other jobs", func(m map[string]string) bool { return m["dest_jobs"] == "2" })
	if info["dest_shared"] != "1" || !strings.Contains(info["dest_job0"], "key_prefix=b:") {
		t.Errorf("INFO of a: dest_shared=%q dest_job0=%q", info["dest_shared"], info["dest_job0"])
	}

	verifyArgs := []string{"verify", "--target", dstURL, "--rounds", "3"}
	for _, m := range ms {
		verifyArgs = append(verifyArgs, "--source", m.url, "--key-prefix", m.prefix)
	}
	check := func(fault string, victim *member) {
		t.Helper()
		for _, m := range ms {
			m.caughtUp(t)
		}
		if code, out := runCLI(t, bin, verifyArgs...); code != 0 {
			t.Fatalf("after %s: union verify exit %d:\n%s", fault, code, out)
		}
		for _, m := range ms {
			n, missing := lost(ctx, t, m, dst.Client())
			t.Logf("after %s: source %s has %d keys, %d missing on the destination under %q", fault, m.name, n, missing, m.prefix)
			if missing > 0 && m != victim {
				t.Errorf("after %s: %d keys of %s lost", fault, missing, m.name)
			}
		}
	}

	// 1. FLUSHALL on a, under load: only a: keys go.
	stop := load(t, ms)
	if err := srcA.Client().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ms[0].applied(t, 200)()
	stop()
	check("FLUSHALL on a", ms[0])

	// 2. Resync of b: its xsync is stopped, the backlog overrun and some keys
	// deleted; its link dropped, then it resumes: PSYNC fails, full resync,
	// whose emptying deletes b: keys only (and the deleted keys with them).
	stop = load(t, ms)
	b := ms[1]
	if err := b.proc.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The link goes first: Redis 7 keeps the backlog blocks a connected replica
	// still needs, and trims them on later writes once it is gone.
	if err := srcB.Client().Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 1000; i++ {
		srcB.Client().Set(ctx, fmt.Sprintf("pad:%d", i%200), pad, 0)
	}
	delKeys, err := srcB.Client().Keys(ctx, "str:d:*").Result()
	if err != nil || len(delKeys) == 0 {
		t.Fatalf("KEYS str:d:* on b: %d keys, %v", len(delKeys), err)
	}
	if len(delKeys) > 100 {
		delKeys = delKeys[:100]
	}
	deleted, err := srcB.Client().Del(ctx, delKeys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("b: link dropped, 1000 writes of %d bytes and a DEL of %d keys while its xsync was stopped", len(pad), deleted)
	if err := b.proc.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	b.proc.WaitInfo(t, 60*time.Second, "b syncs in full again", func(m map[string]string) bool {
		return strings.Contains(m["shard0"], "full_syncs=2")
	})
	b.applied(t, 200)()
	stop()
	check("forced resync of b", nil)
	if log, _ := os.ReadFile(b.log); !strings.Contains(string(log), "emptying the shard's slots") {
		t.Error("b's resync did not empty its keys first")
	}

	// 3. kill -9 of c's xsync under load, and a restart: it resumes.
	stop = load(t, ms)
	c := ms[2]
	c.proc.Cmd.Process.Kill()
	<-c.proc.Done
	c.proc.Done <- nil
	c.start(t, bin, dstURL)
	c.caughtUp(t)
	c.applied(t, 200)()
	stop()
	if log, _ := os.ReadFile(c.log); strings.Count(string(log), "full sync started") != 3 {
		t.Errorf("c synced in full again after kill -9 (want a resume from the checkpoints)")
	}
	check("kill -9 of c's xsync", nil)

	// Without a prefix, a fourth job refuses --flush apply (the default).
	srcD := redistest.Start(t, redistest.Options{})
	code, out := runCLI(t, bin, "sync", "--source", srcD.URL(), "--target", dstURL, "--internal-prefix", "__xd:",
		"--admin", "off", "--progress", "off")
	if code != 2 || !strings.Contains(out, "--key-prefix") || !strings.Contains(out, "__xa:") || !strings.Contains(out, "--flush ignore") {
		t.Errorf("unprefixed job on a shared destination: exit %d, want 2 naming the jobs and the options:\n%s", code, out)
	}
	if _, out := runCLI(t, bin, "check", "--source", srcD.URL(), "--target", dstURL, "--internal-prefix", "__xd:"); !strings.Contains(out, "other jobs") || !strings.Contains(out, `job "__xc:"`) {
		t.Errorf("check does not list the other jobs:\n%s", out)
	}
	// The refused job did not register.
	if code, out := runCLI(t, bin, "reset", "--target", dstURL, "--internal-prefix", "__xd:"); code != 0 || strings.Contains(out, "registry") {
		t.Errorf("reset of a job never registered: exit %d: %s", code, out)
	}
	// Unscoped with --flush ignore it may start; a snapshot key in b's keys is a
	// collision, and --conflict stop stops the job on it.
	srcD.Client().Set(ctx, "b:intruder", "x", 0)
	code, out = runCLI(t, bin, "sync", "--source", srcD.URL(), "--target", dstURL, "--internal-prefix", "__xd:",
		"--admin", "off", "--progress", "off", "--flush", "ignore", "--conflict", "stop")
	if code != 3 || !strings.Contains(out, "b:intruder") || !strings.Contains(out, "another job") {
		t.Errorf("collision under --conflict stop: exit %d, want 3 naming the key:\n%s", code, out)
	}
	if dst.Client().Exists(ctx, "b:intruder").Val() != 0 {
		t.Error("the colliding key was written")
	}
	// reset removes the job's entry.
	if code, out := runCLI(t, bin, "reset", "--target", dstURL, "--internal-prefix", "__xd:"); code != 0 || !strings.Contains(out, "removed the job") {
		t.Errorf("reset of a registered job: exit %d: %s", code, out)
	}
}
