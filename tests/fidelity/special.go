package fidelity

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/xsync/xsync/slots"
)

// The hand-written generators: what a grammar cannot say (a script's body, a
// DUMP payload, a push that serves a blocked pop, keys a SORT pattern forms).

// multi is MULTI, 1-4 commands, EXEC (sometimes DISCARD, sometimes with a
// command refused when queued, which makes EXEC fail: nothing propagates).
func (g *Generator) multi() Unit {
	u := Unit{Cmds: [][]string{{"MULTI"}}}
	n := 1 + g.rng.IntN(4)
	toks := []string{}
	for i := 0; i < n; i++ {
		u.Cmds = append(u.Cmds, g.command())
	}
	if g.rng.IntN(6) == 0 {
		u.Cmds = append(u.Cmds, []string{"SET", g.tag + "s0"}) // wrong arity: queued error, EXECABORT
		toks = append(toks, "QUEUED-ERROR")
	}
	if !g.cfg.clusterSource && g.rng.IntN(8) == 0 {
		// On a master, REPLICAOF NO ONE inside MULTI runs (a no-op) and is
		// never propagated: the replica is the reference, the effect is none.
		u.Cmds = append(u.Cmds, []string{"REPLICAOF", "NO", "ONE"})
		toks = append(toks, "REPLICAOF")
	}
	end := "EXEC"
	if g.rng.IntN(10) == 0 {
		end = "DISCARD"
	}
	toks = append(toks, end)
	u.Cmds = append(u.Cmds, []string{end})
	g.tokens = toks
	g.record("multi", nil)
	return u
}

// scripts write through redis.call; each takes the keys it declares.
var scripts = []struct {
	body string
	keys int
	args int
}{
	{"redis.call('set', KEYS[1], ARGV[1]) return 1", 1, 1},
	{"redis.call('incr', KEYS[1]) redis.call('rpush', KEYS[2], ARGV[1]) return 1", 2, 1},
	{"return redis.call('del', KEYS[1])", 1, 0},
	{"redis.call('set', KEYS[1], 'x') redis.call('expire', KEYS[1], 1000) return 1", 1, 0},
	{"redis.call('sadd', KEYS[1], ARGV[1]) return redis.call('scard', KEYS[1])", 1, 1},
	{"local v = redis.call('get', KEYS[1]) if v then redis.call('set', KEYS[2], v) end return 1", 2, 0},
	{"redis.call('zadd', KEYS[1], 1, ARGV[1]) redis.call('zincrby', KEYS[1], 2, ARGV[1]) return 1", 1, 1},
}

const library = "#!lua name=fidelity\n" +
	"redis.register_function('fset', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n" +
	"redis.register_function('fpush', function(keys, args) redis.call('rpush', keys[1], args[1]) return redis.call('incr', keys[2]) end)\n"

func (g *Generator) script() Unit {
	if g.cfg.functions && g.rng.IntN(3) == 0 {
		u := Unit{}
		if g.rng.IntN(4) == 0 {
			u.Cmds = append(u.Cmds, []string{"FUNCTION", "LOAD", "REPLACE", library})
			g.tokens = []string{"REPLACE"}
			g.record("function load", nil)
		}
		if g.rng.IntN(2) == 0 {
			u.Cmds = append(u.Cmds, []string{"FCALL", "fset", "1", g.tag + "s" + strconv.Itoa(g.rng.IntN(5)), values[g.rng.IntN(len(values))]})
		} else {
			u.Cmds = append(u.Cmds, []string{"FCALL", "fpush", "2", g.tag + "l" + strconv.Itoa(g.rng.IntN(5)), g.tag + "s" + strconv.Itoa(g.rng.IntN(5)), "v"})
		}
		g.record("fcall", nil)
		return u
	}
	s := scripts[g.rng.IntN(len(scripts))]
	cmd := []string{"EVAL", s.body}
	if g.rng.IntN(3) == 0 {
		sum := sha1.Sum([]byte(s.body))
		cmd = []string{"EVALSHA", hex.EncodeToString(sum[:])}
	}
	cmd = append(cmd, strconv.Itoa(s.keys))
	pools := []string{"s", "l", "x", "z"}
	for i := 0; i < s.keys; i++ {
		cmd = append(cmd, g.tag+pools[g.rng.IntN(len(pools))]+strconv.Itoa(g.rng.IntN(5)))
	}
	for i := 0; i < s.args; i++ {
		cmd = append(cmd, values[g.rng.IntN(len(values))])
	}
	g.record(strings.ToLower(cmd[0]), nil)
	return g.unit(cmd)
}

var blockingNames = []string{"blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"}

// blocking is a blocking pop on an empty key, served by a push on the main
// connection.
func (g *Generator) blocking() Unit {
	var names []string
	for _, n := range blockingNames {
		if g.g[n] != nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return g.unit(g.command())
	}
	name := names[g.rng.IntN(len(names))]
	cmd := g.fromGrammar(name)
	args := make([][]byte, len(cmd))
	for i, a := range cmd {
		args[i] = []byte(a)
	}
	idx, err := slots.KeyIndexes(args, nil)
	if err != nil || len(idx) == 0 {
		return g.unit(cmd)
	}
	key := cmd[idx[0]]
	push := []string{"LPUSH", key, values[g.rng.IntN(len(values))]}
	if strings.HasPrefix(name, "bz") {
		push = []string{"ZADD", key, strconv.Itoa(g.rng.IntN(5)), "m" + strconv.Itoa(g.rng.IntN(4))}
	}
	return Unit{Cmds: [][]string{cmd, push}, Blocking: true}
}

// sortUnit is SORT ... [BY] [LIMIT] [GET]... [ASC|DESC] [ALPHA] STORE, with the
// weights and hash fields its patterns read.
func (g *Generator) sortUnit() Unit {
	u := Unit{}
	for i := 0; i < 2; i++ {
		v := values[g.rng.IntN(len(values))]
		if g.rng.IntN(2) == 0 {
			v = "m" + strconv.Itoa(g.rng.IntN(4))
		}
		u.Cmds = append(u.Cmds, []string{"SET", g.tag + "w_" + v, strconv.Itoa(g.rng.IntN(100))})
		u.Cmds = append(u.Cmds, []string{"HSET", g.tag + "hw_" + v, "f", strconv.Itoa(g.rng.IntN(100))})
	}
	pools := []string{"l", "x", "z"}
	cmd := []string{"SORT", g.tag + pools[g.rng.IntN(3)] + strconv.Itoa(g.rng.IntN(5))}
	var toks []string
	if g.rng.IntN(3) > 0 {
		pats := []string{g.tag + "w_*", g.tag + "hw_*->f", "nosort", "w_*"}
		cmd = append(cmd, "BY", pats[g.rng.IntN(len(pats))])
		toks = append(toks, "BY")
	}
	if g.rng.IntN(3) == 0 {
		cmd = append(cmd, "LIMIT", strconv.Itoa(g.rng.IntN(4)-1), strconv.Itoa(g.rng.IntN(5)-1))
		toks = append(toks, "LIMIT")
	}
	for n := g.rng.IntN(3); n > 0; n-- {
		gets := []string{"#", g.tag + "w_*", g.tag + "hw_*->f"}
		cmd = append(cmd, "GET", gets[g.rng.IntN(len(gets))])
		toks = append(toks, "GET")
	}
	switch g.rng.IntN(3) {
	case 0:
		cmd = append(cmd, "DESC")
		toks = append(toks, "DESC")
	case 1:
		cmd = append(cmd, "ASC")
		toks = append(toks, "ASC")
	}
	// ALPHA BY a pattern leaves equal values (and missing ones) in the order
	// Redis reads the key in (a set's or zset's hash table order, which no
	// other server shares) and, with LIMIT, to pqsort: only a list without
	// LIMIT sorts the same everywhere. A numeric sort breaks ties by the
	// elements' bytes.
	byPattern := len(cmd) > 3 && cmd[2] == "BY" && strings.Contains(cmd[3], "*")
	if g.rng.IntN(2) == 0 && (!byPattern || cmd[1][len(cmd[1])-2] == 'l' && !slices.Contains(toks, "LIMIT")) {
		cmd = append(cmd, "ALPHA")
		toks = append(toks, "ALPHA")
	}
	cmd = append(cmd, "STORE", g.tag+"l"+strconv.Itoa(g.rng.IntN(5)))
	toks = append(toks, "STORE")
	u.Cmds = append(u.Cmds, cmd)
	g.tokens = toks
	g.record("sort", nil)
	return u
}

// restore is RESTORE of a DUMP payload of a key of the same type.
func (g *Generator) restore() Unit {
	p := allPools[g.rng.IntN(len(allPools))]
	from := g.tag + p + strconv.Itoa(g.rng.IntN(5))
	payload, ok := "", false
	if g.dumps != nil {
		payload, ok = g.dumps(from)
	}
	if !ok {
		return g.unit(g.command())
	}
	var toks []string
	ttl := "0"
	abs := g.rng.IntN(3) == 0
	switch {
	case abs:
		ttl = strconv.FormatInt(g.now().Add(1000*1e9).UnixMilli(), 10)
		toks = append(toks, "ABSTTL")
	case g.rng.IntN(2) == 0:
		ttl = "500000"
	}
	cmd := []string{"RESTORE", g.tag + p + strconv.Itoa(g.rng.IntN(5)), ttl, payload}
	if g.rng.IntN(3) > 0 {
		cmd = append(cmd, "REPLACE")
		toks = append(toks, "REPLACE")
	}
	if abs {
		cmd = append(cmd, "ABSTTL")
	}
	switch g.rng.IntN(3) {
	case 0:
		cmd = append(cmd, "IDLETIME", strconv.Itoa(g.rng.IntN(100)))
		toks = append(toks, "IDLETIME")
	case 1:
		cmd = append(cmd, "FREQ", strconv.Itoa(g.rng.IntN(100)))
		toks = append(toks, "FREQ")
	}
	g.tokens = toks
	g.record("restore", nil)
	return g.unit(cmd)
}

func (g *Generator) copyUnit() Unit {
	p := allPools[g.rng.IntN(len(allPools))]
	cmd := []string{"COPY", g.tag + p + strconv.Itoa(g.rng.IntN(5)), g.tag + p + strconv.Itoa(g.rng.IntN(5))}
	var toks []string
	if g.cfg.copyDBs > 1 && g.rng.IntN(2) == 0 {
		cmd = append(cmd, "DB", strconv.Itoa(g.rng.IntN(g.cfg.copyDBs)))
		toks = append(toks, "DB")
	}
	if g.rng.IntN(2) == 0 {
		cmd = append(cmd, "REPLACE")
		toks = append(toks, "REPLACE")
	}
	g.tokens = toks
	g.record("copy", nil)
	return g.unit(cmd)
}

// configSet changes an encoding threshold on the source (CONFIG is not
// replicated; encodings do not change content).
func (g *Generator) configSet() Unit {
	params := []string{"hash-max-ziplist-entries", "set-max-intset-entries", "zset-max-ziplist-entries", "list-max-ziplist-size"}
	vals := []string{"1", "2", "128"}
	p := params[g.rng.IntN(len(params))]
	g.tokens = []string{p}
	g.record("config set", nil)
	return Unit{Cmds: [][]string{{"CONFIG", "SET", p, vals[g.rng.IntN(len(vals))]}}, SourceOnly: true}
}

// dbUnit is SELECT, MOVE or SWAPDB.
func (g *Generator) dbUnit() Unit {
	db := strconv.Itoa(g.rng.IntN(g.cfg.dbs))
	switch r := g.rng.IntN(4); {
	case r == 0 && g.cfg.swapdb:
		g.record("swapdb", nil)
		return g.unit([]string{"SWAPDB", db, strconv.Itoa(g.rng.IntN(g.cfg.dbs))})
	case r <= 1:
		g.record("move", nil)
		return g.unit([]string{"MOVE", allPools[g.rng.IntN(len(allPools))] + strconv.Itoa(g.rng.IntN(5)), db})
	}
	g.record("select", nil)
	return g.unit([]string{"SELECT", db})
}
