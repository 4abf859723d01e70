package gateway

import (
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/gateway"
)

// benchResult is one line of redis-benchmark --csv.
type benchResult struct {
	test     string
	rps, p99 float64 // requests/s, p99 latency in ms
	p50      float64
}

func redisBenchmark(t *testing.T, port string, extra ...string) []benchResult {
	t.Helper()
	args := append([]string{"-h", "127.0.0.1", "-p", port, "--csv"}, extra...)
	out, err := exec.Command("redis-benchmark", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-benchmark %v: %v\n%s", args, err, out)
	}
	var lines []string // --cluster prints the nodes first
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "\"") {
			lines = append(lines, l)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("redis-benchmark output: %v\n%s", err, out)
	}
	var res []benchResult
	for _, r := range recs[1:] {
		if len(r) < 7 {
			continue
		}
		f := func(i int) float64 { v, _ := strconv.ParseFloat(r[i], 64); return v }
		res = append(res, benchResult{test: r[0], rps: f(1), p50: f(4), p99: f(6)})
	}
	return res
}

// TestBenchmark compares redis-benchmark through the gateway with redis-benchmark
// straight to the cluster: (a) a one-node cluster, the same server both ways;
// (b) a 3-master cluster, redis-benchmark --cluster for the direct baseline.
// 50 clients, -P 1 and -P 16, SET and GET on random keys. Run with XSYNC_BENCH=1
// (docs/gateway.md has the numbers).
func TestBenchmark(t *testing.T) {
	if os.Getenv("XSYNC_BENCH") == "" {
		t.Skip("set XSYNC_BENCH=1 to run the gateway benchmark")
	}
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark not installed")
	}
	n := "200000"
	if s := os.Getenv("XSYNC_BENCH_N"); s != "" {
		n = s
	}
	t.Logf("GOMAXPROCS %d, NumCPU %d", runtime.GOMAXPROCS(0), runtime.NumCPU())
	masterSets := []int{1, 3}
	if os.Getenv("XSYNC_BENCH_ONE") != "" {
		masterSets = masterSets[:1]
	}
	for _, masters := range masterSets {
		c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: masters})
		gw := startGateway(t, gateway.Config{Source: gateway.Backend{Seeds: c.Addrs()}, Logger: testLogger(t)})
		gwPort := gw.Addr()[strings.LastIndexByte(gw.Addr(), ':')+1:]
		nodePort := strconv.Itoa(c.Nodes()[0].Port())
		// Warm up both ways: connections, heap, CPU caches.
		warm := []string{"-c", "50", "-n", "50000", "-t", "set,get", "-P", "16", "-r", "100000", "-d", "16"}
		redisBenchmark(t, gwPort, warm...)
		if masters == 1 {
			redisBenchmark(t, nodePort, warm...)
		}
		for _, p := range []string{"1", "16"} {
			common := []string{"-c", "50", "-n", n, "-t", "set,get", "-P", p, "-r", "100000", "-d", "16"}
			var direct []benchResult
			if masters == 1 {
				direct = redisBenchmark(t, nodePort, common...)
			} else {
				direct = redisBenchmark(t, nodePort, append(common, "--cluster")...)
			}
			through := redisBenchmark(t, gwPort, common...)
			for i := range min(len(direct), len(through)) {
				d, g := direct[i], through[i]
				t.Logf("%d master(s) -P %-2s %s: direct %9.0f req/s p50 %.3f p99 %.3f ms | gateway %9.0f req/s p50 %.3f p99 %.3f ms | ratio %.2f, p99 +%.3f ms",
					masters, p, d.test, d.rps, d.p50, d.p99, g.rps, g.p50, g.p99, g.rps/d.rps, g.p99-d.p99)
			}
		}
	}
	fmt.Fprint(os.Stderr)
}
