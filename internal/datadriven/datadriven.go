// Package datadriven is the one runner of the data-driven tests, in the style of
// etcd-io/raft's datadriven package (our own code). A test file holds directives,
// each with its input and the output it must produce:
//
//	# comments and blank lines between directives are kept as they are
//	<command> [key=value ...] [key="quoted value"] [word ...]
//	<input lines>
//	----
//	<expected output>
//	<a blank line ends it>
//
// "subtest <name>" opens a subtest (t.Run) that lasts until "subtest end"; those two
// lines have no input and no output. RunTest calls the test's function for every
// directive, in order, and compares what it returns with the expected output; with
// -rewrite it writes the file again with what the function returned instead.
package datadriven

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the data-driven test files (testdata/*.txt)")

// TestData is one directive of a file.
type TestData struct {
	Pos      string            // file:line of the directive
	Line     string            // the directive line as written
	Cmd      string            // its first word
	Args     map[string]string // key=value arguments (quoted values unquoted)
	Rest     []string          // the other words after Cmd, in order
	Input    string            // the lines between the directive and ----
	Expected string            // the lines after ----, up to a blank line

	before []string // comment and blank lines above the directive
	input  []string
	sub    bool // subtest <name> or subtest end: no input, no output
	ran    bool // f was called (a failed subtest stops before its end)
	eof    bool // the file ends with its output, without a blank line
	actual string
}

// HasArg reports whether the directive has the argument key.
func (d *TestData) HasArg(key string) bool { _, ok := d.Args[key]; return ok }

// Int returns the argument key as an int, def when it is absent; a malformed value
// fails the test.
func (d *TestData) Int(t testing.TB, key string, def int) int {
	t.Helper()
	v, ok := d.Args[key]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, v, err)
	}
	return n
}

// Fatalf fails the test, naming the directive's position.
func (d *TestData) Fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s: %s", d.Pos, fmt.Sprintf(format, args...))
}

var tokenRE = regexp.MustCompile(`([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)|\S+`)

// ParseFile reads the directives of path.
func ParseFile(t testing.TB, path string) []*TestData {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var out []*TestData
	var before []string
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			before = append(before, l)
			continue
		}
		d := parseDirective(fmt.Sprintf("%s:%d", filepath.Base(path), line), l)
		d.before, before = before, nil
		out = append(out, d)
		if d.sub {
			continue
		}
		closed := false
		for sc.Scan() {
			line++
			if sc.Text() == "----" {
				closed = true
				break
			}
			d.input = append(d.input, sc.Text())
		}
		if !closed {
			t.Fatalf("xsync/datadriven: %s: %q has no ---- line", d.Pos, l)
		}
		var want []string
		d.eof = true
		for sc.Scan() {
			line++
			if sc.Text() == "" {
				d.eof = false
				break
			}
			want = append(want, sc.Text())
		}
		d.Input, d.Expected = strings.Join(d.input, "\n"), strings.Join(want, "\n")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(before) > 0 && len(out) > 0 {
		out = append(out, &TestData{before: before, sub: true}) // trailing comments
	}
	return out
}

func parseDirective(pos, l string) *TestData {
	d := &TestData{Pos: pos, Line: l, Args: map[string]string{}}
	for i, m := range tokenRE.FindAllStringSubmatch(l, -1) {
		switch {
		case i == 0:
			d.Cmd = m[0]
		case m[1] == "":
			d.Rest = append(d.Rest, m[0])
		default:
			v := m[2]
			if strings.HasPrefix(v, `"`) {
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				}
			}
			d.Args[m[1]] = v
		}
	}
	d.sub = d.Cmd == "subtest"
	return d
}

// RunTest runs every directive of path through f, in order, and checks (or with
// -rewrite, rewrites) the expected outputs.
func RunTest(t *testing.T, path string, f func(t *testing.T, d *TestData) string) {
	t.Helper()
	all := ParseFile(t, path)
	runFrom(t, all, 0, f)
	if *rewrite {
		write(t, path, all)
	}
}

// Walk calls f for every file matching glob, each in a subtest named after the
// file without its extension; f usually sets up its state and calls RunTest.
func Walk(t *testing.T, glob string, f func(t *testing.T, path string)) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("xsync/datadriven: no files match %s: %v", glob, err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), func(t *testing.T) {
			f(t, path)
		})
	}
}

// runFrom runs the directives from i until the end or a "subtest end", and returns
// the index after it.
func runFrom(t *testing.T, all []*TestData, i int, f func(t *testing.T, d *TestData) string) int {
	for i < len(all) {
		d := all[i]
		i++
		switch {
		case d.Cmd == "":
			// trailing comments
		case d.sub && len(d.Rest) == 1 && d.Rest[0] == "end":
			return i
		case d.sub:
			name := strings.Join(d.Rest, " ")
			next := i
			t.Run(name, func(t *testing.T) { next = runFrom(t, all, i, f) })
			if next == i { // the subtest stopped early (t.Fatal): find its end
				next = skipSubtest(all, i)
			}
			i = next
		default:
			d.actual, d.ran = strings.TrimRight(f(t, d), "\n"), true
			if !*rewrite && d.actual != d.Expected {
				t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", d.Pos, d.Line, d.actual, d.Expected)
			}
		}
	}
	return i
}

func skipSubtest(all []*TestData, i int) int {
	depth := 1
	for ; i < len(all); i++ {
		if d := all[i]; d.sub && d.Cmd != "" {
			if len(d.Rest) == 1 && d.Rest[0] == "end" {
				if depth--; depth == 0 {
					return i + 1
				}
			} else {
				depth++
			}
		}
	}
	return i
}

func write(t *testing.T, path string, all []*TestData) {
	t.Helper()
	var b strings.Builder
	for _, d := range all {
		for _, l := range d.before {
			b.WriteString(l + "\n")
		}
		if d.Cmd == "" {
			continue
		}
		b.WriteString(d.Line + "\n")
		if d.sub {
			continue
		}
		for _, l := range d.input {
			b.WriteString(l + "\n")
		}
		b.WriteString("----\n")
		out := d.Expected
		if d.ran {
			out = d.actual
		}
		if out != "" {
			b.WriteString(out + "\n")
		}
		if !d.eof {
			b.WriteString("\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
