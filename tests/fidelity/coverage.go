package fidelity

import (
	"fmt"
	"io"
	"sort"
	"sync"
)

// Coverage counts the commands sent and their distinct option combinations
// (the set of tokens a command used).
type Coverage struct {
	mu    sync.Mutex
	combo map[string]map[string]int
}

func newCoverage() *Coverage { return &Coverage{combo: map[string]map[string]int{}} }

func (c *Coverage) add(cmd, combo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.combo[cmd]
	if m == nil {
		m = map[string]int{}
		c.combo[cmd] = m
	}
	m[combo]++
}

// Commands is how many distinct commands were sent.
func (c *Coverage) Commands() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.combo)
}

// Combinations is how many distinct (command, option combination) pairs were sent.
func (c *Coverage) Combinations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.combo {
		n += len(m)
	}
	return n
}

// Names returns the commands sent, sorted.
func (c *Coverage) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.combo))
	for n := range c.combo {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Options returns the option combinations sent with cmd, sorted.
func (c *Coverage) Options(cmd string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.combo[cmd] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Merge adds o's counts.
func (c *Coverage) Merge(o *Coverage) {
	for _, n := range o.Names() {
		o.mu.Lock()
		m := o.combo[n]
		o.mu.Unlock()
		for k, v := range m {
			for i := 0; i < v; i++ {
				c.add(n, k)
			}
		}
	}
}

// Print writes one line per command: its combinations.
func (c *Coverage) Print(w io.Writer) {
	for _, n := range c.Names() {
		fmt.Fprintf(w, "  %-22s %3d combinations\n", n, len(c.Options(n)))
	}
}
