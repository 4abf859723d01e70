package slots

import (
	"bytes"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/xsync/xsync/slots/internal/gencmd"
)

// TestGeneratedUpToDate checks that commands_gen.go is what the generator makes of
// the checked-in captures, byte for byte (as `go generate ./slots/` would).
func TestGeneratedUpToDate(t *testing.T) {
	const command, docs = "testdata/command-7.0.15.resp", "testdata/command-docs-7.0.15.resp"
	cb := readFile(t, command)
	db := readFile(t, docs)
	want, err := gencmd.Generate(cb, db, command+" and "+docs)
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, "commands_gen.go")
	if !bytes.Equal(got, want) {
		t.Fatal("commands_gen.go is stale: run go generate ./slots/")
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTableSorted(t *testing.T) {
	check := func(specs []CommandSpec, prefix string) {
		t.Helper()
		if !sort.SliceIsSorted(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name }) {
			t.Errorf("specs under %q are not sorted", prefix)
		}
		for _, s := range specs {
			if prefix != "" && !strings.HasPrefix(s.Name, prefix+"|") {
				t.Errorf("subcommand %q not under %q", s.Name, prefix)
			}
			if s.Write != s.Flags.Has(FlagWrite) {
				t.Errorf("%s: Write %v, flags %v", s.Name, s.Write, s.Flags)
			}
			if s.Since == "" || s.Group == "" {
				t.Errorf("%s: no Since or Group", s.Name)
			}
			if len(s.KeySpecs) > maxRanges {
				t.Errorf("%s: %d key specs", s.Name, len(s.KeySpecs))
			}
		}
	}
	check(commandTable[:], "")
	for _, c := range commandTable {
		check(c.Subcommands, c.Name)
	}
	if len(commandTable) < 240 {
		t.Errorf("only %d commands", len(commandTable))
	}
}

func TestLookupCommand(t *testing.T) {
	tests := []struct {
		name   string
		want   string
		arity  int
		flags  CommandFlags
		write  bool
		since  string
		isNone bool
	}{
		{name: "get", want: "get", arity: 2, flags: FlagReadonly | FlagFast, since: "1.0.0"},
		{name: "GET", want: "get", arity: 2, flags: FlagReadonly | FlagFast, since: "1.0.0"},
		{name: "SeT", want: "set", arity: -3, flags: FlagWrite | FlagDenyOOM, write: true, since: "1.0.0"},
		{name: "restore-asking", want: "restore-asking", arity: -4, flags: FlagWrite | FlagDenyOOM | FlagAsking, write: true},
		{name: "georadiusbymember_ro", want: "georadiusbymember_ro", arity: -5, flags: FlagReadonly},
		{name: "xgroup", want: "xgroup", arity: -2},
		{name: "HEXPIRE", want: "hexpire", arity: -6, flags: FlagWrite | FlagDenyOOM | FlagFast, write: true, since: "7.4.0"},
		{name: "waitaof", want: "waitaof", arity: 4, flags: FlagNoScript, since: "7.2.0"},
		{name: "hsetex", want: "hsetex", arity: -6, write: true, since: "8.0.0"},
		{name: "pfcount", want: "pfcount", arity: -2, flags: FlagReadonly | FlagMayReplicate, since: "2.8.9"},
		{name: "publish", want: "publish", arity: 3, flags: FlagPubSub | FlagMayReplicate},
		{name: "", isNone: true},
		{name: "nosuchcommand", isNone: true},
		{name: "get ", isNone: true},
		{name: "xgroup|create", isNone: true},
		{name: strings.Repeat("a", 100), isNone: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := LookupCommand([]byte(tc.name))
			if c2 := LookupCommandString(tc.name); c2 != c {
				t.Errorf("LookupCommandString differs: %v vs %v", c2, c)
			}
			if tc.isNone {
				if c != nil {
					t.Fatalf("got %q, want nil", c.Name)
				}
				return
			}
			if c == nil {
				t.Fatal("not found")
			}
			if c.Name != tc.want || c.Arity != tc.arity || c.Write != tc.write {
				t.Errorf("got %s arity %d write %v", c.Name, c.Arity, c.Write)
			}
			if tc.flags != 0 && !c.Flags.Has(tc.flags) {
				t.Errorf("flags %v, want %v", c.Flags, tc.flags)
			}
			if tc.since != "" && c.Since != tc.since {
				t.Errorf("since %q, want %q", c.Since, tc.since)
			}
		})
	}
}

func TestLookupSubcommand(t *testing.T) {
	tests := []struct {
		args  string
		want  string
		write bool
		err   error
	}{
		{args: "XGROUP CREATE k g $", want: "xgroup|create", write: true},
		{args: "xgroup createconsumer k g c", want: "xgroup|createconsumer", write: true},
		{args: "XINFO STREAM k", want: "xinfo|stream"},
		{args: "OBJECT encoding k", want: "object|encoding"},
		{args: "MEMORY USAGE k", want: "memory|usage"},
		{args: "CLIENT NO-TOUCH on", want: "client|no-touch"},
		{args: "CLIENT SETINFO lib-name x", want: "client|setinfo"},
		{args: "CLUSTER MYSHARDID", want: "cluster|myshardid"},
		{args: "FUNCTION LOAD code", want: "function|load", write: true},
		{args: "GET k", want: "get"},
		{args: "XGROUP", err: ErrWrongArity},
		{args: "XGROUP NOPE k", err: ErrUnknownCommand},
		{args: "NOPE", err: ErrUnknownCommand},
		{args: "", err: ErrNoCommand},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			args := splitArgs(tc.args)
			c, err := Lookup(args)
			if tc.err != nil {
				if err != tc.err {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tc.want {
				t.Errorf("got %s, want %s", c.Name, tc.want)
			}
			if IsWrite(args) != tc.write {
				t.Errorf("IsWrite = %v, want %v", !tc.write, tc.write)
			}
		})
	}
}

func TestFlagsString(t *testing.T) {
	if got := (FlagWrite | FlagDenyOOM | FlagMovableKeys).String(); got != "write denyoom movablekeys" {
		t.Errorf("got %q", got)
	}
	if got := (KeyRW | KeyAccess | KeyNotKey).String(); got != "RW access not_key" {
		t.Errorf("got %q", got)
	}
	if got := CommandFlags(0).String(); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestLookupAllocs(t *testing.T) {
	name := []byte("ZUNIONSTORE")
	args := splitArgs("XGROUP CREATE k g $")
	if n := testing.AllocsPerRun(100, func() { _ = LookupCommand(name) }); n != 0 {
		t.Errorf("LookupCommand allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Lookup(args) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsWrite(args) }); n != 0 {
		t.Errorf("IsWrite allocates %v times", n)
	}
}

// splitArgs splits s on spaces; "" stands for an empty argument.
func splitArgs(s string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(s) {
		if f == `""` {
			f = ""
		}
		args = append(args, []byte(f))
	}
	return args
}

func BenchmarkLookupCommand(b *testing.B) {
	for _, name := range []string{"SET", "zunionstore", "georadiusbymember_ro"} {
		n := []byte(name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = LookupCommand(n)
			}
		})
	}
}

// TestEveryCommand looks every command and subcommand up by its upper-case name and
// runs KeyIndexes on argument lists of the smallest and larger sizes: no panic, and
// every index within the arguments.
func TestEveryCommand(t *testing.T) {
	run := func(c *CommandSpec, words []string) {
		t.Helper()
		args := make([][]byte, 0, 12)
		for _, w := range words {
			args = append(args, []byte(strings.ToUpper(w)))
		}
		got, err := Lookup(args)
		if err != nil || got != c {
			t.Errorf("Lookup(%q) = %v, %v; want %s", words, got, err, c.Name)
			return
		}
		min := c.Arity
		if min < 0 {
			min = -min
		}
		for n := len(args); n <= min+6; n++ {
			idx, err := KeyIndexes(args, nil)
			if err == nil && c.Arity > 0 && len(args) != c.Arity {
				t.Errorf("%s with %d args: no arity error", c.Name, len(args))
			}
			for _, i := range idx {
				if i < 1 || i >= len(args) {
					t.Errorf("%s with %d args: index %d", c.Name, len(args), i)
				}
			}
			args = append(args, []byte("1"))
		}
	}
	for i := range commandTable {
		c := &commandTable[i]
		if LookupCommandString(strings.ToUpper(c.Name)) != c {
			t.Errorf("LookupCommandString(%s) fails", c.Name)
		}
		if !c.IsContainer() {
			run(c, []string{c.Name})
			continue
		}
		for j := range c.Subcommands {
			s := &c.Subcommands[j]
			_, sub, _ := strings.Cut(s.Name, "|")
			run(s, []string{c.Name, sub})
		}
	}
}
