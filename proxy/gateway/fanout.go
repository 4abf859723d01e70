package gateway

import (
	"sync"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// fanKind says how a keyless command that concerns the whole dataset runs: on
// every master, with the replies merged into the one a single Redis would give.
type fanKind uint8

const (
	fanNone   fanKind = iota
	fanAll            // FLUSHALL, FLUSHDB, SCRIPT LOAD/FLUSH: the first error, else the first reply
	fanSum            // DBSIZE: the sum of the integers
	fanConcat         // KEYS: one array of every master's elements
)

// fanKindOf returns how spec runs (fanNone: on one master).
func fanKindOf(spec *slots.CommandSpec) fanKind {
	switch spec.Name {
	case "flushall", "flushdb", "script|load", "script|flush":
		return fanAll
	case "dbsize":
		return fanSum
	case "keys":
		return fanConcat
	}
	return fanNone
}

// fanout sends r to every master as sub-requests and finishes r with the merge.
func (be *backend) fanout(r *request) {
	t := be.table.Load()
	if t == nil || len(t.Topology().Shards) == 0 {
		r.fail("CLUSTERDOWN xsync gateway: no topology")
		return
	}
	shards := t.Topology().Shards
	f := &fanState{parent: r, left: len(shards), replies: make([][]byte, len(shards))}
	for i, sh := range shards {
		sub := &request{cl: r.cl, be: be, raw: r.raw, n: 1, slot: -1, proto: r.proto, addr: sh.Primary.Addr}
		sub.onReply = func(raw []byte) { f.collect(i, raw) }
		be.send(sub)
	}
}

type fanState struct {
	parent  *request
	mu      sync.Mutex
	left    int
	replies [][]byte
}

// collect records one master's reply (raw is only valid during the call); the
// last one finishes the parent.
func (f *fanState) collect(i int, raw []byte) {
	f.mu.Lock()
	f.replies[i] = append([]byte(nil), raw...)
	f.left--
	done := f.left == 0
	f.mu.Unlock()
	if done {
		f.parent.finish(merge(f.parent.fan, f.replies)).flush()
	}
}

func merge(kind fanKind, replies [][]byte) []byte {
	vals := make([]resp.Value, len(replies))
	for i, raw := range replies {
		v, _, err := resp.ParseValue(raw, backendLimits)
		if err != nil {
			return resp.AppendError(nil, "ERR xsync gateway: bad reply: "+errString(err))
		}
		if v.IsError() {
			return raw
		}
		vals[i] = v
	}
	switch kind {
	case fanSum:
		var sum int64
		for _, v := range vals {
			sum += v.Int
		}
		return resp.AppendInt(nil, sum)
	case fanConcat:
		n := 0
		for _, v := range vals {
			n += len(v.Elems)
		}
		out := resp.AppendArray(nil, n)
		for _, v := range vals {
			for _, e := range v.Elems {
				out = resp.AppendValue(out, e)
			}
		}
		return out
	}
	return replies[0]
}
