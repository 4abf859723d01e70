package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestWarnSecrets: passwords on the command line or in a URL, and tls-insecure,
// are warned about; a password from a file is not.
func TestWarnSecrets(t *testing.T) {
	var f syncFlags
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	fs := f.register("sync", env)
	fs.SetOutput(io.Discard)
	args := []string{"--source", "rediss://u:pw@127.0.0.1:1?tls-insecure=true", "--target=redis://127.0.0.1:2", "--admin-password", "x", "--metrics-token=t", "--skip-prechecks"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	warnSecrets(slog.New(slog.NewTextHandler(&buf, nil)), fs, args)
	out := buf.String()
	for _, want := range []string{"the URL holds a password", "flag=--source", "flag=--admin-password", "flag=--metrics-token", "tls-insecure"} {
		if !strings.Contains(out, want) {
			t.Errorf("warnings lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "flag=--target") {
		t.Errorf("a URL without password warned:\n%s", out)
	}
}
