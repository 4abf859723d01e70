package matrix

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/tests/loadgen"
)

// runKilled runs the xsync binary, kills it with SIGKILL halfway through the writes
// (which are of commands whose double application would show), starts it again and
// lets it resume from its checkpoints.
func runKilled(t *testing.T, bin string, src, dst *redistest.Cluster, fit loadgen.ServerVersion) int64 {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "xsync.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			lines := strings.Split(string(b), "\n")
			t.Logf("xsync log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	srcURL, dstURL := "redis://"+src.Seeds(), "redis://"+dst.Seeds()
	d := writeSeconds(t)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan *loadgen.Stats, 1)
	go func() {
		st, _ := loadgen.Run(ctx, src.Client(), loadgen.WorkOptions{NonIdempotentOnly: true, Assignments: true,
			Rate: writeRate, Clients: 2, Server: fit})
		done <- st
	}()
	proc := xsynctest.StartSync(t, bin, srcURL, dstURL, logFile)
	var masters []*redis.Client
	for _, m := range src.Masters() {
		masters = append(masters, m.Client())
	}
	proc.WaitInfo(t, 60*time.Second, "streaming before the kill", func(m map[string]string) bool { return m["state"] == "stream" })
	select {
	case <-time.After(d / 2):
	case <-ctx.Done():
	}
	if err := proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.Done
	proc.Done <- nil
	t.Log("xsync killed with SIGKILL while streaming; starting it again")
	proc = xsynctest.StartSync(t, bin, srcURL, dstURL, logFile)
	st := <-done
	proc.WaitCaughtUp(t, masters, 90*time.Second)
	// The restarted process resumed from its checkpoints with a partial PSYNC on every
	// shard: it counts no full sync of its own.
	info, err := proc.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range info {
		if strings.HasPrefix(k, "shard") && k != "shards" && !strings.Contains(v, ",full_syncs=0,") {
			t.Errorf("after the restart %s: %s; want full_syncs=0 (a resume, not a new full sync)", k, v)
		}
	}
	t.Log("resumed after SIGKILL without a full sync")
	_ = proc.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-proc.Done:
		proc.Done <- nil
	case <-time.After(10 * time.Second):
		t.Error("xsync did not stop within 10s of SIGTERM")
	}
	return st.Ops.Load()
}
