package gateway

import (
	"path"
	"strings"

	"github.com/xsync/xsync/resp"
)

// deniedByDefault are the commands the gateway refuses unless Config.AllowAdmin
// (or Config.Allow) says otherwise: Redis 7.0's @admin and @dangerous categories
// (ACL CAT admin, ACL CAT dangerous), whole commands where every subcommand is
// in them, "container|sub" where only some are, and MEMORY PURGE. Some of
// @dangerous stay allowed because applications use them on their own data:
// FLUSHALL, FLUSHDB, KEYS (answered from every master), SORT and SORT_RO;
// Config.Deny refuses them. A name is lower case.
var deniedByDefault = []string{
	"acl", "config", "module", "debug", "cluster",
	"save", "bgsave", "bgrewriteaof", "lastsave", "shutdown", "failover", "replicaof", "slaveof", "role",
	"sync", "psync", "replconf", "monitor", "swapdb", "migrate", "restore", "restore-asking",
	"pfdebug", "pfselftest", "info",
	"client|kill", "client|list", "client|no-evict", "client|pause", "client|unpause", "client|unblock",
	"latency", "slowlog", "memory|purge",
}

// secretParams are the configuration parameters that hold credentials: CONFIG
// GET never reaches the backend with a pattern that matches one of them, even
// when CONFIG is allowed.
var secretParams = []string{"requirepass", "masterauth", "masteruser", "tls-key-file-pass", "tls-client-key-file-pass"}

// privileges is what the gateway forwards.
type privileges struct {
	denied map[string]bool // "cmd" or "cmd|sub", lower case
	top    map[string]bool // upper-case command names check must look at
	hint   string          // the flag that allows a denied command
}

func newPrivileges(cfg *Config) privileges {
	p := privileges{denied: map[string]bool{}, hint: cfg.AllowHint}
	if !cfg.AllowAdmin {
		for _, n := range deniedByDefault {
			p.denied[n] = true
		}
	}
	for _, n := range cfg.Allow {
		delete(p.denied, strings.ToLower(n))
	}
	for _, n := range cfg.Deny {
		p.denied[strings.ToLower(n)] = true
	}
	p.top = map[string]bool{"CONFIG": true}
	for n := range p.denied {
		top, _, _ := strings.Cut(n, "|")
		p.top[strings.ToUpper(top)] = true
	}
	return p
}

// check returns the NOPERM reply for a command the gateway does not forward, or
// nil. name is the upper-case command name.
func (p *privileges) check(name string, args [][]byte) []byte {
	if len(p.denied) == 0 && name != "CONFIG" {
		return nil
	}
	lower := strings.ToLower(name)
	full := lower
	if len(args) > 1 {
		full = lower + "|" + strings.ToLower(string(args[1]))
	}
	if p.denied[lower] || p.denied[full] {
		return resp.AppendError(nil, "NOPERM the xsync gateway does not forward '"+oneWord(full)+
			"': it administers the backend or reveals its state; "+p.hint+" allows it")
	}
	if full == "config|get" {
		for _, pat := range args[2:] {
			for _, s := range secretParams {
				if ok, _ := path.Match(strings.ToLower(string(pat)), s); ok {
					return resp.AppendError(nil, "NOPERM the xsync gateway never forwards CONFIG GET of the backend's credentials ("+s+")")
				}
			}
		}
	}
	return nil
}

// oneWord keeps a client's command name printable in a reply.
func oneWord(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}
