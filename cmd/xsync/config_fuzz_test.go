package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile: any YAML file given to --config is read or refused with a
// usage error, never a panic.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("source: redis://127.0.0.1:6379\ntarget: redis://127.0.0.1:6380\nadmin: 127.0.0.1:6380\n"))
	f.Add([]byte("dbs: [0, 1=db1:, 2=5]\ninclude: [\"a*\", \"b*\"]\nsnapshot-rate: 1.5e6\ncheckpoints: false\n"))
	f.Add([]byte("gateway-output-limit: 64mb 16mb 60\nbogus: 1\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("source: {a: b}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var sf syncFlags
		env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		fs := sf.register("sync", env)
		fs.SetOutput(io.Discard)
		if err := parseFlags(env, fs, []string{"--config", path}); err != nil {
			return
		}
		_, _ = sf.config(env)
	})
}

// FuzzDBs: --dbs parses or fails, and a parsed map never holds a negative
// database.
func FuzzDBs(f *testing.F) {
	for _, s := range []string{"0", "0,1=db1:,2=5", "1=-1", "=", ",,", "99999999999999999999", "3=a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseDBs(s)
		if err != nil {
			return
		}
		for src, tg := range m {
			if src < 0 || tg.DB < 0 {
				t.Fatalf("%q: negative database in %v", s, m)
			}
		}
	})
}
