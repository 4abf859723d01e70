package gateway

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/listener"
)

// TestGatewayTLS: the gateway with mutual TLS serves go-redis and redis-cli
// --tls with a client certificate, keeps its limits behind the TLS front, and
// refuses a client without a certificate.
func TestGatewayTLS(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	files := redistest.NewTLSFiles(t, t.TempDir())
	tcfg, err := listener.TLSFiles{Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.CACert}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, Config{Source: Backend{Seeds: []string{src.Addr()}}, Password: "pw", TLS: tcfg})
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: g.Addr(), Protocol: 3, Password: "pw", DisableIdentity: true, TLSConfig: files.ClientConfig()})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET over TLS = %q, %v", v, err)
	}
	if err := c.Do(ctx, "CONFIG", "GET", "requirepass").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("CONFIG GET over TLS: %v", err)
	}
	noCert := files.ClientConfig()
	noCert.Certificates = nil
	bad := redis.NewClient(&redis.Options{Addr: g.Addr(), Protocol: 2, Password: "pw", DisableIdentity: true, TLSConfig: noCert, MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil {
		t.Errorf("PING without a client certificate: no error")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not on PATH")
	}
	_, port, _ := strings.Cut(g.Addr(), ":")
	out, err := exec.Command(cli, "--tls", "--cacert", files.CACert, "--cert", files.ClientCert, "--key", files.ClientKey,
		"-h", "127.0.0.1", "-p", port, "--no-auth-warning", "-a", "pw", "GET", "k").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "v" {
		t.Errorf("redis-cli --tls GET: %q, %v", out, err)
	}
}
