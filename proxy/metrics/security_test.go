package metrics

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/proxy/listener"
)

func serve(t *testing.T, cfg Config) *Server {
	t.Helper()
	m, err := New(cfg, fixedStatus(testStatus()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go m.Serve(ctx)
	return m
}

func get(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsOffLoopbackNeedsProtection: off loopback, /metrics and pprof need
// a token or mutual TLS; the check opens nothing.
func TestMetricsOffLoopbackNeedsProtection(t *testing.T) {
	for _, cfg := range []Config{{Addr: "0.0.0.0:9071"}, {Addr: "0.0.0.0:9071", Pprof: true}, {Addr: "[::]:9071", TLS: &tls.Config{}}} {
		if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "--metrics-token") {
			t.Errorf("%+v: Check = %v", cfg, err)
		}
	}
	if err := (&Config{Addr: "0.0.0.0:9071", Token: "t"}).Check(); err != nil {
		t.Errorf("with a token: %v", err)
	}
}

// TestMetricsTokenAndCmdline: with a token /metrics and /debug/pprof/ answer 401
// without it; /healthz stays open; /debug/pprof/cmdline is never served.
func TestMetricsTokenAndCmdline(t *testing.T) {
	m := serve(t, Config{Addr: "127.0.0.1:0", Pprof: true, Token: "s3cret"})
	base := "http://" + m.Addr()
	c := http.DefaultClient
	for _, p := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/symbol"} {
		if code, _ := get(t, c, base+p, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d", p, code)
		}
		if code, _ := get(t, c, base+p, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _ := get(t, c, base+p, "s3cret"); code != http.StatusOK {
			t.Errorf("%s with the token: %d", p, code)
		}
	}
	if code, _ := get(t, c, base+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get(t, c, base+"/debug/pprof/cmdline", "s3cret"); code != http.StatusNotFound || strings.Contains(body, "metrics.test") {
		t.Errorf("/debug/pprof/cmdline: %d %q", code, body)
	}
}

// TestMetricsMutualTLS: with a client CA only a client with a certificate gets
// in, over HTTPS.
func TestMetricsMutualTLS(t *testing.T) {
	files := redistest.NewTLSFiles(t, t.TempDir())
	tcfg, err := listener.TLSFiles{Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.CACert}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	m := serve(t, Config{Addr: "127.0.0.1:0", TLS: tcfg})
	good := &http.Client{Transport: &http.Transport{TLSClientConfig: files.ClientConfig()}}
	if code, body := get(t, good, "https://"+m.Addr()+"/metrics", ""); code != 200 || !strings.Contains(body, "xsync_lag_bytes") {
		t.Errorf("with a client certificate: %d", code)
	}
	noCert := files.ClientConfig()
	noCert.Certificates = nil
	bad := &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}}
	if _, err := bad.Get("https://" + m.Addr() + "/metrics"); err == nil {
		t.Errorf("without a client certificate: no error")
	}
	if err := (&Config{Addr: "0.0.0.0:9071", TLS: tcfg}).Check(); err != nil {
		t.Errorf("mutual TLS off loopback: %v", err)
	}
}
