package translate

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/datadriven"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// The data-driven cases of testdata/*.txt, run by internal/datadriven
// (go test -run TestDataDriven -rewrite writes the outputs again):
//
//	<directive> [key=value ...]
//	<input lines>
//	----
//	<expected output>
//	<blank line>
//
// Directives:
//
//	config k=v...  (re)creates the translator; keys: source, dest, shard,
//	               slots (0-5460,...), version (6.0), dbs (0=,3=p3:,5=@2 for
//	               db 2 of a standalone destination), include, exclude, allow,
//	               deny (comma lists), publish, flush, swapdb, unknown.
//	stream [recv=ms] [db=n]  feeds one command per line (SELECT n switches the
//	               db, as the link does); output: each command with its ops.
//	stats          prints the counters.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/*.txt", func(t *testing.T, path string) {
		var h ddHarness
		datadriven.RunTest(t, path, h.run)
	})
}

type ddHarness struct {
	tr     *Translator
	offset int64
	db     int
}

func (h *ddHarness) run(t *testing.T, c *datadriven.TestData) string {
	t.Helper()
	switch c.Cmd {
	case "config":
		cfg, err := ddConfig(c.Args)
		if err == nil {
			h.tr, err = New(cfg)
		}
		h.offset, h.db = 0, 0
		if err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	case "scripts":
		return fmt.Sprintf("remembered=%d", h.tr.Scripts().(*ScriptCache).Len())
	case "stats":
		s := h.tr.Stats()
		return fmt.Sprintf("%+v", s)
	case "stream":
		recv := time.UnixMilli(1_000_000)
		if v, ok := c.Args["recv"]; ok {
			ms, _ := strconv.ParseInt(v, 10, 64)
			recv = time.UnixMilli(ms)
		}
		if v, ok := c.Args["db"]; ok {
			h.db, _ = strconv.Atoi(v)
		}
		var out []string
		for _, line := range inputLines(c.Input) {
			args, err := splitArgs(line)
			if err != nil {
				t.Fatalf("%s: %v", c.Pos, err)
			}
			h.offset += 10
			if len(args) == 2 && strings.EqualFold(string(args[0]), "select") {
				h.db, _ = strconv.Atoi(string(args[1]))
			}
			ops, err := h.tr.Translate(h.db, args, h.offset, recv)
			if err != nil {
				out = append(out, line+" -> error: "+err.Error())
				continue
			}
			if len(ops) == 0 {
				out = append(out, line+" -> -")
				continue
			}
			out = append(out, line+" ->")
			for i, op := range ops {
				out = append(out, "  "+formatOp(op))
				if i < len(h.tr.descs) && h.tr.descs[i] != "" {
					out = append(out, "    "+h.tr.descs[i])
				}
			}
		}
		return strings.Join(out, "\n")
	}
	t.Fatalf("%s: unknown directive %q", c.Pos, c.Cmd)
	return ""
}

func ddConfig(a map[string]string) (Config, error) {
	cfg := Config{SourceSlots: []slots.Range{{Start: 0, End: slots.NumSlots - 1}}}
	list := func(k string) []string {
		if v, ok := a[k]; ok && v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	policy := func(k string) Policy {
		switch a[k] {
		case "apply":
			return Apply
		case "ignore":
			return Ignore
		case "stop":
			return Stop
		}
		return Default
	}
	if a["source"] == "standalone" {
		cfg.SourceKind = SourceStandalone
	}
	if a["dest"] == "standalone" {
		cfg.DestKind = DestStandalone
	}
	cfg.Source, _ = strconv.Atoi(a["shard"])
	if _, ok := a["slots"]; ok {
		cfg.SourceSlots = nil
		for _, r := range list("slots") {
			lo, hi, _ := strings.Cut(r, "-")
			s, _ := strconv.Atoi(lo)
			e, _ := strconv.Atoi(hi)
			cfg.SourceSlots = append(cfg.SourceSlots, slots.Range{Start: s, End: e})
		}
	}
	if v, ok := a["version"]; ok {
		ma, mi, _ := strings.Cut(v, ".")
		cfg.DestVersion.Major, _ = strconv.Atoi(ma)
		cfg.DestVersion.Minor, _ = strconv.Atoi(mi)
	}
	if dbs := list("dbs"); dbs != nil {
		cfg.DBs = map[int]Target{}
		for _, d := range dbs {
			k, v, _ := strings.Cut(d, "=")
			db, _ := strconv.Atoi(k)
			if strings.HasPrefix(v, "@") {
				n, _ := strconv.Atoi(v[1:])
				cfg.DBs[db] = Target{DB: n}
			} else {
				cfg.DBs[db] = Target{Prefix: v}
			}
		}
	}
	cfg.Include, cfg.Exclude = list("include"), list("exclude")
	cfg.Allow, cfg.Deny = list("allow"), list("deny")
	cfg.Publish = a["publish"] == "on"
	cfg.Flush, cfg.SwapDB, cfg.Unknown = policy("flush"), policy("swapdb"), policy("unknown")
	cfg.Now = func() time.Time { return time.UnixMilli(2_000_000) }
	return cfg, nil
}

// splitArgs splits a test line on blanks; an argument in double quotes is
// unquoted with strconv (so "a b", "" and "\x00" can be written).
func splitArgs(line string) ([][]byte, error) {
	var out [][]byte
	for s := strings.TrimSpace(line); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, err
			}
			u, _ := strconv.Unquote(q)
			out = append(out, []byte(u))
			s = s[len(q):]
			continue
		}
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			i = len(s)
		}
		out = append(out, []byte(s[:i]))
		s = s[i:]
	}
	return out, nil
}

// formatOp renders an op for the expected output.
func formatOp(op apply.Op) string {
	slot := strconv.Itoa(op.Slot)
	if op.Slot == apply.AllMasters {
		slot = "all"
	}
	head := fmt.Sprintf("slot=%s off=%d", slot, op.Offset)
	if op.Barrier != nil {
		return fmt.Sprintf("barrier %s key=%s", head, quoteArg(op.Key))
	}
	var cmds []string
	rest := op.Cmd
	for len(rest) > 0 {
		args, n, err := resp.ParseCommand(rest, nil, nil)
		if err != nil || n == 0 {
			cmds = append(cmds, "<bad: "+fmt.Sprint(err)+">")
			break
		}
		var parts []string
		for _, a := range args {
			parts = append(parts, quoteArg(a))
		}
		cmds = append(cmds, strings.Join(parts, " "))
		rest = rest[n:]
	}
	nNote := ""
	if op.N != len(cmds) {
		nNote = fmt.Sprintf(" N=%d(!=%d)", op.N, len(cmds))
	}
	return fmt.Sprintf("%s%s: %s", head, nNote, strings.Join(cmds, " | "))
}

func quoteArg(a []byte) string {
	s := string(a)
	if s == "" || strings.ContainsAny(s, " \t\"|") || strconv.Quote(s) != `"`+s+`"` {
		return strconv.Quote(s)
	}
	return s
}

// inputLines splits a directive's input into its lines (none when it is empty).
func inputLines(in string) []string {
	if in == "" {
		return nil
	}
	return strings.Split(in, "\n")
}
