package fidelity

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/commands.md")

// TestCommandsDoc fails when docs/commands.md is not what the grammar and the
// translator make of every write command (go test -run TestCommandsDoc -update).
func TestCommandsDoc(t *testing.T) {
	raw, err := capturedDocs()
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseDocs(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := CommandsDoc(g)
	path := filepath.Join("..", "..", "docs", "commands.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("docs/commands.md is stale (%v): run go test ./tests/fidelity -run TestCommandsDoc -update", err)
	}
}
