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
	fanAll            // FLUSHALL, FLUSHDB, SCRIPT LOAD/FLUSH, FUNCTION LOAD/..., CONFIG SET: the first error, else the first reply
	fanSum            // DBSIZE: the sum of the integers
	fanConcat         // KEYS: one array of every master's elements
	fanAnd            // SCRIPT EXISTS: per element, 1 when every master has it
	fanKill           // SCRIPT KILL, FUNCTION KILL: on connections of their own, OK when one master killed
	fanInfo           // INFO: the masters' sections merged, plus # Gateway
	fanFirst          // keyless EVAL/FCALL, CONFIG GET: always the first master
	fanScan           // SCAN: one master at a time, the master folded into the cursor
)

// fanKindOf returns how spec runs (fanNone: on one master, spread by client).
func fanKindOf(spec *slots.CommandSpec) fanKind {
	switch spec.Name {
	case "flushall", "flushdb", "script|load", "script|flush",
		"function|load", "function|delete", "function|flush", "function|restore", "function|list", "function|dump",
		"config|set", "config|resetstat", "config|rewrite":
		return fanAll
	case "dbsize":
		return fanSum
	case "keys":
		return fanConcat
	case "script|exists":
		return fanAnd
	case "script|kill", "function|kill":
		return fanKill
	case "info":
		return fanInfo
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "config|get":
		// A keyless script runs on one node that every client agrees on (the
		// first master of the topology), so that its effects are in one place.
		return fanFirst
	case "scan":
		return fanScan
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
	switch r.fan {
	case fanKill:
		be.killScripts(r, shards)
		return
	case fanScan:
		be.scan(r, shards)
		return
	case fanFirst:
		sub := &request{cl: r.cl, be: be, raw: r.raw, n: 1, slot: -1, proto: r.proto, addr: shards[0].Primary.Addr}
		sub.onReply = func(raw []byte) { r.finish(raw).flush() }
		be.send(sub)
		return
	}
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
		f.parent.finish(merge(f.parent, f.replies)).flush()
	}
}

func merge(parent *request, replies [][]byte) []byte {
	kind := parent.fan
	vals := make([]resp.Value, len(replies))
	for i, raw := range replies {
		v, _, err := resp.ParseValue(raw, backendLimits)
		if err != nil {
			return resp.AppendError(nil, "ERR xsync gateway: bad reply: "+errString(err))
		}
		if v.IsError() && kind != fanKill {
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
	case fanAnd:
		return mergeAnd(vals, replies[0])
	case fanKill:
		return mergeKill(vals, replies)
	case fanInfo:
		return parent.cl.g.mergeInfo(vals, infoArgsWantGateway(splitCommand(parent.raw)))
	}
	return replies[0]
}

// mergeAnd answers SCRIPT EXISTS as one Redis: a script exists when every
// master has it (a later EVALSHA may run on any of them).
func mergeAnd(vals []resp.Value, first []byte) []byte {
	n := len(vals[0].Elems)
	for _, v := range vals {
		if len(v.Elems) != n {
			return first
		}
	}
	out := resp.AppendArray(nil, n)
	for i := range n {
		all := int64(1)
		for _, v := range vals {
			if v.Elems[i].Int == 0 {
				all = 0
			}
		}
		out = resp.AppendInt(out, all)
	}
	return out
}

// mergeKill answers SCRIPT KILL / FUNCTION KILL as one Redis: OK when a master
// killed its script; else UNKILLABLE when one cannot; else the first reply
// (NOTBUSY No scripts in execution right now.).
func mergeKill(vals []resp.Value, replies [][]byte) []byte {
	for i, v := range vals {
		if v.Type == resp.TypeSimpleString {
			return replies[i]
		}
	}
	for i, v := range vals {
		if hasPrefix(v.Str, "UNKILLABLE") {
			return replies[i]
		}
	}
	return replies[0]
}
