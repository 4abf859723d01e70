package datadriven

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func echo(t *testing.T, d *TestData) string {
	out := fmt.Sprintf("a=%s b=%s rest=%v", d.Args["a"], d.Args["b"], d.Rest)
	if d.Input != "" {
		out += "\n" + d.Input
	}
	return out
}

func TestRunner(t *testing.T) {
	Walk(t, "testdata/*.txt", func(t *testing.T, path string) { RunTest(t, path, echo) })
}

// Rewriting a file whose outputs are wrong gives back the file as it should be,
// comments, subtests and blank lines included.
func TestRewrite(t *testing.T) {
	want, err := os.ReadFile("testdata/runner.txt")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "runner.txt")
	wrong := []byte("# The runner's own test: echo returns its arguments and input.\necho a=1 b=\"two words\" word\nx\ny\n----\nstale\n\nsubtest inner\necho\n----\n\nsubtest end\n\n# trailing comment\n")
	if err := os.WriteFile(path, wrong, 0o644); err != nil {
		t.Fatal(err)
	}
	*rewrite = true
	defer func() { *rewrite = false }()
	RunTest(t, path, echo)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("rewritten:\n%s\nwant:\n%s", got, want)
	}
}

// A file that ends with an output and no blank line after it is rewritten as it was.
func TestRewriteKeepsTheLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "end.txt")
	want := "echo a=1\n----\na=1 b= rest=[]"
	if err := os.WriteFile(path, []byte("echo a=1\n----\nstale"), 0o644); err != nil {
		t.Fatal(err)
	}
	*rewrite = true
	defer func() { *rewrite = false }()
	RunTest(t, path, echo)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want+"\n" {
		t.Fatalf("rewritten:\n%q\nwant:\n%q", got, want+"\n")
	}
}
