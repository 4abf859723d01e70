package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestListenerConfigErrorsFirst: a listener that would be exposed is a
// configuration error (exit 2), found before any precheck or connection: the
// source here is a port that accepts and never answers, so a precheck would hang.
func TestListenerConfigErrorsFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	silent := "redis://" + ln.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"admin", []string{"--admin", "0.0.0.0:0"}, "--admin-password"},
		{"metrics", []string{"--metrics", "0.0.0.0:0"}, "--metrics-token"},
		{"pprof", []string{"--metrics", "0.0.0.0:0", "--pprof"}, "--pprof"},
		{"pprof without metrics", []string{"--pprof"}, "give --metrics too"},
		{"gateway", []string{"--gateway", "0.0.0.0:0"}, "--gateway-password"},
		{"output limit", []string{"--gateway", "127.0.0.1:0", "--gateway-output-limit", "64mb"}, "HARD SOFT SECONDS"},
		{"tls key missing", []string{"--admin-tls-cert", "/nonexistent.crt"}, "certificate and a key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"sync", "--source", silent, "--target", silent, "--log-level", "error"}, tc.args...)
			if code := run(ctx, env, args); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
			if ctx.Err() != nil {
				t.Errorf("it waited for the source")
			}
		})
	}
}
