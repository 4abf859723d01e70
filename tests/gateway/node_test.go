package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/gateway"
)

// TestNodeClientsAcrossCutover runs ioredis (from the npm registry, pinned in
// tests/gateway/node/package-lock.json) through the gateway while XSYNC CUTOVER
// moves it: MULTI/EXEC, WATCH transactions, pipelines and pub/sub. Every
// acknowledged write is on the destination once. It needs node, npm and the
// registry (scripts/deps.sh installs node and npm): without them it skips, and
// fails when CI is set.
func TestNodeClientsAcrossCutover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes and node")
	}
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH (scripts/deps.sh installs nodejs and npm): %v", bin, err)
			}
			t.Skipf("%s is not on PATH: run scripts/deps.sh (Debian's nodejs and npm) to run ioredis through the gateway", bin)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "node")
	if out, err := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefix", dir).CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}

	src, dst, r := startReplication(t)
	ctx := context.Background()
	gw := startGateway(t, gateway.Config{
		Source: gateway.Backend{Seeds: src.Addrs()},
		Target: gateway.Backend{Seeds: dst.Addrs()},
		Logger: testLogger(t),
	})
	co, err := cutover.New(cutover.Config{Status: r.Status, Gate: gw, OnSwitch: r.Pause, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	adm := startAdmin(t, admin.Config{Cutover: co}, r)
	waitStreaming(t, r, 3)

	phase := workloadPhase()
	_, port, _ := strings.Cut(gw.Addr(), ":")
	cmd := exec.Command("node", filepath.Join(dir, "scenario.js"), port, strconv.FormatFloat(phase.Seconds(), 'f', 3, 64))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("node scenario.js did not start: %q %v", lines.Text(), lines.Err())
	}
	time.Sleep(phase / 2) // ioredis runs on the source
	admC := redis.NewClient(&redis.Options{Addr: adm.Addr(), Protocol: 2, DisableIdentity: true})
	defer admC.Close()
	reply, err := admC.Do(ctx, "XSYNC", "CUTOVER", "30").Text()
	if err != nil {
		t.Fatalf("XSYNC CUTOVER: %v", err)
	}
	t.Logf("XSYNC CUTOVER: %s", reply)
	if !lines.Scan() {
		t.Fatalf("node scenario.js: no result: %v", lines.Err())
	}
	var res struct {
		Acked      map[string]int64 `json:"acked"`
		Reconnects int              `json:"reconnects"`
		Published  int              `json:"published"`
		Lost       int              `json:"lost"`
		Scenarios  []struct {
			Name       string  `json:"name"`
			Ops        int     `json:"ops"`
			Errors     int     `json:"errors"`
			Nulls      int     `json:"nulls"`
			P99        float64 `json:"p99_ms"`
			FirstError string  `json:"first_error"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		t.Fatalf("node scenario.js result %q: %v", lines.Text(), err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node scenario.js: %v", err)
	}
	for _, s := range res.Scenarios {
		t.Logf("%-20s %6d ops, %d errors, %d EXEC null retried, p99 %.3f ms %s", s.Name, s.Ops, s.Errors, s.Nulls, s.P99, s.FirstError)
		if s.Errors > 0 {
			t.Errorf("%s: %d errors (%s)", s.Name, s.Errors, s.FirstError)
		}
	}
	t.Logf("ioredis reconnects: %d; pub/sub: %d published, %d not received", res.Reconnects, res.Published, res.Lost)
	dc := dst.Client()
	for key, acked := range map[string]int64{"{node}multi": res.Acked["multi"], "{node}watch": res.Acked["watch"], "node:pipe": res.Acked["pipeline"]} {
		if n, _ := dc.Get(ctx, key).Int64(); n != acked {
			t.Errorf("%s = %d on the destination, %d acknowledged by ioredis", key, n, acked)
		}
	}
}
