package gateway

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/resp"
)

// Introspection as one Redis: INFO merges the masters' sections, CLIENT
// LIST/INFO/KILL/UNBLOCK act on the gateway's own clients.

// infoSection is one "# Name" block of an INFO reply, its fields in order.
type infoSection struct {
	name   string
	keys   []string
	values map[string]string
}

func parseInfo(text []byte) []*infoSection {
	var out []*infoSection
	var cur *infoSection
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			cur = &infoSection{name: line[2:], values: map[string]string{}}
			out = append(out, cur)
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok || cur == nil {
				continue
			}
			if _, dup := cur.values[k]; !dup {
				cur.keys = append(cur.keys, k)
			}
			cur.values[k] = v
		}
	}
	return out
}

// sumSections are the sections whose integer fields are summed over the
// masters (counters and sizes); the others are the first master's.
var sumSections = map[string]bool{"clients": true, "memory": true, "stats": true, "keyspace": true, "commandstats": true, "errorstats": true}

// mergeInfo merges the masters' INFO replies (see sumSections); Clients
// reports the gateway's own clients, Server and Cluster say standalone, and a
// "# Gateway" section follows when the sections asked for include it.
func (g *Server) mergeInfo(vals []resp.Value, withGateway bool) []byte {
	var merged []*infoSection
	byName := map[string]*infoSection{}
	for _, v := range vals {
		for _, s := range parseInfo(v.Str) {
			m := byName[s.name]
			if m == nil {
				m = &infoSection{name: s.name, values: map[string]string{}}
				byName[s.name] = m
				merged = append(merged, m)
			}
			sum := sumSections[strings.ToLower(s.name)]
			for _, k := range s.keys {
				old, seen := m.values[k]
				if !seen {
					m.keys = append(m.keys, k)
					m.values[k] = s.values[k]
					continue
				}
				if sum {
					m.values[k] = sumField(old, s.values[k])
				}
			}
		}
	}
	backendBlocked := int64(-1)
	for _, m := range merged {
		switch strings.ToLower(m.name) {
		case "server":
			m.set("redis_mode", "standalone")
			if _, port, err := net.SplitHostPort(g.Addr()); err == nil {
				m.set("tcp_port", port)
			}
		case "cluster":
			m.set("cluster_enabled", "0")
		case "clients":
			m.set("connected_clients", strconv.FormatInt(g.stats.clients.Load(), 10))
			if v, ok := m.values["blocked_clients"]; ok {
				backendBlocked, _ = strconv.ParseInt(v, 10, 64)
			}
			// The gateway's clients blocked in a command that has reached a
			// master: at most what the masters count (the gateway counts a
			// command from the moment it sends it).
			m.set("blocked_clients", strconv.FormatInt(min(int64(g.blockedClients()), max(backendBlocked, 0)), 10))
		case "keyspace":
			for _, k := range m.keys {
				m.values[k] = fixKeyspace(m.values[k])
			}
		case "commandstats":
			for _, k := range m.keys {
				m.values[k] = fixCommandstat(m.values[k])
			}
		}
	}
	var b strings.Builder
	for i, m := range merged {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + m.name + "\r\n")
		for _, k := range m.keys {
			b.WriteString(k + ":" + m.values[k] + "\r\n")
		}
	}
	if withGateway {
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# Gateway\r\n")
		for _, f := range g.gatewayInfo() {
			b.WriteString(f[0] + ":" + f[1] + "\r\n")
		}
	}
	if len(vals) > 0 && vals[0].Type == resp.TypeVerbatim {
		return resp.AppendValue(nil, resp.Value{Type: resp.TypeVerbatim, Str: []byte(b.String())})
	}
	return resp.AppendBulkString(nil, b.String())
}

func (s *infoSection) set(k, v string) {
	if _, ok := s.values[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.values[k] = v
}

// sumField adds two field values: integers, or "k=v,k=v" lists (keyspace,
// commandstats, errorstats) element by element; anything else keeps a.
func sumField(a, b string) string {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			return strconv.FormatInt(x+y, 10)
		}
		return a
	}
	if !strings.Contains(a, "=") {
		return a
	}
	pa, pb := strings.Split(a, ","), strings.Split(b, ",")
	other := map[string]string{}
	for _, p := range pb {
		k, v, _ := strings.Cut(p, "=")
		other[k] = v
	}
	for i, p := range pa {
		k, v, _ := strings.Cut(p, "=")
		if w, ok := other[k]; ok {
			if k == "avg_ttl" { // weighted below by fixKeyspace: keep the sum of avg_ttl*expires
				pa[i] = k + "=" + v + "+" + w
				continue
			}
			pa[i] = k + "=" + sumField(v, w)
		}
	}
	return strings.Join(pa, ",")
}

// fixKeyspace turns the summed avg_ttl terms into one figure: the masters'
// mean TTLs are averaged (Redis's own figure is an estimate, see
// activeExpireCycle in expire.c).
func fixKeyspace(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		k, val, _ := strings.Cut(p, "=")
		if k != "avg_ttl" || !strings.Contains(val, "+") {
			continue
		}
		var sum, n int64
		for _, t := range strings.Split(val, "+") {
			x, _ := strconv.ParseInt(t, 10, 64)
			if x > 0 {
				sum += x
				n++
			}
		}
		if n > 0 {
			sum /= n
		}
		parts[i] = "avg_ttl=" + strconv.FormatInt(sum, 10)
	}
	return strings.Join(parts, ",")
}

// fixCommandstat recomputes usec_per_call from the summed calls and usec.
func fixCommandstat(v string) string {
	parts := strings.Split(v, ",")
	var calls, usec float64
	for _, p := range parts {
		k, val, _ := strings.Cut(p, "=")
		f, _ := strconv.ParseFloat(val, 64)
		switch k {
		case "calls":
			calls = f
		case "usec":
			usec = f
		}
	}
	for i, p := range parts {
		if strings.HasPrefix(p, "usec_per_call=") && calls > 0 {
			parts[i] = "usec_per_call=" + strconv.FormatFloat(usec/calls, 'f', 2, 64)
		}
	}
	return strings.Join(parts, ",")
}

// gatewayInfo is the # Gateway section: InfoFields and the hold.
func (g *Server) gatewayInfo() [][2]string {
	f := g.InfoFields()
	holding, _ := g.Holding()
	h := "0"
	if holding {
		h = "1"
	}
	f = append(f, [2]string{"gateway_holding", h}, [2]string{"gateway_blocked_clients", strconv.Itoa(g.blockedClients())},
		[2]string{"gateway_watching_clients", strconv.FormatInt(g.stats.watching.Load(), 10)})
	if t := g.cur.Load().table.Load(); t != nil {
		f = append(f, [2]string{"gateway_masters", strconv.Itoa(len(t.Topology().Shards))})
	}
	return f
}

// blockedClients counts the gateway's clients in a blocking command.
func (g *Server) blockedClients() int {
	n := 0
	for _, be := range []*backend{g.src, g.dst} {
		if be == nil {
			continue
		}
		be.mu.Lock()
		for b := range be.blocking {
			if !b.unblocked {
				n++
			}
		}
		be.mu.Unlock()
	}
	return n
}

// blockedConn returns the blocking command in flight of cl, or nil.
func (g *Server) blockedConn(cl *client) (*backend, *blockingConn) {
	for _, be := range []*backend{g.src, g.dst} {
		if be == nil {
			continue
		}
		be.mu.Lock()
		for b := range be.blocking {
			if b.cl == cl && !b.unblocked {
				be.mu.Unlock()
				return be, b
			}
		}
		be.mu.Unlock()
	}
	return nil, nil
}

// infoArgsWantGateway reports whether INFO with these arguments includes the
// # Gateway section: without arguments, "default", "all", "everything" or
// "gateway".
func infoArgsWantGateway(args [][]byte) bool {
	if len(args) <= 1 {
		return true
	}
	for _, a := range args[1:] {
		switch strings.ToLower(string(a)) {
		case "default", "all", "everything", "gateway":
			return true
		}
	}
	return false
}

// asyncLocal queues a reply the gateway computes off the event loop (it dials a
// backend node): fn runs on a goroutine, its reply takes the place of the
// command in the client's reply order.
func (cl *client) asyncLocal(fn func() []byte) {
	r := &request{cl: cl}
	cl.enqueue(r)
	cl.g.wg.Add(1)
	go func() {
		defer cl.g.wg.Done()
		cl.complete(r, fn())
		cl.flush()
	}()
}

// clientIntrospect answers CLIENT LIST, INFO, KILL and UNBLOCK on the gateway's
// own clients; other subcommands are not supported.
func (cl *client) clientIntrospect(args [][]byte) {
	sub := strings.ToUpper(string(args[1]))
	switch sub {
	case "INFO":
		if len(args) != 2 {
			cl.local(arityError("client|info"))
			return
		}
		cl.local(resp.AppendBulkString(nil, cl.g.clientLine(cl, cl, "client|info")))
	case "LIST":
		cl.clientList(args)
	case "KILL":
		cl.clientKill(args)
	case "UNBLOCK":
		cl.clientUnblock(args)
	default:
		cl.local(resp.AppendError(nil, "ERR CLIENT "+oneWord(sub)+" is not supported by the xsync gateway"))
	}
}

// clientLine is cl's line of CLIENT LIST, in Redis's format (see
// catClientInfoString in Redis's networking.c). Fields the gateway does not
// track are 0 or empty; cmd is only known for the calling client.
func (g *Server) clientLine(cl, self *client, selfCmd string) string {
	now := time.Now()
	flags := ""
	if cl.subscribed.Load() {
		flags += "P"
	}
	if _, b := g.blockedConn(cl); b != nil {
		flags += "b"
	}
	multi := -1
	if cl == self && cl.tx != nil {
		flags += "x"
		multi = cl.tx.n
	}
	if flags == "" {
		flags = "N"
	}
	cmd := "NULL"
	if cl == self {
		cmd = selfCmd
	}
	addr, laddr := "", ""
	if a := cl.c.RemoteAddr(); a != nil {
		addr = a.String()
	}
	if a := cl.c.LocalAddr(); a != nil {
		laddr = a.String()
	}
	idle := now.Sub(time.Unix(0, cl.lastActive.Load())) / time.Second
	age := now.Sub(cl.created) / time.Second
	var b strings.Builder
	b.WriteString("id=" + strconv.FormatUint(cl.id, 10))
	b.WriteString(" addr=" + addr + " laddr=" + laddr + " fd=-1 name=" + cl.name)
	b.WriteString(" age=" + strconv.FormatInt(int64(age), 10) + " idle=" + strconv.FormatInt(int64(idle), 10))
	b.WriteString(" flags=" + flags + " db=0 sub=0 psub=0 ssub=0 multi=" + strconv.Itoa(multi))
	b.WriteString(" qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0")
	b.WriteString(" omem=" + strconv.FormatInt(cl.outbound.Load(), 10) + " tot-mem=0 events=r cmd=" + cmd)
	b.WriteString(" user=default redir=-1 resp=" + strconv.Itoa(cl.proto) + "\n")
	return b.String()
}

// clients returns the connected clients, in id order.
func (g *Server) clientsByID() []*client {
	g.clientsMu.Lock()
	out := make([]*client, 0, len(g.clients))
	for c := range g.clients {
		out = append(out, c)
	}
	g.clientsMu.Unlock()
	for i := 1; i < len(out); i++ { // insertion sort: CLIENT LIST is rare
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// clientList answers CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...].
func (cl *client) clientList(args [][]byte) {
	typ := ""
	var ids map[uint64]bool
	for i := 2; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "TYPE") && i+1 < len(args):
			typ = strings.ToLower(string(args[i+1]))
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				cl.local(resp.AppendError(nil, "ERR Unknown client type '"+oneWord(string(args[i+1]))+"'"))
				return
			}
			i++
		case strings.EqualFold(string(args[i]), "ID") && i+1 < len(args):
			ids = map[uint64]bool{}
			for i++; i < len(args); i++ {
				id, err := strconv.ParseUint(string(args[i]), 10, 64)
				if err != nil || id == 0 {
					cl.local(resp.AppendError(nil, "ERR Invalid client ID"))
					return
				}
				ids[id] = true
			}
		default:
			cl.local(resp.AppendError(nil, "ERR syntax error"))
			return
		}
	}
	var b strings.Builder
	for _, c := range cl.g.clientsByID() {
		if ids != nil && !ids[c.id] {
			continue
		}
		switch typ {
		case "master", "replica", "slave":
			continue
		case "pubsub":
			if !c.subscribed.Load() {
				continue
			}
		case "normal":
			if c.subscribed.Load() {
				continue
			}
		}
		b.WriteString(cl.g.clientLine(c, cl, "client|list"))
	}
	if cl.proto == 3 {
		cl.local(resp.AppendValue(nil, resp.Value{Type: resp.TypeVerbatim, Str: []byte(b.String())}))
		return
	}
	cl.local(resp.AppendBulkString(nil, b.String()))
}

// clientKill answers CLIENT KILL ip:port (OK or an error) and CLIENT KILL
// <filter> <value> ... (the number killed), as Redis's clientKillCommand.
func (cl *client) clientKill(args [][]byte) {
	if len(args) < 3 {
		cl.local(arityError("client|kill"))
		return
	}
	var match func(*client) bool
	old := len(args) == 3
	skipme := true
	if old {
		addr := string(args[2])
		match = func(c *client) bool { return c.c.RemoteAddr() != nil && c.c.RemoteAddr().String() == addr }
		skipme = false
	} else {
		if len(args)%2 != 0 {
			cl.local(resp.AppendError(nil, "ERR syntax error"))
			return
		}
		var conds []func(*client) bool
		for i := 2; i < len(args); i += 2 {
			val := string(args[i+1])
			switch strings.ToUpper(string(args[i])) {
			case "ID":
				id, err := strconv.ParseUint(val, 10, 64)
				if err != nil || id == 0 {
					cl.local(resp.AppendError(nil, "ERR client-id should be greater than 0"))
					return
				}
				conds = append(conds, func(c *client) bool { return c.id == id })
			case "ADDR":
				conds = append(conds, func(c *client) bool { return c.c.RemoteAddr() != nil && c.c.RemoteAddr().String() == val })
			case "LADDR":
				conds = append(conds, func(c *client) bool { return c.c.LocalAddr() != nil && c.c.LocalAddr().String() == val })
			case "USER":
				conds = append(conds, func(*client) bool { return val == "default" })
			case "TYPE":
				switch strings.ToLower(val) {
				case "normal":
					conds = append(conds, func(c *client) bool { return !c.subscribed.Load() })
				case "pubsub":
					conds = append(conds, func(c *client) bool { return c.subscribed.Load() })
				case "master", "replica", "slave":
					conds = append(conds, func(*client) bool { return false })
				default:
					cl.local(resp.AppendError(nil, "ERR Unknown client type '"+oneWord(val)+"'"))
					return
				}
			case "SKIPME":
				switch strings.ToLower(val) {
				case "yes":
					skipme = true
				case "no":
					skipme = false
				default:
					cl.local(resp.AppendError(nil, "ERR syntax error"))
					return
				}
			default:
				cl.local(resp.AppendError(nil, "ERR syntax error"))
				return
			}
		}
		match = func(c *client) bool {
			for _, f := range conds {
				if !f(c) {
					return false
				}
			}
			return true
		}
	}
	killed, self := 0, false
	for _, c := range cl.g.clientsByID() {
		if !match(c) || (skipme && c == cl) {
			continue
		}
		killed++
		if c == cl {
			self = true
			continue
		}
		_ = c.c.Close()
	}
	switch {
	case old && killed == 0:
		cl.local(resp.AppendError(nil, "ERR No such client"))
	case old:
		cl.local(replyOK)
	default:
		cl.local(resp.AppendInt(nil, int64(killed)))
	}
	if self { // as Redis: the reply first, then the connection is closed
		cl.flushThenClose()
	}
}

// clientUnblock answers CLIENT UNBLOCK id [TIMEOUT|ERROR]: when that gateway
// client is in a blocking command, the command's own backend connection is
// unblocked on its node (with the same mode), so the client gets Redis's reply
// (a timeout's null, or -UNBLOCKED).
func (cl *client) clientUnblock(args [][]byte) {
	if len(args) != 3 && len(args) != 4 {
		cl.local(arityError("client|unblock"))
		return
	}
	id, err := strconv.ParseUint(string(args[2]), 10, 64)
	if err != nil {
		cl.local(resp.AppendError(nil, "ERR value is not an integer or out of range"))
		return
	}
	mode := "TIMEOUT"
	if len(args) == 4 {
		mode = strings.ToUpper(string(args[3]))
		if mode != "TIMEOUT" && mode != "ERROR" {
			cl.local(resp.AppendError(nil, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
			return
		}
	}
	var target *client
	for _, c := range cl.g.clientsByID() {
		if c.id == id {
			target = c
		}
	}
	var be *backend
	var b *blockingConn
	if target != nil {
		be, b = cl.g.blockedConn(target)
	}
	if b == nil {
		cl.local(resp.AppendInt(nil, 0))
		return
	}
	addr, bid := b.addr, b.id
	cl.asyncLocal(func() []byte {
		return be.oneShot(addr, resp.AppendCommandString(nil, "CLIENT", "UNBLOCK", bid, mode))
	})
}
