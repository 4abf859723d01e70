package fidelity

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/slots"
)

// Unit is what the generator makes at once and what shrinking removes at
// once: one command, a MULTI ... EXEC group, or a blocking command with the
// push that serves it.
type Unit struct {
	Cmds [][]string
	// Blocking: Cmds[0] runs on a second connection and blocks until Cmds[1]
	// (on the main connection) serves it.
	Blocking bool
	// SourceOnly units (CONFIG SET) are sent to the source only; they are not
	// replicated and change only encodings.
	SourceOnly bool
}

func (u Unit) String() string {
	var parts []string
	for _, c := range u.Cmds {
		parts = append(parts, quoteCmd(c))
	}
	s := strings.Join(parts, "; ")
	if u.Blocking {
		s = "[blocking] " + s
	}
	return s
}

func quoteCmd(c []string) string {
	q := make([]string, len(c))
	for i, a := range c {
		if a == "" || strings.ContainsAny(a, " \"\n\\'") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// genConfig says what a setup allows.
type genConfig struct {
	clusterSource bool // every command's keys share one hash tag
	dbs           int  // databases used (SELECT, MOVE, SWAPDB, COPY DB) when > 1
	swapdb        bool // SWAPDB is carried (standalone destination)
	copyDBs       int  // COPY ... DB n with n below this (a standalone source has dbs the sync may not carry)
	functions     bool // FUNCTION / FCALL (7.0+)
}

// Generator makes random valid commands from a Grammar.
type Generator struct {
	g     Grammar
	cfg   genConfig
	rng   *rand.Rand
	names []string // write commands of the grammar
	now   func() time.Time
	cov   *Coverage
	tag   string // the current command's hash tag ("" none)
	// numkeys is the count an integer "numkeys" argument fixed for the
	// following multiple argument (and WEIGHTS).
	numkeys int
	tokens  []string // tokens used by the current command
	dumps   func(key string) (string, bool)
}

// excluded are the write commands the grammar path never sends: they are
// admin commands, handled by a hand-written generator, or would block.
var excluded = map[string]bool{
	"flushall": true, "flushdb": true, "swapdb": true, "move": true, "select": true, "migrate": true,
	"restore": true, "restore-asking": true, "pfdebug": true, "pfselftest": true, "debug": true,
	"shutdown": true, "replicaof": true, "slaveof": true, "failover": true, "sort": true, "sort_ro": true,
	"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true, "fcall": true, "fcall_ro": true,
	"blpop": true, "brpop": true, "brpoplpush": true, "blmove": true, "blmpop": true,
	"bzpopmin": true, "bzpopmax": true, "bzmpop": true, "publish": true, "spublish": true,
	"xread": true, "xreadgroup": true, "exec": true, "multi": true, "discard": true, "watch": true, "unwatch": true,
	"copy": true, // hand-written: DB only where the setup has several dbs
}

// weights raise how often the commands with a large option space are sent
// (the others are sent once per pass over the list).
var weights = map[string]int{
	"set": 4, "getex": 3, "expire": 3, "pexpire": 2, "expireat": 2, "xadd": 6, "xtrim": 5, "xsetid": 2,
	"xautoclaim": 3, "xclaim": 2, "xgroup create": 3, "xgroup createconsumer": 2, "xgroup setid": 2,
	"zadd": 4, "zrangestore": 2, "lmpop": 2, "zmpop": 2, "bitfield": 3, "pfmerge": 2, "geosearchstore": 3,
	"setrange": 1, "getdel": 1, "zunionstore": 1, "zinterstore": 1, "lmove": 1, "georadius": 1,
}

func newGenerator(g Grammar, cfg genConfig, seed uint64, cov *Coverage) *Generator {
	gen := &Generator{g: g, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: time.Now, cov: cov}
	for _, n := range g.Names() {
		if excluded[strings.Fields(n)[0]] || strings.HasPrefix(n, "config") || strings.HasPrefix(n, "script") ||
			strings.HasPrefix(n, "function") || strings.HasPrefix(n, "cluster") || strings.HasPrefix(n, "xgroup help") {
			continue
		}
		if !writes(n) {
			continue
		}
		for i := 0; i < 1+weights[n]; i++ {
			gen.names = append(gen.names, n)
		}
	}
	return gen
}

// writes reports whether the command (or subcommand) writes or may replicate.
func writes(name string) bool {
	var args [][]byte
	for _, f := range strings.Fields(name) {
		args = append(args, []byte(f))
	}
	spec, err := slots.Lookup(args)
	if err != nil || spec == nil {
		return false
	}
	return spec.Write || spec.Flags.Has(slots.FlagMayReplicate)
}

// Next returns the next unit.
func (g *Generator) Next() Unit {
	g.pickTag()
	r := g.rng.IntN(100)
	switch {
	case r < 8:
		return g.multi()
	case r < 13:
		return g.script()
	case r < 16:
		return g.blocking()
	case r < 20:
		return g.sortUnit()
	case r < 22:
		return g.restore()
	case r < 24:
		return g.copyUnit()
	case r < 25:
		return g.configSet()
	case r < 28 && g.cfg.dbs > 1:
		return g.dbUnit()
	case r < 29 && g.rng.IntN(8) == 0:
		return g.unit(g.record("flushdb", []string{"FLUSHDB"}))
	}
	return g.unit(g.command())
}

func (g *Generator) unit(c []string) Unit { return Unit{Cmds: [][]string{c}} }

// pickTag chooses the hash tag of the next unit's keys: always one on a
// cluster source (a command's keys must share a slot), sometimes one on a
// standalone source.
func (g *Generator) pickTag() {
	g.tag = ""
	if g.cfg.clusterSource || g.rng.IntN(4) == 0 {
		g.tag = "{" + string(rune('A'+g.rng.IntN(3))) + "}"
	}
}

// command makes one grammar command.
func (g *Generator) command() []string {
	name := g.names[g.rng.IntN(len(g.names))]
	return g.fromGrammar(name)
}

func (g *Generator) fromGrammar(name string) []string {
	c := g.g[name]
	g.tokens = g.tokens[:0]
	g.numkeys = 0
	out := strings.Fields(strings.ToUpper(name))
	for _, a := range c.Args {
		out = g.arg(out, a, c.Group, name)
	}
	return g.record(name, out)
}

// record notes the command's option combination in the coverage.
func (g *Generator) record(name string, args []string) []string {
	if g.cov != nil {
		toks := append([]string(nil), g.tokens...)
		sort.Strings(toks)
		g.cov.add(name, strings.Join(dedup(toks), " "))
	}
	g.tokens = g.tokens[:0]
	return args
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (g *Generator) arg(out []string, a Arg, group, cmd string) []string {
	if a.Optional && g.rng.IntN(100) < 50 {
		return out
	}
	if a.Token != "" && strings.EqualFold(a.Token, "BLOCK") {
		return out // XREADGROUP BLOCK would block the connection
	}
	n := 1
	if a.Multiple {
		n = 1 + g.rng.IntN(3)
		if g.numkeys > 0 {
			n = g.numkeys
		}
	}
	for i := 0; i < n; i++ {
		if a.Token != "" && (i == 0 || a.MultiTok) {
			out = append(out, a.Token)
			g.tokens = append(g.tokens, strings.ToUpper(a.Token))
		}
		out = g.value(out, a, group, cmd)
	}
	return out
}

func (g *Generator) value(out []string, a Arg, group, cmd string) []string {
	switch a.Type {
	case "pure-token":
		return out
	case "oneof":
		if len(a.Args) == 0 {
			return out
		}
		return g.arg(out, nonOptional(a.Args[g.rng.IntN(len(a.Args))]), group, cmd)
	case "block":
		for _, b := range a.Args {
			out = g.arg(out, b, group, cmd)
		}
		return out
	case "key":
		return append(out, g.key(group, a.Name))
	case "integer":
		v := g.integer(a.Name, cmd)
		if strings.Contains(a.Name, "numkeys") {
			g.numkeys = v
		}
		return append(out, strconv.Itoa(v))
	case "double":
		return append(out, g.double(a.Name))
	case "unix-time":
		return append(out, g.unixTime(a.Name))
	case "pattern":
		return append(out, "*")
	}
	return append(out, g.str(a.Name, cmd))
}

func nonOptional(a Arg) Arg { a.Optional = false; return a }

// keyPools maps a command group to the key prefix of its type.
var keyPools = map[string]string{
	"string": "s", "bitmap": "b", "list": "l", "hash": "h", "set": "x", "sorted-set": "z",
	"stream": "t", "geo": "g", "hyperloglog": "p",
}

var allPools = []string{"s", "b", "l", "h", "x", "z", "t", "g", "p"}

func (g *Generator) key(group, name string) string {
	p, ok := keyPools[group]
	if !ok || g.rng.IntN(10) == 0 {
		p = allPools[g.rng.IntN(len(allPools))]
	}
	return g.tag + p + strconv.Itoa(g.rng.IntN(5))
}

func (g *Generator) integer(name, cmd string) int {
	switch {
	case strings.Contains(name, "numkeys"):
		return 1 + g.rng.IntN(3)
	case name == "seconds" || name == "milliseconds":
		v := 100 + g.rng.IntN(5000)
		if g.rng.IntN(12) == 0 {
			v = -1 - g.rng.IntN(3) // an expire in the past deletes
		}
		if name == "milliseconds" {
			v *= 1000
		}
		return v
	case name == "timeout":
		return 1
	case strings.Contains(name, "offset") || name == "bit":
		return g.rng.IntN(64)
	case name == "db" || name == "destination-db":
		return g.rng.IntN(max(g.cfg.dbs, 1))
	case name == "min-idle-time" || name == "ms":
		return g.rng.IntN(3)
	}
	return g.rng.IntN(12) - 2
}

func (g *Generator) double(name string) string {
	switch name {
	case "longitude":
		return strconv.FormatFloat(g.rng.Float64()*20-10, 'f', 5, 64)
	case "latitude":
		return strconv.FormatFloat(g.rng.Float64()*20+30, 'f', 5, 64)
	case "radius", "width", "height":
		return "500"
	}
	return []string{"1", "2", "2.5", "-1", "0", "10", "inf", "-inf", "3.25"}[g.rng.IntN(9)]
}

func (g *Generator) unixTime(name string) string {
	d := time.Duration(100+g.rng.IntN(5000)) * time.Second
	if g.rng.IntN(12) == 0 {
		d = -d
	}
	t := g.now().Add(d)
	if strings.Contains(name, "milli") {
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return strconv.FormatInt(t.Unix(), 10)
}

var values = []string{"a", "b", "c", "1", "2", "3", "10", "-5", "1.5", "", "hello world", "x"}

func (g *Generator) str(name, cmd string) string {
	switch {
	case strings.Contains(name, "field"):
		return "f" + strconv.Itoa(g.rng.IntN(4))
	case name == "member" || name == "element" || name == "pivot" || name == "member1" || name == "member2":
		return "m" + strconv.Itoa(g.rng.IntN(4))
	case name == "id" || name == "start" || name == "end" || name == "last-id" || name == "max-deleted-id":
		return []string{"*", "1-1", "2-0", "0-1", "5", "0", "+", "-", "3-5", "$", "999999999999-0"}[g.rng.IntN(11)]
	case name == "threshold":
		return []string{"0", "2", "5", "1-1", "3-0"}[g.rng.IntN(5)]
	case name == "group":
		return "g" + strconv.Itoa(g.rng.IntN(2))
	case name == "consumer":
		return "c" + strconv.Itoa(g.rng.IntN(2))
	case name == "encoding":
		return []string{"i8", "u8", "i16", "u4", "i64", "u63"}[g.rng.IntN(6)]
	case name == "entries-read":
		return strconv.Itoa(g.rng.IntN(5))
	case name == "unit":
		return "km"
	case name == "operation":
		return []string{"AND", "OR", "XOR", "NOT"}[g.rng.IntN(4)]
	case name == "wherefrom" || name == "whereto":
		return []string{"LEFT", "RIGHT"}[g.rng.IntN(2)]
	}
	return values[g.rng.IntN(len(values))]
}
