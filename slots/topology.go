package slots

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/xsync/xsync/resp"
)

// Node is one node of a cluster.
type Node struct {
	// ID is the 40-character node ID (empty in CLUSTER SLOTS replies of Redis 3.x).
	ID string
	// Addr is host:port to reach the node: its preferred endpoint (or IP) and its
	// plain port, or its TLS port when it has no plain port. The host is empty when
	// the server reported an unknown endpoint ("?" or "" in CLUSTER SLOTS): then use
	// the host of the node that answered. Addr is empty for a primary whose address
	// is unknown (flag noaddr); replicas without an address are left out.
	Addr string
	// Primary is true for a master, false for a replica.
	Primary bool
	// Health is "online", "fail" or "loading" (CLUSTER SHARDS), "online" or "fail"
	// (CLUSTER NODES), or "" when the reply does not say (CLUSTER SLOTS).
	Health string
}

// Range is a run of slots, Start to End inclusive.
type Range struct{ Start, End int }

// Shard is a primary, its replicas and the slots it serves.
type Shard struct {
	Primary  Node
	Replicas []Node
	// Ranges are sorted, disjoint and not adjacent (adjacent runs are merged). A
	// master without slots has none.
	Ranges []Range
}

// Topology is the layout of a cluster: its shards, sorted by their first slot
// (shards without slots last, by primary ID).
type Topology struct{ Shards []Shard }

// Slots returns the number of slots the shard serves.
func (s *Shard) Slots() int {
	n := 0
	for _, r := range s.Ranges {
		n += r.End - r.Start + 1
	}
	return n
}

// Validate checks that every range is within 0..NumSlots-1 and that no slot is
// served by two shards.
func (t Topology) Validate() error {
	var owner [NumSlots]int32
	for i := range t.Shards {
		for _, r := range t.Shards[i].Ranges {
			if r.Start < 0 || r.End >= NumSlots || r.Start > r.End {
				return fmt.Errorf("%w: slot range %d-%d", ErrTopology, r.Start, r.End)
			}
			for s := r.Start; s <= r.End; s++ {
				if owner[s] != 0 {
					return fmt.Errorf("%w: slot %d served by %s and %s", ErrTopology, s,
						t.Shards[owner[s]-1].Primary.Addr, t.Shards[i].Primary.Addr)
				}
				owner[s] = int32(i + 1)
			}
		}
	}
	return nil
}

// normalize sorts and merges ranges, sorts replicas and shards, and validates.
func (t *Topology) normalize() error {
	for i := range t.Shards {
		s := &t.Shards[i]
		s.Ranges = mergeRanges(s.Ranges)
		if len(s.Replicas) == 0 {
			s.Replicas = nil
		}
		sort.Slice(s.Replicas, func(a, b int) bool { return nodeLess(s.Replicas[a], s.Replicas[b]) })
	}
	sort.SliceStable(t.Shards, func(a, b int) bool {
		x, y := t.Shards[a], t.Shards[b]
		switch {
		case len(x.Ranges) == 0 || len(y.Ranges) == 0:
			if len(x.Ranges) != len(y.Ranges) {
				return len(y.Ranges) == 0
			}
			return nodeLess(x.Primary, y.Primary)
		}
		return x.Ranges[0].Start < y.Ranges[0].Start
	})
	return t.Validate()
}

func nodeLess(a, b Node) bool {
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return a.Addr < b.Addr
}

func mergeRanges(rs []Range) []Range {
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].Start < rs[b].Start })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.Start <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// ParseClusterShards reads a CLUSTER SHARDS reply (Redis 7.0+), in RESP2 (maps as
// flat arrays) or RESP3 (maps). Each shard is {"slots": [start, end, ...], "nodes":
// [{id, port, tls-port, ip, endpoint, hostname, role, replication-offset, health},
// ...]}; fields this package does not use are skipped, unknown ones too.
func ParseClusterShards(v resp.Value) (Topology, error) {
	if err := replyError("CLUSTER SHARDS", v); err != nil {
		return Topology{}, err
	}
	if !isList(v) {
		return Topology{}, fmt.Errorf("%w: CLUSTER SHARDS: want an array, got %q", ErrTopology, v.Type)
	}
	var t Topology
	for i, sv := range v.Elems {
		sh, err := parseShard(sv)
		if err != nil {
			return Topology{}, fmt.Errorf("%w: CLUSTER SHARDS: shard %d: %s", ErrTopology, i, err.Error())
		}
		t.Shards = append(t.Shards, sh)
	}
	if err := t.normalize(); err != nil {
		return Topology{}, err
	}
	return t, nil
}

func parseShard(v resp.Value) (Shard, error) {
	pairs, err := mapPairs(v)
	if err != nil {
		return Shard{}, err
	}
	var sh Shard
	var nodes []Node
	for i := 0; i < len(pairs); i += 2 {
		switch string(pairs[i].Str) {
		case "slots":
			if !isList(pairs[i+1]) || len(pairs[i+1].Elems)%2 != 0 {
				return Shard{}, fmt.Errorf("slots: want pairs of integers")
			}
			e := pairs[i+1].Elems
			for j := 0; j < len(e); j += 2 {
				start, err1 := intOf(e[j])
				end, err2 := intOf(e[j+1])
				if err1 != nil || err2 != nil {
					return Shard{}, fmt.Errorf("slots: want integers")
				}
				sh.Ranges = append(sh.Ranges, Range{int(start), int(end)})
			}
		case "nodes":
			if !isList(pairs[i+1]) {
				return Shard{}, fmt.Errorf("nodes: want an array")
			}
			for _, nv := range pairs[i+1].Elems {
				n, err := parseShardNode(nv)
				if err != nil {
					return Shard{}, err
				}
				nodes = append(nodes, n)
			}
		}
	}
	// The primary is the master that is not failed; during a failover a reply may
	// list the failed old master and the new one in the same shard.
	primary := -1
	for i, n := range nodes {
		if n.Primary && (primary < 0 || (nodes[primary].Health == "fail" && n.Health != "fail")) {
			primary = i
		}
	}
	if primary < 0 {
		if len(sh.Ranges) > 0 {
			return Shard{}, fmt.Errorf("no master among %d nodes", len(nodes))
		}
		return Shard{}, fmt.Errorf("no master")
	}
	sh.Primary = nodes[primary]
	for i, n := range nodes {
		if i != primary && n.Addr != "" {
			n.Primary = false
			sh.Replicas = append(sh.Replicas, n)
		}
	}
	return sh, nil
}

func parseShardNode(v resp.Value) (Node, error) {
	pairs, err := mapPairs(v)
	if err != nil {
		return Node{}, fmt.Errorf("node: %s", err.Error())
	}
	var n Node
	var ip, endpoint string
	var port, tlsPort int64
	for i := 0; i < len(pairs); i += 2 {
		val := pairs[i+1]
		switch string(pairs[i].Str) {
		case "id":
			n.ID = string(val.Str)
		case "ip":
			ip = string(val.Str)
		case "endpoint":
			endpoint = string(val.Str)
		case "port":
			port, err = intOf(val)
		case "tls-port":
			tlsPort, err = intOf(val)
		case "role":
			switch string(val.Str) {
			case "master":
				n.Primary = true
			case "replica", "slave":
			default:
				return Node{}, fmt.Errorf("node %s: role %q", n.ID, val.Str)
			}
		case "health":
			n.Health = string(val.Str)
		}
		if err != nil {
			return Node{}, fmt.Errorf("node %s: %s", n.ID, err.Error())
		}
	}
	host := endpoint
	if host == "" || host == "?" {
		host = ip
	}
	if port == 0 {
		port = tlsPort
	}
	if port < 0 || port > 65535 {
		return Node{}, fmt.Errorf("node %s: port %d", n.ID, port)
	}
	if port > 0 {
		n.Addr = net.JoinHostPort(host, strconv.FormatInt(port, 10))
	}
	return n, nil
}

// ParseClusterSlots reads a CLUSTER SLOTS reply (Redis 3.0+): an array of [start,
// end, primary, replicas...], each node [endpoint, port, id (4.0+), metadata
// (7.0+)]. Ranges of the same primary (by ID, or by address without IDs) form one
// shard.
func ParseClusterSlots(v resp.Value) (Topology, error) {
	if err := replyError("CLUSTER SLOTS", v); err != nil {
		return Topology{}, err
	}
	if !isList(v) {
		return Topology{}, fmt.Errorf("%w: CLUSTER SLOTS: want an array, got %q", ErrTopology, v.Type)
	}
	var t Topology
	index := make(map[string]int)
	for i, ev := range v.Elems {
		if !isList(ev) || len(ev.Elems) < 3 {
			return Topology{}, fmt.Errorf("%w: CLUSTER SLOTS: entry %d: want [start, end, node, ...]", ErrTopology, i)
		}
		start, err1 := intOf(ev.Elems[0])
		end, err2 := intOf(ev.Elems[1])
		if err1 != nil || err2 != nil {
			return Topology{}, fmt.Errorf("%w: CLUSTER SLOTS: entry %d: slots are not integers", ErrTopology, i)
		}
		var nodes []Node
		for _, nv := range ev.Elems[2:] {
			n, err := parseSlotsNode(nv)
			if err != nil {
				return Topology{}, fmt.Errorf("%w: CLUSTER SLOTS: entry %d: %s", ErrTopology, i, err.Error())
			}
			nodes = append(nodes, n)
		}
		nodes[0].Primary = true
		key := nodes[0].ID
		if key == "" {
			key = nodes[0].Addr
		}
		si, ok := index[key]
		if !ok {
			si = len(t.Shards)
			index[key] = si
			t.Shards = append(t.Shards, Shard{Primary: nodes[0], Replicas: nodes[1:]})
		} else {
			t.Shards[si].Replicas = unionNodes(t.Shards[si].Replicas, nodes[1:])
		}
		t.Shards[si].Ranges = append(t.Shards[si].Ranges, Range{int(start), int(end)})
	}
	if err := t.normalize(); err != nil {
		return Topology{}, err
	}
	return t, nil
}

func unionNodes(have, add []Node) []Node {
	for _, n := range add {
		found := false
		for _, h := range have {
			found = found || (h.ID == n.ID && h.Addr == n.Addr)
		}
		if !found {
			have = append(have, n)
		}
	}
	return have
}

func parseSlotsNode(v resp.Value) (Node, error) {
	if !isList(v) || len(v.Elems) < 2 {
		return Node{}, fmt.Errorf("node: want [endpoint, port, ...]")
	}
	host := string(v.Elems[0].Str)
	if v.Elems[0].Null || host == "?" {
		host = ""
	}
	port, err := intOf(v.Elems[1])
	if err != nil || port <= 0 || port > 65535 {
		return Node{}, fmt.Errorf("node %s: bad port", host)
	}
	n := Node{Addr: net.JoinHostPort(host, strconv.FormatInt(port, 10))}
	if len(v.Elems) > 2 {
		n.ID = string(v.Elems[2].Str)
	}
	return n, nil
}

// ParseClusterNodes reads the text of CLUSTER NODES: one line per node, "<id>
// <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
// <config-epoch> <link-state> <slot>...". Migrating and importing markers
// ("[slot->-id]", "[slot-<-id]") are skipped: the slot still belongs to its owner.
// Nodes in handshake, and replicas flagged noaddr, are left out.
func ParseClusterNodes(text []byte) (Topology, error) {
	type line struct {
		node   Node
		master string
		ranges []Range
	}
	var lines []line
	for no, raw := range bytes.Split(text, []byte("\n")) {
		f := bytes.Fields(raw)
		if len(f) == 0 {
			continue
		}
		if len(f) < 8 {
			return Topology{}, fmt.Errorf("%w: CLUSTER NODES: line %d: %d fields", ErrTopology, no+1, len(f))
		}
		l := line{node: Node{ID: string(f[0]), Health: "online"}, master: string(f[3])}
		addr := f[1]
		if i := bytes.IndexAny(addr, "@,"); i >= 0 {
			addr = addr[:i]
		}
		l.node.Addr = string(addr)
		skip := false
		for _, flag := range bytes.Split(f[2], []byte(",")) {
			switch string(flag) {
			case "master":
				l.node.Primary = true
			case "fail":
				l.node.Health = "fail"
			case "noaddr":
				l.node.Addr = ""
			case "handshake":
				skip = true
			}
		}
		if skip || (!l.node.Primary && l.node.Addr == "") {
			continue
		}
		for _, tok := range f[8:] {
			if tok[0] == '[' {
				continue
			}
			r, err := parseSlotToken(tok)
			if err != nil {
				return Topology{}, fmt.Errorf("%w: CLUSTER NODES: line %d: %s", ErrTopology, no+1, err.Error())
			}
			l.ranges = append(l.ranges, r)
		}
		lines = append(lines, l)
	}
	var t Topology
	index := make(map[string]int)
	for _, l := range lines {
		if l.node.Primary {
			index[l.node.ID] = len(t.Shards)
			t.Shards = append(t.Shards, Shard{Primary: l.node, Ranges: l.ranges})
		}
	}
	for _, l := range lines {
		if l.node.Primary {
			continue
		}
		if si, ok := index[l.master]; ok {
			t.Shards[si].Replicas = append(t.Shards[si].Replicas, l.node)
		}
	}
	if err := t.normalize(); err != nil {
		return Topology{}, err
	}
	return t, nil
}

func parseSlotToken(tok []byte) (Range, error) {
	a, b, found := bytes.Cut(tok, []byte("-"))
	start, err := strconv.Atoi(string(a))
	if err != nil {
		return Range{}, fmt.Errorf("slot %q", tok)
	}
	end := start
	if found {
		if end, err = strconv.Atoi(string(b)); err != nil {
			return Range{}, fmt.Errorf("slot %q", tok)
		}
	}
	return Range{start, end}, nil
}

// replyError turns an error reply into an error naming the command.
func replyError(cmd string, v resp.Value) error {
	if v.IsError() {
		return fmt.Errorf("%w: %s: %s", ErrTopology, cmd, v.Str)
	}
	return nil
}

func isList(v resp.Value) bool {
	return !v.Null && (v.Type == resp.TypeArray || v.Type == resp.TypeSet)
}

// mapPairs returns the flattened key/value pairs of a RESP3 map or a RESP2 array
// holding one.
func mapPairs(v resp.Value) ([]resp.Value, error) {
	if v.Null || (v.Type != resp.TypeMap && v.Type != resp.TypeArray) || len(v.Elems)%2 != 0 {
		return nil, fmt.Errorf("want a map, got %q with %d elements", v.Type, len(v.Elems))
	}
	return v.Elems, nil
}

// intOf reads an integer reply, or a string holding one.
func intOf(v resp.Value) (int64, error) {
	switch v.Type {
	case resp.TypeInteger:
		return v.Int, nil
	case resp.TypeBulkString, resp.TypeSimpleString:
		return strconv.ParseInt(string(v.Str), 10, 64)
	}
	return 0, fmt.Errorf("want an integer, got %q", v.Type)
}
