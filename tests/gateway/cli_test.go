package gateway

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/internal/xsynctest"
)

// TestCLISyncGatewayAndSidecar runs the binary: 'xsync sync --gateway' and a
// sidecar 'xsync gateway --control' polling its admin port. Clients write through
// both; XSYNC CUTOVER switches both (cutover_followers:1); the destination holds
// every acknowledged write; SIGTERM stops both with exit 0.
func TestCLISyncGatewayAndSidecar(t *testing.T) {
	bin := xsynctest.Build(t)
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dst := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	ctx := context.Background()
	admin, gw, side := xsynctest.FreeAddr(t), xsynctest.FreeAddr(t), xsynctest.FreeAddr(t)
	syncCmd := startCLI(t, bin, "sync", "--source", src.URL(), "--target", dst.URL(), "--admin", admin,
		"--gateway", gw, "--progress", "off", "--log-level", "warn")
	sideCmd := startCLI(t, bin, "gateway", "--source", src.URL(), "--target", dst.URL(), "--listen", side,
		"--control", admin, "--log-level", "warn")

	ac := redis.NewClient(&redis.Options{Addr: admin, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer ac.Close()
	waitInfo(t, ac, func(info string) error {
		if !strings.Contains(info, "state:stream\r\n") || !strings.Contains(info, "cutover_followers:1\r\n") {
			return fmt.Errorf("not streaming with one follower yet")
		}
		return nil
	})
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	acked := make([]int64, 4)
	errs := make([]error, 4)
	for i, addr := range []string{gw, side, gw, side} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2 + i%2, DisableIdentity: true, MaxRetries: -1})
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				err := c.RPush(wctx, fmt.Sprintf("cli:%d", i), acked[i]).Err()
				if err != nil {
					if wctx.Err() == nil {
						errs[i] = err
					}
					return
				}
				acked[i]++
			}
		}()
	}
	time.Sleep(time.Second)
	reply, err := ac.Do(ctx, "XSYNC", "CUTOVER").Text()
	if err != nil {
		cancel()
		wg.Wait()
		t.Fatalf("XSYNC CUTOVER: %v", err)
	}
	t.Logf("XSYNC CUTOVER: %s", reply)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	dc := dst.Client()
	for i, n := range acked {
		got, err := dc.LRange(ctx, fmt.Sprintf("cli:%d", i), 0, -1).Result()
		if err != nil || int64(len(got)) != n {
			t.Fatalf("cli:%d on the destination: %d elements (%v), %d acknowledged", i, len(got), err, n)
		}
		for j, v := range got {
			if v != fmt.Sprint(j) {
				t.Fatalf("cli:%d[%d] = %s", i, j, v)
			}
		}
	}
	if v, _ := dc.Get(ctx, "__xsync:cutover").Result(); v == "" {
		t.Error("no cutover marker on the destination")
	}
	t.Logf("acknowledged RPUSHes per client: %v", acked)
	for name, cmd := range map[string]*cliProc{"sync": syncCmd, "gateway": sideCmd} {
		if err := cmd.stop(); err != nil {
			t.Errorf("xsync %s after SIGTERM: %v\n%s", name, err, cmd.out.String())
		}
	}

	// A sidecar started later, its control gone: the marker sends it to the target.
	late := xsynctest.FreeAddr(t)
	lateCmd := startCLI(t, bin, "gateway", "--source", src.URL(), "--target", dst.URL(), "--listen", late,
		"--control", admin, "--log-level", "error")
	lc := redis.NewClient(&redis.Options{Addr: late, Protocol: 2, DisableIdentity: true})
	defer lc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for lc.Set(ctx, "late", "1", 0).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the late sidecar does not serve")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, _ := dc.Get(ctx, "late").Result(); v != "1" {
		t.Error("a sidecar started after the cutover wrote elsewhere than the destination")
	}
	if n, _ := src.Client().Exists(ctx, "late").Result(); n != 0 {
		t.Error("a sidecar started after the cutover wrote to the source")
	}
	if err := lateCmd.stop(); err != nil {
		t.Errorf("late xsync gateway after SIGTERM: %v", err)
	}
}

func waitInfo(t *testing.T, c *redis.Client, ok func(string) error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := c.Info(context.Background(), "xsync").Result()
		if err == nil {
			err = ok(info)
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO xsync: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type cliProc struct {
	cmd    *exec.Cmd
	out    *xsynctest.SyncBuffer
	exited chan error
}

func startCLI(t *testing.T, bin string, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{cmd: exec.Command(bin, args...), out: &xsynctest.SyncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("xsync %s output:\n%s", args[0], p.out.String())
		}
	})
	return p
}

func (p *cliProc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no exit within 10s of SIGTERM")
	}
}
