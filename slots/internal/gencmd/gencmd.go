// Package gencmd turns a capture of a real redis-server's COMMAND and COMMAND DOCS
// replies into the Go table of package slots (commands_gen.go). It is a library so
// that a test of package slots can check, in process, that the checked-in table is
// what the checked-in captures produce.
package gencmd

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Command is one command or subcommand as the generator sees it.
type Command struct {
	Name                    string
	Arity                   int
	Flags                   []string
	FirstKey, LastKey, Step int
	KeySpecs                []KeySpec
	Subcommands             []Command
	Since, Group            string
}

// KeySpec is one Redis 7.0 key specification.
type KeySpec struct {
	Flags     []string
	Notes     string
	Begin     string // "index", "keyword", "unknown"
	Index     int
	Keyword   string
	StartFrom int
	Find      string // "range", "keynum", "unknown"
	LastKey   int
	KeyStep   int
	Limit     int
	KeyNumIdx int
	FirstKey  int
}

// Go names of the flags, as package slots declares them.
var commandFlagIdents = map[string]string{
	"write": "FlagWrite", "readonly": "FlagReadonly", "denyoom": "FlagDenyOOM",
	"module": "FlagModule", "admin": "FlagAdmin", "pubsub": "FlagPubSub",
	"noscript": "FlagNoScript", "blocking": "FlagBlocking", "loading": "FlagLoading",
	"stale": "FlagStale", "skip_monitor": "FlagSkipMonitor", "skip_slowlog": "FlagSkipSlowlog",
	"asking": "FlagAsking", "fast": "FlagFast", "no_auth": "FlagNoAuth",
	"may_replicate": "FlagMayReplicate", "no_mandatory_keys": "FlagNoMandatoryKeys",
	"no_async_loading": "FlagNoAsyncLoading", "no_multi": "FlagNoMulti",
	"movablekeys": "FlagMovableKeys", "allow_busy": "FlagAllowBusy",
}

var keySpecFlagIdents = map[string]string{
	"RO": "KeyRO", "RW": "KeyRW", "OW": "KeyOW", "RM": "KeyRM", "access": "KeyAccess",
	"update": "KeyUpdate", "insert": "KeyInsert", "delete": "KeyDelete",
	"not_key": "KeyNotKey", "incomplete": "KeyIncomplete", "variable_flags": "KeyVariableFlags",
}

// keyProcs names the hand-written key finders of package slots: the commands whose
// key specs are incomplete (Redis 7.0 then falls back to a getkeys procedure).
// GEORADIUS, XREAD and the numkeys commands need none: their specs are complete.
var keyProcs = map[string]string{
	"sort":    "keyProcSort",
	"migrate": "keyProcMigrate",
}

// MaxKeySpecs is the most key specs a command may have (package slots keeps the
// ranges they yield in a fixed array).
const MaxKeySpecs = 4

// Parse reads the COMMAND and COMMAND DOCS captures (RESP2) into commands sorted
// by name, with the hand-written additions merged in.
func Parse(command, docs []byte) ([]Command, error) {
	cv, err := parseAll(command)
	if err != nil {
		return nil, fmt.Errorf("COMMAND capture: %w", err)
	}
	dv, err := parseAll(docs)
	if err != nil {
		return nil, fmt.Errorf("COMMAND DOCS capture: %w", err)
	}
	docMap, err := dv.asMap()
	if err != nil {
		return nil, fmt.Errorf("COMMAND DOCS capture: %w", err)
	}
	var cmds []Command
	for _, e := range cv.elems {
		c, err := parseCommand(e, docMap)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	cmds, err = merge(cmds, Additions)
	if err != nil {
		return nil, err
	}
	addFlag(cmds, MayReplicate, "may_replicate")
	sortCommands(cmds)
	return cmds, check(cmds)
}

func parseCommand(v node, docs map[string]node) (Command, error) {
	if v.typ != '*' || len(v.elems) < 10 {
		return Command{}, fmt.Errorf("COMMAND entry: want 10 elements, got %d", len(v.elems))
	}
	e := v.elems
	c := Command{
		Name:     strings.ToLower(e[0].str),
		Arity:    int(e[1].num),
		Flags:    e[2].strings(),
		FirstKey: int(e[3].num),
		LastKey:  int(e[4].num),
		Step:     int(e[5].num),
	}
	if d, ok := docs[c.Name]; ok {
		dm, err := d.asMap()
		if err != nil {
			return Command{}, fmt.Errorf("docs of %s: %w", c.Name, err)
		}
		c.Since, c.Group = dm["since"].str, dm["group"].str
		if sub, ok := dm["subcommands"]; ok {
			subDocs, err := sub.asMap()
			if err != nil {
				return Command{}, fmt.Errorf("docs of %s: %w", c.Name, err)
			}
			for k, v := range subDocs {
				docs[k] = v
			}
		}
	}
	for _, ks := range e[8].elems {
		spec, err := parseKeySpec(ks)
		if err != nil {
			return Command{}, fmt.Errorf("key spec of %s: %w", c.Name, err)
		}
		c.KeySpecs = append(c.KeySpecs, spec)
	}
	for _, s := range e[9].elems {
		sc, err := parseCommand(s, docs)
		if err != nil {
			return Command{}, err
		}
		c.Subcommands = append(c.Subcommands, sc)
	}
	return c, nil
}

func parseKeySpec(v node) (KeySpec, error) {
	m, err := v.asMap()
	if err != nil {
		return KeySpec{}, err
	}
	ks := KeySpec{Flags: m["flags"].strings(), Notes: m["notes"].str}
	bs, err := m["begin_search"].asMap()
	if err != nil {
		return KeySpec{}, err
	}
	bspec, err := bs["spec"].asMap()
	if err != nil {
		return KeySpec{}, err
	}
	ks.Begin = bs["type"].str
	switch ks.Begin {
	case "index":
		ks.Index = int(bspec["index"].num)
	case "keyword":
		ks.Keyword = bspec["keyword"].str
		ks.StartFrom = int(bspec["startfrom"].num)
	case "unknown":
	default:
		return KeySpec{}, fmt.Errorf("begin_search type %q", ks.Begin)
	}
	fk, err := m["find_keys"].asMap()
	if err != nil {
		return KeySpec{}, err
	}
	fspec, err := fk["spec"].asMap()
	if err != nil {
		return KeySpec{}, err
	}
	ks.Find = fk["type"].str
	switch ks.Find {
	case "range":
		ks.LastKey = int(fspec["lastkey"].num)
		ks.KeyStep = int(fspec["keystep"].num)
		ks.Limit = int(fspec["limit"].num)
	case "keynum":
		ks.KeyNumIdx = int(fspec["keynumidx"].num)
		ks.FirstKey = int(fspec["firstkey"].num)
		ks.KeyStep = int(fspec["keystep"].num)
	case "unknown":
	default:
		return KeySpec{}, fmt.Errorf("find_keys type %q", ks.Find)
	}
	return ks, nil
}

// merge adds the hand-written additions: new commands, and new subcommands of
// commands the capture has. An addition the capture already knows is an error: the
// capture is newer than the addition, which must then go.
func merge(cmds, adds []Command) ([]Command, error) {
	index := make(map[string]int, len(cmds))
	for i, c := range cmds {
		index[c.Name] = i
	}
	for _, a := range adds {
		container, _, isSub := strings.Cut(a.Name, "|")
		if !isSub {
			if _, dup := index[a.Name]; dup {
				return nil, fmt.Errorf("addition %s is in the capture: remove it from the additions", a.Name)
			}
			index[a.Name] = len(cmds)
			cmds = append(cmds, a)
			continue
		}
		i, ok := index[container]
		if !ok {
			return nil, fmt.Errorf("addition %s: no command %s in the capture", a.Name, container)
		}
		for _, s := range cmds[i].Subcommands {
			if s.Name == a.Name {
				return nil, fmt.Errorf("addition %s is in the capture: remove it from the additions", a.Name)
			}
		}
		cmds[i].Subcommands = append(cmds[i].Subcommands, a)
	}
	return cmds, nil
}

// addFlag adds flag to the named commands that the capture has, unless they have
// it already.
func addFlag(cmds []Command, names []string, flag string) {
	for i := range cmds {
		if slices.Contains(names, cmds[i].Name) && !slices.Contains(cmds[i].Flags, flag) {
			cmds[i].Flags = append(cmds[i].Flags, flag)
		}
	}
}

func sortCommands(cmds []Command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for i := range cmds {
		sortCommands(cmds[i].Subcommands)
	}
}

// check rejects what package slots cannot represent.
func check(cmds []Command) error {
	for _, c := range cmds {
		if len(c.KeySpecs) > MaxKeySpecs {
			return fmt.Errorf("%s has %d key specs, more than %d", c.Name, len(c.KeySpecs), MaxKeySpecs)
		}
		if len(c.Name) > 32 && !strings.Contains(c.Name, "|") {
			return fmt.Errorf("%s: name longer than 32 bytes", c.Name)
		}
		if c.Name == "" || c.Name[0] < 'a' || c.Name[0] > 'z' {
			return fmt.Errorf("%q: a name must start with a letter", c.Name)
		}
		for _, f := range c.Flags {
			if _, ok := commandFlagIdents[f]; !ok {
				return fmt.Errorf("%s: unknown command flag %q", c.Name, f)
			}
		}
		for _, ks := range c.KeySpecs {
			for _, f := range ks.Flags {
				if _, ok := keySpecFlagIdents[f]; !ok {
					return fmt.Errorf("%s: unknown key spec flag %q", c.Name, f)
				}
			}
		}
		if err := check(c.Subcommands); err != nil {
			return err
		}
	}
	return nil
}

// Generate returns the gofmt-ed source of commands_gen.go. sources names the
// captures in the header comment.
func Generate(command, docs []byte, sources string) ([]byte, error) {
	cmds, err := Parse(command, docs)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by slots/internal/gencommands from %s; DO NOT EDIT.\n\n", sources)
	b.WriteString("package slots\n\n")
	b.WriteString("// commandTable is every command known to the capture and the additions, sorted by name.\n")
	fmt.Fprintf(&b, "var commandTable = [%d]CommandSpec{\n", len(cmds))
	for _, c := range cmds {
		writeCommand(&b, c)
	}
	b.WriteString("}\n\n")
	b.WriteString("// commandIndex[c-'a'] is the index in commandTable of the first command whose name\n")
	b.WriteString("// starts with c or a later letter; commandIndex[26] is len(commandTable).\n")
	b.WriteString("var commandIndex = [27]uint16{")
	for c := byte('a'); c <= 'z'+1; c++ {
		i := sort.Search(len(cmds), func(i int) bool { return cmds[i].Name[0] >= c })
		fmt.Fprintf(&b, "%d, ", i)
	}
	b.WriteString("}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gofmt: %w", err)
	}
	return out, nil
}

func writeCommand(b *bytes.Buffer, c Command) {
	fmt.Fprintf(b, "{Name: %q, Arity: %d, Flags: %s, FirstKey: %d, LastKey: %d, Step: %d",
		c.Name, c.Arity, idents(c.Flags, commandFlagIdents), c.FirstKey, c.LastKey, c.Step)
	write := false
	for _, f := range c.Flags {
		write = write || f == "write"
	}
	fmt.Fprintf(b, ", Write: %t, Since: %q, Group: %q", write, c.Since, c.Group)
	if p, ok := keyProcs[c.Name]; ok {
		fmt.Fprintf(b, ", proc: %s", p)
	}
	if len(c.KeySpecs) > 0 {
		b.WriteString(",\nKeySpecs: []KeySpec{\n")
		for _, ks := range c.KeySpecs {
			writeKeySpec(b, ks)
		}
		b.WriteString("}")
	}
	if len(c.Subcommands) > 0 {
		b.WriteString(",\nSubcommands: []CommandSpec{\n")
		for _, s := range c.Subcommands {
			writeCommand(b, s)
		}
		b.WriteString("}")
	}
	b.WriteString("},\n")
}

func writeKeySpec(b *bytes.Buffer, ks KeySpec) {
	fmt.Fprintf(b, "{Flags: %s", idents(ks.Flags, keySpecFlagIdents))
	switch ks.Begin {
	case "index":
		fmt.Fprintf(b, ", Begin: BeginSearch{Type: BeginIndex, Index: %d}", ks.Index)
	case "keyword":
		fmt.Fprintf(b, ", Begin: BeginSearch{Type: BeginKeyword, Keyword: %q, StartFrom: %d}", ks.Keyword, ks.StartFrom)
	}
	switch ks.Find {
	case "range":
		fmt.Fprintf(b, ", Find: FindKeys{Type: FindRange, LastKey: %d, KeyStep: %d, Limit: %d}", ks.LastKey, ks.KeyStep, ks.Limit)
	case "keynum":
		fmt.Fprintf(b, ", Find: FindKeys{Type: FindKeynum, KeyNumIdx: %d, FirstKey: %d, KeyStep: %d}", ks.KeyNumIdx, ks.FirstKey, ks.KeyStep)
	}
	if ks.Notes != "" {
		fmt.Fprintf(b, ", Notes: %s", strconv.Quote(ks.Notes))
	}
	b.WriteString("},\n")
}

func idents(flags []string, names map[string]string) string {
	if len(flags) == 0 {
		return "0"
	}
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = names[f]
	}
	return strings.Join(out, " | ")
}
