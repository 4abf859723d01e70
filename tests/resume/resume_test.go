// Package resume tests that xsync, killed with SIGKILL at random moments and
// restarted, neither loses nor repeats a write: the destination ends equal to the
// source under a load of commands whose double application would show.
package resume

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/replicator/verify"
	"github.com/xsync/xsync/tests/loadgen"
)

func startXsync(t *testing.T, bin, src, dst, logFile string) *xsynctest.Proc {
	return xsynctest.StartSync(t, bin, src, dst, logFile)
}

func waitCaughtUp(t *testing.T, p *xsynctest.Proc, src *redistest.Cluster) {
	t.Helper()
	var masters []*redis.Client
	for _, m := range src.Masters() {
		masters = append(masters, m.Client())
	}
	p.WaitCaughtUp(t, masters, 3*time.Minute)
}

// TestKillNineAndResume kills xsync with SIGKILL at 10 random moments, during the
// full sync and during the stream, under a load of LPUSH, RPUSH, INCR, APPEND,
// HINCRBY, ZINCRBY, SETRANGE and XADD; between two of the crashes the destination
// is resharded, and between two others a destination master fails over. At the
// end the destination equals the source exactly, and SIGTERM stops xsync within 5s.
func TestKillNineAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	bin := xsynctest.Build(t)
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Options: redistest.Options{Config: []string{"repl-backlog-size 64mb"}}})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	ctx := context.Background()
	keys := 100000
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: keys, BigKeys: 2, BigLen: 50000}); err != nil {
		t.Fatal(err)
	}
	srcURL, dstURL := "redis://"+src.Seeds(), "redis://"+dst.Seeds()
	logFile := filepath.Join(t.TempDir(), "xsync.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			lines := strings.Split(string(b), "\n")
			t.Logf("xsync log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
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

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; i < 10; i++ {
		p := startXsync(t, bin, srcURL, dstURL, logFile)
		// The first kills land in the full sync (none has completed yet, so each
		// start syncs in full again), the later ones in the stream.
		began := time.Now()
		if i < 3 {
			for time.Since(began) < 20*time.Second {
				if m, err := p.Info(ctx); err == nil && m["state"] == "fullsync" && m["fullsync_keys_done"] != "0" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(1000+rng.IntN(2500)) * time.Millisecond)
		}
		wait := time.Since(began).Round(time.Millisecond)
		m, _ := p.Info(ctx)
		t.Logf("kill %d after %v: state=%s keys=%s/%s ops_applied=%s", i+1, wait, m["state"], m["fullsync_keys_done"], m["fullsync_keys_total"], m["ops_applied"])
		if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.Done
		p.Done <- nil // for the cleanup
		switch i {
		case 4:
			masters := dst.Masters()
			if err := dst.Reshard(ctx, masters[0], masters[1], 500); err != nil {
				t.Fatalf("reshard: %v", err)
			}
			t.Log("destination resharded (500 slots) while xsync was down")
		case 7:
			r := dst.ReplicasOf(dst.Masters()[2])
			if err := dst.Failover(ctx, r[0]); err != nil {
				t.Fatalf("failover: %v", err)
			}
			t.Log("destination master failed over while xsync was down")
		}
	}
	p := startXsync(t, bin, srcURL, dstURL, logFile)
	time.Sleep(2 * time.Second)
	wcancel()
	ws := <-wdone
	hist := <-hdone
	t.Logf("workload: %d writes acknowledged, %d with sequences", ws.Ops.Load(), hist.Acked.Load())
	waitCaughtUp(t, p, src)

	hrep, err := hist.Check(ctx, src.Client(), dst.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !hrep.OK() {
		var b strings.Builder
		hrep.WriteReport(&b)
		t.Errorf("history after 10 kills:\n%s", b.String())
	}
	t.Logf("history: %s", hrep.Summary())
	res, err := verify.Run(ctx, verify.Config{Source: src.Client(), Target: dst.Client(), Rounds: 3, RoundDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() {
		var b strings.Builder
		res.WriteReport(&b)
		t.Fatalf("destination differs from source after 10 kills:\n%s", b.String())
	}
	t.Logf("equal after 10 kills: %d keys", res.SourceKeys)

	start := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.Done:
		p.Done <- nil
		if err != nil {
			t.Errorf("xsync after SIGTERM: %v, want exit 0", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("SIGTERM took %v, want < 5s", d)
		}
		t.Logf("SIGTERM: stopped in %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("xsync did not stop within 10s of SIGTERM")
	}

	// xsync reset removes xsync's own keys, and only them.
	internal := func() int {
		var n atomic.Int64 // the masters are visited in parallel
		err := dst.Client().ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			keys, err := c.Keys(ctx, "__xsync:*").Result()
			n.Add(int64(len(keys)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return int(n.Load())
	}
	before := internal()
	if before == 0 {
		t.Fatal("no checkpoint keys on the destination")
	}
	out, err := exec.Command(bin, "reset", "--target", dstURL).CombinedOutput()
	if err != nil {
		t.Fatalf("xsync reset: %v\n%s", err, out)
	}
	if n := internal(); n != 0 {
		t.Errorf("after xsync reset, %d internal keys remain", n)
	}
	t.Logf("xsync reset: %s (there were %d)", strings.TrimSpace(string(out)), before)
	if n := dst.Client().DBSize(ctx).Val(); n == 0 {
		t.Error("xsync reset removed user keys")
	}
}
