package main

import (
	"flag"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSampleConfig keeps deploy/xsync.yaml, the commented sample config, in step with
// the flags of xsync sync: every flag is a key with the flag's default (source and
// target excepted: the sample shows example URLs), and the file parses as a config.
func TestSampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../deploy/xsync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("deploy/xsync.yaml: %v", err)
	}
	var f syncFlags
	env := &cliEnv{getenv: func(string) string { return "" }}
	fs := f.register("sync", env)
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "config" {
			return
		}
		v, ok := m[fl.Name]
		if !ok {
			t.Errorf("deploy/xsync.yaml has no key %q: add it with its default (%q) and a comment", fl.Name, fl.DefValue)
			return
		}
		if fl.Name == "source" || fl.Name == "target" {
			return
		}
		s, err := configValue(v)
		if err != nil || s != fl.DefValue {
			t.Errorf("deploy/xsync.yaml: %s: %q, but the flag's default is %q", fl.Name, s, fl.DefValue)
		}
	})
	if err := applyConfigFile(fs, "../../deploy/xsync.yaml"); err != nil {
		t.Fatal(err)
	}
}
