package apply

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// scriptCache maps the SHA1 of a Lua script to its body, so that an EVALSHA
// answered with NOSCRIPT (a destination restarted or failed over, or a snapshot
// that carried EVALSHA only) is answered by SCRIPT LOAD on that node and retried.
type scriptCache struct {
	mu     sync.RWMutex
	bodies map[string][]byte // lower-case hex SHA1 -> body
}

func (c *scriptCache) init() { c.bodies = make(map[string][]byte) }

// LoadScript records a Lua script body (from the snapshot's lua aux fields or
// from anywhere else) and returns its SHA1 in hex, as EVALSHA names it.
func (a *Applier) LoadScript(body []byte) string { return a.scripts.add(body) }

func (c *scriptCache) add(body []byte) string {
	sum := sha1.Sum(body)
	sha := hex.EncodeToString(sum[:])
	c.mu.Lock()
	if _, ok := c.bodies[sha]; !ok {
		c.bodies[sha] = append([]byte(nil), body...)
	}
	c.mu.Unlock()
	return sha
}

func (c *scriptCache) get(sha []byte) []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bodies[string(bytes.ToLower(sha))]
}

// firstName returns the name of the first command of cmd without parsing the
// rest ("*<n>\r\n$<len>\r\n<name>\r\n"), or nil.
func firstName(cmd []byte) []byte {
	i := bytes.IndexByte(cmd, '\n')
	if i < 0 || i+1 >= len(cmd) || cmd[i+1] != '$' {
		return nil
	}
	rest := cmd[i+2:]
	j := bytes.IndexByte(rest, '\r')
	if j <= 0 {
		return nil
	}
	n := 0
	for _, d := range rest[:j] {
		if d < '0' || d > '9' {
			return nil
		}
		n = n*10 + int(d-'0')
	}
	rest = rest[j+2:]
	if n > len(rest) {
		return nil
	}
	return rest[:n]
}

// observe feeds the cache from EVAL and SCRIPT LOAD commands in cmd (also
// inside MULTI). It costs a look at the first command name for other ops.
func (c *scriptCache) observe(cmd []byte) {
	name := firstName(cmd)
	switch {
	case bytes.EqualFold(name, []byte("EVAL")) || bytes.EqualFold(name, []byte("EVAL_RO")) || bytes.EqualFold(name, []byte("SCRIPT")):
	case bytes.EqualFold(name, []byte("MULTI")):
		// A transaction (most writes are one with checkpoints): parse it only
		// when a line of it starts with EVAL or SCRIPT, so that the stream path
		// allocates nothing for the others.
		if !mentionsScript(cmd) {
			return
		}
	default:
		return // any other command, MSET (a checkpointed SET) included: no scan
	}
	sp, err := splitCommands(cmd)
	if err != nil {
		return
	}
	for _, s := range sp {
		args, _, err := resp.ParseCommand(cmd[s.start:s.end], nil, nil)
		if err != nil || len(args) < 2 {
			continue
		}
		switch {
		case bytes.EqualFold(args[0], []byte("EVAL")) || bytes.EqualFold(args[0], []byte("EVAL_RO")):
			c.add(args[1])
		case bytes.EqualFold(args[0], []byte("SCRIPT")) && len(args) >= 3 && bytes.EqualFold(args[1], []byte("LOAD")):
			c.add(args[2])
		}
	}
}

// mentionsScript reports whether a line of cmd starts with EVAL or SCRIPT (any
// case): a cheap filter before parsing a transaction.
func mentionsScript(cmd []byte) bool {
	for i := bytes.IndexByte(cmd, '\n'); i >= 0 && i+1 < len(cmd); {
		rest := cmd[i+1:]
		if hasPrefixFold(rest, "eval") || hasPrefixFold(rest, "script") {
			return true
		}
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func hasPrefixFold(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// bodiesFor returns the bodies of the scripts o's EVALSHA commands name, or nil
// when o has none or one of them is unknown.
func (c *scriptCache) bodiesFor(o *op) [][]byte {
	var out [][]byte
	for i := 0; i < o.N; i++ {
		args := o.args(i)
		if len(args) < 2 || !(bytes.EqualFold(args[0], []byte("EVALSHA")) || bytes.EqualFold(args[0], []byte("EVALSHA_RO"))) {
			continue
		}
		b := c.get(args[1])
		if b == nil {
			return nil
		}
		out = append(out, b)
	}
	return out
}

// preload loads every known script on a new connection, before any op is
// written to it: after a destination restart or failover the script cache there
// is empty, and an EVALSHA answered NOSCRIPT in a pipeline may let a later op of
// its key run first. SCRIPT LOAD is a no-op for a script already loaded. An
// error reply (for example OOM) is left to the NOSCRIPT retry; an I/O error is
// returned.
func (c *scriptCache) preload(ctx context.Context, cn *conn.Conn) error {
	c.mu.RLock()
	bodies := make([]string, 0, len(c.bodies))
	for _, b := range c.bodies {
		bodies = append(bodies, string(b))
	}
	c.mu.RUnlock()
	for _, b := range bodies {
		if _, err := cn.Do(ctx, "SCRIPT", "LOAD", b); err != nil {
			var re *conn.ReplyError
			if !errors.As(err, &re) {
				return err
			}
		}
	}
	return nil
}
