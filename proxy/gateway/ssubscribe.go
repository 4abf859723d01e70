package gateway

import (
	"strings"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// Sharded pub/sub: a shard channel's messages exist only on the node that owns
// its slot (see "Sharded Pub/Sub" in Redis's pub/sub documentation), so each
// SSUBSCRIBE goes to that node, on a connection of the client's own per node
// (one node's channels in one command to it). SPUBLISH has the channel as its
// key and is routed by slot as any keyed command.

// shardPubsub handles SSUBSCRIBE and SUNSUBSCRIBE of a client in (or entering)
// pub/sub mode.
func (cl *client) shardPubsub(name string, args [][]byte) {
	if name == "SSUBSCRIBE" && len(args) < 2 {
		cl.local(arityError("ssubscribe"))
		return
	}
	t := cl.g.cur.Load().table.Load()
	if t == nil {
		cl.local(resp.AppendError(nil, "CLUSTERDOWN xsync gateway: no topology yet"))
		return
	}
	if cl.ps == nil {
		cl.ps = startPubsub(cl)
	}
	ps := cl.ps
	if name == "SUNSUBSCRIBE" && len(args) == 1 {
		if len(ps.shards) == 0 {
			cl.local(unsubscribedNothing(name, cl.proto))
			return
		}
		for _, s := range ps.shards {
			s.send(resp.AppendCommandString(nil, "SUNSUBSCRIBE"))
		}
		return
	}
	// The channels by node, in the order they came.
	var order []string
	groups := map[string][][]byte{}
	for _, ch := range args[1:] {
		n, ok := t.Primary(slots.Slot(ch))
		if !ok || n.Addr == "" {
			cl.local(resp.AppendError(nil, "CLUSTERDOWN Hash slot not served"))
			return
		}
		if _, seen := groups[n.Addr]; !seen {
			order = append(order, n.Addr)
		}
		groups[n.Addr] = append(groups[n.Addr], ch)
	}
	for _, addr := range order {
		s := ps.shards[addr]
		if s == nil {
			if name == "SUNSUBSCRIBE" { // never subscribed there: Redis's reply for each
				for _, ch := range groups[addr] {
					cl.pushRaw(unsubscribedFrom(strings.ToLower(name), ch, cl.proto))
				}
				continue
			}
			if ps.shards == nil {
				ps.shards = map[string]*pubsubSession{}
			}
			s = startPubsubAt(cl, addr)
			ps.shards[addr] = s
		}
		cmd := append([][]byte{[]byte(name)}, groups[addr]...)
		s.send(resp.AppendCommand(nil, cmd...))
	}
}

// unsubscribedFrom is Redis's reply to an unsubscription from a channel the
// connection was not subscribed to.
func unsubscribedFrom(kind string, ch []byte, proto int) []byte {
	var b []byte
	if proto == 3 {
		b = append(b, ">3\r\n"...)
	} else {
		b = resp.AppendArray(b, 3)
	}
	b = resp.AppendBulkString(b, kind)
	b = resp.AppendBulk(b, ch)
	return resp.AppendInt(b, 0)
}
