package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok: state streaming\n"))
	}))
	defer ok.Close()
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "shard 0 stuck", http.StatusServiceUnavailable)
	}))
	defer stuck.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"healthy", []string{"--url", ok.URL}, exitOK},
		{"unhealthy", []string{"--url", stuck.URL}, exitDiffers},
		{"unreachable", []string{"--url", closed, "--timeout", "1s"}, exitFailed},
		{"bad flag", []string{"--nope"}, exitUsage},
		{"extra argument", []string{"x"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			if got := run(context.Background(), env, append([]string{"healthcheck"}, tc.args...)); got != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", got, tc.code, errb.String())
			}
		})
	}
}
