package admin

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/listener"
)

// TestAdminTLS: the admin port with mutual TLS answers go-redis and redis-cli
// --tls with a client certificate, and refuses a client without one.
func TestAdminTLS(t *testing.T) {
	files := redistest.NewTLSFiles(t, t.TempDir())
	tcfg, err := listener.TLSFiles{Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.CACert}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	a := startAdmin(t, Config{TLS: tcfg}, &fakeCtl{st: testStatus()})
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, DisableIdentity: true, TLSConfig: files.ClientConfig()})
	defer c.Close()
	if s, err := c.Do(ctx, "XSYNC", "STATUS").Text(); err != nil || !strings.Contains(s, "state:stream") {
		t.Fatalf("XSYNC STATUS over TLS = %q, %v", s, err)
	}
	noCert := files.ClientConfig()
	noCert.Certificates = nil
	bad := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, DisableIdentity: true, TLSConfig: noCert, MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil {
		t.Errorf("PING without a client certificate: no error")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not on PATH")
	}
	_, port, _ := strings.Cut(a.Addr(), ":")
	out, err := exec.Command(cli, "--tls", "--cacert", files.CACert, "--cert", files.ClientCert, "--key", files.ClientKey,
		"-h", "127.0.0.1", "-p", port, "PING").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "PONG" {
		t.Errorf("redis-cli --tls PING: %q, %v", out, err)
	}
}
