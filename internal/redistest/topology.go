package redistest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ClusterNode is one line of CLUSTER NODES as seen by one node.
type ClusterNode struct {
	ID       string
	Addr     string   // host:port (client port; the TLS port with tls-cluster)
	Flags    []string // myself, master, slave, fail, fail?, handshake, noaddr, ...
	MasterID string   // "" for masters
	Slots    [][2]int // owned slot ranges, inclusive
	Moving   []string // migrating/importing markers ("[93->-<id>]"), normally none
	LinkUp   bool     // link-state connected
}

// Master reports whether the node is a master.
func (n ClusterNode) Master() bool { return n.HasFlag("master") }

// HasFlag reports whether the node carries flag f.
func (n ClusterNode) HasFlag(f string) bool {
	for _, g := range n.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// NumSlots returns how many slots the node owns.
func (n ClusterNode) NumSlots() int {
	t := 0
	for _, r := range n.Slots {
		t += r[1] - r[0] + 1
	}
	return t
}

// parseClusterNodes parses the text of CLUSTER NODES.
func parseClusterNodes(text string) ([]ClusterNode, error) {
	var out []ClusterNode
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("xsync/redistest: bad CLUSTER NODES line %q", line)
		}
		n := ClusterNode{ID: f[0], Flags: strings.Split(f[2], ","), LinkUp: f[7] == "connected"}
		n.Addr, _, _ = strings.Cut(f[1], "@")
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				n.Moving = append(n.Moving, s)
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				return nil, fmt.Errorf("xsync/redistest: bad slot %q in %q", s, line)
			}
			b := a
			if isRange {
				if b, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("xsync/redistest: bad slot %q in %q", s, line)
				}
			}
			n.Slots = append(n.Slots, [2]int{a, b})
		}
		sort.Slice(n.Slots, func(i, j int) bool { return n.Slots[i][0] < n.Slots[j][0] })
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// signature is a canonical text of the roles and slots of the nodes in ids, to
// compare the views of different nodes.
func signature(view []ClusterNode, ids map[string]bool) string {
	var b strings.Builder
	for _, n := range view {
		if !ids[n.ID] {
			continue
		}
		fmt.Fprintf(&b, "%s %v %s %v;", n.ID, n.Master(), n.MasterID, n.Slots)
	}
	return b.String()
}
