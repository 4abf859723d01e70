package gateway

import (
	"math"
	"strconv"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// scan runs SCAN on one master at a time. The cursor the client sees folds the
// master into the master's own cursor: client cursor = node cursor × masters +
// master index. Cursor 0 starts at master 0; when a master's cursor comes back
// 0 the next call starts the next master, and after the last master the client
// gets 0. A full iteration thus visits every master once and returns every key
// that existed throughout, as Redis's SCAN guarantees (see the SCAN
// documentation, "Scan guarantees"). MATCH, COUNT and TYPE go to the master as
// they are. The masters are taken in topology order: a topology change during an
// iteration may repeat or skip a master's keys.
func (be *backend) scan(r *request, shards []slots.Shard) {
	args := splitCommand(r.raw)
	n := uint64(len(shards))
	if len(args) < 2 {
		r.fail("ERR wrong number of arguments for 'scan' command")
		return
	}
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		// Let the master say how the cursor is wrong, in its own words.
		sub := &request{cl: r.cl, be: be, raw: r.raw, n: 1, slot: -1, proto: r.proto, addr: shards[0].Primary.Addr}
		sub.onReply = func(raw []byte) { r.finish(raw).flush() }
		be.send(sub)
		return
	}
	idx, nodeCur := cur%n, cur/n
	args[1] = strconv.AppendUint(nil, nodeCur, 10)
	sub := &request{cl: r.cl, be: be, raw: resp.AppendCommand(nil, args...), n: 1, slot: -1, proto: r.proto, addr: shards[idx].Primary.Addr}
	sub.onReply = func(raw []byte) { r.finish(scanReply(raw, idx, n)).flush() }
	be.send(sub)
}

// scanReply rewrites a master's SCAN reply with the client's cursor.
func scanReply(raw []byte, idx, n uint64) []byte {
	v, _, err := resp.ParseValue(raw, backendLimits)
	if err != nil || v.IsError() || len(v.Elems) != 2 {
		return raw
	}
	next, err := strconv.ParseUint(string(v.Elems[0].Str), 10, 64)
	if err != nil {
		return raw
	}
	var out uint64
	switch {
	case next == 0 && idx+1 < n:
		out = idx + 1
	case next == 0:
		out = 0
	case next > (math.MaxUint64-idx)/n:
		return resp.AppendError(nil, "ERR xsync gateway: a master's SCAN cursor is too large to fold the master into it")
	default:
		out = next*n + idx
	}
	b := resp.AppendArray(nil, 2)
	b = resp.AppendBulk(b, strconv.AppendUint(nil, out, 10))
	return resp.AppendValue(b, v.Elems[1])
}

// splitCommand returns the arguments of a RESP multibulk command (raw is always
// one: see wire).
func splitCommand(raw []byte) [][]byte {
	args, _, err := resp.ParseCommand(raw, nil, backendLimits)
	if err != nil {
		return nil
	}
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}
