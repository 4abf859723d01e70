package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
	"github.com/xsync/xsync/tests/loadgen"
)

// runCLI runs the binary to completion and returns its exit code and output.
func runCLI(t *testing.T, bin string, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cliEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee) && ctx.Err() == nil:
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("xsync %s: %v\n%s", strings.Join(args, " "), err, out)
	return -1, ""
}

// cliEnv is the environment without the XSYNC_* variables a developer may have set.
func cliEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "XSYNC_") {
			env = append(env, e)
		}
	}
	return env
}

// infoFields parses INFO output into name -> value.
func infoFields(info string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

// TestCLI drives the xsync binary: sync with the admin port and /metrics, a clean
// stop on SIGTERM, verify and check on the synced pair, and a wrong destination
// password.
func TestCLI(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	bin := xsynctest.Build(t)
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	if err := loadgen.Fill(ctx, src.Client(), loadgen.FillOptions{Keys: 1000}); err != nil {
		t.Fatal(err)
	}
	admin, metrics := xsynctest.FreeAddr(t), xsynctest.FreeAddr(t)
	var logs xsynctest.SyncBuffer
	cmd := exec.Command(bin, "sync", "--source", src.URL(), "--target", dst.URL(),
		"--admin", admin, "--metrics", metrics, "--progress", "off")
	cmd.Env = cliEnv()
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("xsync sync output:\n%s", logs.String())
		}
	})

	// A short workload while it syncs.
	d := workloadDuration(t, 3*time.Second)
	runWorkload(t, src.Client(), d, loadgen.WorkOptions{Rate: workRate})

	ac := redis.NewClient(&redis.Options{Addr: admin, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer ac.Close()
	var info map[string]string
	poll(t, 60*time.Second, 200*time.Millisecond, "INFO xsync: state stream, lag 0", func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("xsync sync exited early: %v", err)
		default:
		}
		s, err := ac.Info(ctx, "xsync").Result()
		if err != nil {
			return err
		}
		info = infoFields(s)
		if info["state"] != "stream" || info["lag_bytes"] != "0" || info["shards"] != "3" {
			return fmt.Errorf("state %q, lag_bytes %q, shards %q", info["state"], info["lag_bytes"], info["shards"])
		}
		for i := 0; i < 3; i++ {
			line := info[fmt.Sprintf("shard%d", i)]
			if !strings.Contains(line, "state=stream") || !strings.Contains(line, "lag_bytes=0,") {
				return fmt.Errorf("shard%d: %s", i, line)
			}
		}
		return nil
	})
	t.Logf("INFO xsync after %v: ops_applied %s, errors %s, shard0 %s", time.Since(begin).Round(time.Millisecond), info["ops_applied"], info["errors"], info["shard0"])

	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("xsync_lag_bytes")) {
		t.Errorf("/metrics: status %d, no xsync_lag_bytes in:\n%.2000s", resp.StatusCode, body)
	}

	if code, out := runCLI(t, bin, 60*time.Second, "verify", "--source", src.URL(), "--target", dst.URL()); code != 0 {
		t.Errorf("xsync verify: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, bin, 60*time.Second, "check", "--source", src.URL(), "--target", dst.URL()); code != 0 {
		t.Errorf("xsync check: exit %d\n%s", code, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("xsync sync after SIGTERM: %v (want exit 0)", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("xsync sync still running 5s after SIGTERM")
	}
	t.Logf("sync, verify, check and stop took %v", time.Since(begin).Round(time.Millisecond))
}

// TestCLIWrongTargetPassword runs xsync sync against a destination with a password
// and the wrong one in the URL: exit 3 (the job failed; a failing precheck also
// ends sync with 3, 'xsync check' with 1), with a message naming the node.
func TestCLIWrongTargetPassword(t *testing.T) {
	t.Parallel()
	bin := xsynctest.Build(t)
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.Start(t, redistest.Options{Password: "right"})
	target := "redis://:wrong@" + dst.Addr()
	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"sync with prechecks", []string{"sync", "--source", src.URL(), "--target", target, "--admin", "off", "--progress", "off"}, 3},
		{"sync without prechecks", []string{"sync", "--source", src.URL(), "--target", target, "--admin", "off", "--progress", "off", "--skip-prechecks"}, 3},
		{"check", []string{"check", "--source", src.URL(), "--target", target}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := runCLI(t, bin, 30*time.Second, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out)
			}
			if !strings.Contains(out, dst.Addr()) {
				t.Errorf("the output does not name the node %s:\n%s", dst.Addr(), out)
			}
			if strings.Contains(out, "wrong") {
				t.Errorf("the output shows the password:\n%s", out)
			}
		})
	}
}
