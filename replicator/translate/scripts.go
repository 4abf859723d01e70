package translate

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"sync"
)

// Scripts receives the Lua script bodies seen in the stream (EVAL bodies and
// SCRIPT LOAD), so that the applier can load a body when the destination answers
// an EVALSHA with NOSCRIPT (after a destination restart, or a SCRIPT FLUSH).
// *apply.Applier implements it.
type Scripts interface {
	// LoadScript records body (valid only during the call: copy it) and returns
	// its SHA1 in lowercase hex.
	LoadScript(body []byte) string
}

// ScriptCache is a Scripts that keeps every body in memory; safe for
// concurrent use (the translator writes, the applier reads).
type ScriptCache struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewScriptCache returns an empty ScriptCache.
func NewScriptCache() *ScriptCache { return &ScriptCache{m: make(map[string][]byte)} }

// LoadScript implements Scripts.
func (c *ScriptCache) LoadScript(body []byte) string {
	sum := sha1.Sum(body)
	sha := hex.EncodeToString(sum[:])
	c.mu.Lock()
	if _, ok := c.m[sha]; !ok {
		c.m[sha] = append([]byte(nil), body...)
	}
	c.mu.Unlock()
	return sha
}

// Script returns the body whose SHA1 is sha (hex, any case).
func (c *ScriptCache) Script(sha string) ([]byte, bool) {
	c.mu.RLock()
	b, ok := c.m[strings.ToLower(sha)]
	c.mu.RUnlock()
	return b, ok
}

// Len returns how many scripts are remembered.
func (c *ScriptCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
