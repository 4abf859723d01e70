package apply

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// fakeCluster is an in-process stand-in for a destination cluster, for unit tests
// of the retry and order logic only: nodes speak enough RESP (SET, GET, INCR,
// RPUSH, LRANGE, DEL, MULTI/EXEC, SCRIPT LOAD, EVALSHA, ASKING, INFO, CLUSTER
// SLOTS), own slots, migrate them, and obey scripted faults. End-to-end tests use
// real redis-server processes.
type fakeCluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*fakeNode
	owner [slots.NumSlots]int
	migr  map[int]int // slot -> importing node, while migrating
	// faults are checked, in order, before every command.
	faults []*fault
	// cmds counts commands executed per name.
	executed map[string]int
	version  string
	cluster  bool
}

type fakeNode struct {
	c       *fakeCluster
	idx     int
	ln      net.Listener
	addr    string
	data    map[string]any // string ([]byte) or list ([][]byte)
	scripts map[string]string
	conns   map[net.Conn]bool
}

// fault makes matching commands fail.
type fault struct {
	node  int    // -1: any node
	cmd   string // upper-case name; "" any
	key   string // "" any
	skip  int    // let this many matches pass first
	times int    // then hit this many (0: forever)
	reply string // error reply without '-', or "drop" (close before running), "drop-after" (run, then close), "drop-after-silent" (run, then close without the replies pending), "garbage"
	once  bool   // hit each distinct command (all its arguments) only the first time it is seen
	seen  map[string]bool
	hits  int
}

func newFakeCluster(t testing.TB, n int) *fakeCluster {
	t.Helper()
	c := &fakeCluster{t: t, migr: map[int]int{}, executed: map[string]int{}, version: "6.2.14", cluster: true}
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fn := &fakeNode{c: c, idx: i, ln: ln, addr: ln.Addr().String(), data: map[string]any{},
			scripts: map[string]string{}, conns: map[net.Conn]bool{}}
		c.nodes = append(c.nodes, fn)
		go fn.accept()
	}
	for s := range c.owner {
		c.owner[s] = s * n / slots.NumSlots
	}
	t.Cleanup(c.close)
	return c
}

func (c *fakeCluster) close() {
	for _, n := range c.nodes {
		n.ln.Close()
		c.mu.Lock()
		for cn := range n.conns {
			cn.Close()
		}
		c.mu.Unlock()
	}
}

func (c *fakeCluster) addFault(f *fault) {
	c.mu.Lock()
	c.faults = append(c.faults, f)
	c.mu.Unlock()
}

// moveSlot reassigns slot to node to (-1: the next one), moving its keys (MOVED from then on).
func (c *fakeCluster) moveSlot(slot, to int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := c.nodes[c.owner[slot]]
	if to < 0 {
		to = (c.owner[slot] + 1) % len(c.nodes)
	}
	if from.idx == to {
		delete(c.migr, slot)
		return
	}
	for k, v := range from.data {
		if slots.SlotString(k) == slot {
			c.nodes[to].data[k] = v
			delete(from.data, k)
		}
	}
	c.owner[slot] = to
	delete(c.migr, slot)
}

// migrateKey starts (if needed) migrating key's slot to node to (-1: the next one) and moves the key.
func (c *fakeCluster) migrateKey(key string, to int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	slot := slots.SlotString(key)
	from := c.nodes[c.owner[slot]]
	if to < 0 {
		to = (from.idx + 1) % len(c.nodes)
	}
	if from.idx == to {
		return
	}
	c.migr[slot] = to
	if v, ok := from.data[key]; ok {
		c.nodes[to].data[key] = v
		delete(from.data, key)
	}
}

// dropConns closes every client connection of node i.
func (c *fakeCluster) dropConns(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cn := range c.nodes[i].conns {
		cn.Close()
	}
}

// get returns a key's value from whichever node holds it.
func (c *fakeCluster) get(key string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if v, ok := n.data[key]; ok {
			return v
		}
	}
	return nil
}

func (n *fakeNode) accept() {
	for {
		cn, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.c.mu.Lock()
		n.conns[cn] = true
		n.c.mu.Unlock()
		go n.serve(cn)
	}
}

func (n *fakeNode) serve(cn net.Conn) {
	defer func() {
		cn.Close()
		n.c.mu.Lock()
		delete(n.conns, cn)
		n.c.mu.Unlock()
	}()
	r := resp.NewReader(cn, resp.Limits{})
	var out []byte
	var asking bool
	var multi [][][]byte
	inMulti, abort := false, false
	for {
		args, _, err := r.ReadCommand()
		if err != nil {
			return
		}
		cp := make([][]byte, len(args))
		for i, a := range args {
			cp[i] = append([]byte(nil), a...)
		}
		args = cp
		name := strings.ToUpper(string(args[0]))
		n.c.mu.Lock()
		reply, drop, after := n.fault(name, args)
		if drop && after && reply == nil { // drop-after-silent: the pending replies are lost too
			n.c.mu.Unlock()
			return
		}
		if drop && !after {
			n.c.mu.Unlock()
			cn.Write(out) //nolint:errcheck
			return
		}
		switch {
		case reply != nil:
			if inMulti && name != "EXEC" {
				abort = true
			}
		case name == "ASKING":
			asking = true
			reply = []byte("+OK\r\n")
		case name == "MULTI":
			inMulti, abort, multi = true, false, nil
			reply = []byte("+OK\r\n")
		case name == "EXEC":
			inMulti = false
			if abort {
				reply = []byte("-EXECABORT Transaction discarded because of previous errors.\r\n")
				break
			}
			reply = resp.AppendArray(nil, len(multi))
			for _, m := range multi {
				reply = append(reply, n.exec(m, true)...)
			}
			asking = false
		case inMulti:
			if e := n.route(args, asking); e != nil {
				reply, abort = e, true
			} else {
				multi = append(multi, args)
				reply = []byte("+QUEUED\r\n")
			}
		default:
			if e := n.route(args, asking); e != nil {
				reply = e
			} else {
				reply = n.exec(args, false)
			}
			asking = false
		}
		if name != "ASKING" && !inMulti {
			asking = false
		}
		n.c.mu.Unlock()
		if drop && after {
			cn.Write(out) //nolint:errcheck
			return
		}
		out = append(out, reply...)
		if r.Buffered() == 0 {
			if _, err := cn.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

// fault returns the scripted reply for this command, if any. Caller holds c.mu.
func (n *fakeNode) fault(name string, args [][]byte) (reply []byte, drop, after bool) {
	for _, f := range n.c.faults {
		if (f.node >= 0 && f.node != n.idx) || (f.cmd != "" && f.cmd != name) ||
			(f.key != "" && (len(args) < 2 || string(args[1]) != f.key)) {
			continue
		}
		if f.skip > 0 {
			f.skip--
			continue
		}
		if f.once {
			id := string(bytes.Join(args, []byte{0}))
			if f.seen[id] {
				continue
			}
			if f.seen == nil {
				f.seen = map[string]bool{}
			}
			f.seen[id] = true
		}
		if f.times > 0 && f.hits >= f.times {
			continue
		}
		f.hits++
		switch f.reply {
		case "drop":
			return nil, true, false
		case "drop-after":
			return n.exec(args, false), true, true
		case "drop-after-silent":
			n.exec(args, false)
			return nil, true, true
		case "garbage": // not RESP: the client must drop the connection, not crash
			return []byte("?garbage\r\n"), false, false
		}
		return []byte("-" + f.reply + "\r\n"), false, false
	}
	return nil, false, false
}

var keyless = map[string]bool{"PING": true, "INFO": true, "CLUSTER": true, "SCRIPT": true, "MULTI": true, "EXEC": true}

// route answers MOVED/ASK when this node must not run the command. Caller holds c.mu.
func (n *fakeNode) route(args [][]byte, asking bool) []byte {
	name := strings.ToUpper(string(args[0]))
	if !n.c.cluster || keyless[name] || len(args) < 2 {
		return nil
	}
	key := args[1]
	if name == "EVALSHA" && len(args) >= 4 {
		key = args[3]
	}
	slot := slots.Slot(key)
	owner := n.c.owner[slot]
	if imp, ok := n.c.migr[slot]; ok {
		if owner == n.idx {
			if _, have := n.data[string(key)]; !have {
				return []byte(fmt.Sprintf("-ASK %d %s\r\n", slot, n.c.nodes[imp].addr))
			}
			return nil
		}
		if imp == n.idx && asking {
			return nil
		}
	}
	if owner != n.idx {
		return []byte(fmt.Sprintf("-MOVED %d %s\r\n", slot, n.c.nodes[owner].addr))
	}
	return nil
}

// exec runs one command. Caller holds c.mu.
func (n *fakeNode) exec(args [][]byte, inExec bool) []byte {
	name := strings.ToUpper(string(args[0]))
	n.c.executed[name]++
	key := ""
	if len(args) > 1 {
		key = string(args[1])
	}
	switch name {
	case "PING":
		return []byte("+PONG\r\n")
	case "INFO":
		body := "# Server\r\nredis_version:" + n.c.version + "\r\n# Cluster\r\ncluster_enabled:" + map[bool]string{true: "1", false: "0"}[n.c.cluster] + "\r\n"
		return resp.AppendBulkString(nil, body)
	case "CLUSTER":
		return n.c.clusterSlots()
	case "SET":
		n.data[key] = append([]byte(nil), args[2]...)
		return []byte("+OK\r\n")
	case "GET":
		v, _ := n.data[key].([]byte)
		if v == nil {
			return []byte("$-1\r\n")
		}
		return resp.AppendBulk(nil, v)
	case "DEL":
		_, ok := n.data[key]
		delete(n.data, key)
		if ok {
			return []byte(":1\r\n")
		}
		return []byte(":0\r\n")
	case "INCR":
		return n.incr(key)
	case "RPUSH":
		l, ok := n.data[key].([][]byte)
		if _, isStr := n.data[key].([]byte); isStr && !ok {
			return []byte("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
		}
		for _, v := range args[2:] {
			l = append(l, append([]byte(nil), v...))
		}
		n.data[key] = l
		return resp.AppendInt(nil, int64(len(l)))
	case "SCRIPT":
		body := string(args[2])
		sum := sha1.Sum(args[2])
		sha := hex.EncodeToString(sum[:])
		n.scripts[sha] = body
		return resp.AppendBulkString(nil, sha)
	case "EVALSHA":
		if _, ok := n.scripts[strings.ToLower(string(args[1]))]; !ok {
			return []byte("-NOSCRIPT No matching script. Please use EVAL.\r\n")
		}
		return n.incr(string(args[3]))
	}
	return []byte("-ERR unknown command '" + name + "'\r\n")
}

func (n *fakeNode) incr(key string) []byte {
	var v int64
	if b, ok := n.data[key].([]byte); ok {
		v, _ = strconv.ParseInt(string(b), 10, 64)
	} else if n.data[key] != nil {
		return []byte("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
	}
	v++
	n.data[key] = []byte(strconv.FormatInt(v, 10))
	return resp.AppendInt(nil, v)
}

// clusterSlots answers CLUSTER SLOTS from the owner table. Caller holds c.mu.
func (c *fakeCluster) clusterSlots() []byte {
	type rng struct{ s, e, n int }
	var rs []rng
	for s := 0; s < slots.NumSlots; s++ {
		if len(rs) > 0 && rs[len(rs)-1].n == c.owner[s] && rs[len(rs)-1].e == s-1 {
			rs[len(rs)-1].e = s
			continue
		}
		rs = append(rs, rng{s, s, c.owner[s]})
	}
	out := resp.AppendArray(nil, len(rs))
	for _, r := range rs {
		host, port, _ := net.SplitHostPort(c.nodes[r.n].addr)
		p, _ := strconv.Atoi(port)
		out = resp.AppendArray(out, 3)
		out = resp.AppendInt(out, int64(r.s))
		out = resp.AppendInt(out, int64(r.e))
		out = resp.AppendArray(out, 3)
		out = resp.AppendBulkString(out, host)
		out = resp.AppendInt(out, int64(p))
		out = resp.AppendBulkString(out, fmt.Sprintf("%040d", r.n))
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case [][]byte:
		return string(bytes.Join(x, []byte(",")))
	}
	return "<nil>"
}
