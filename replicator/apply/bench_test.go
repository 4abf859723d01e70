package apply

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

func benchOps(n int) []Op {
	ops := make([]Op, n)
	val := []byte("0123456789abcdef")
	for i := range ops {
		key := fmt.Sprintf("key:%d", i)
		ops[i] = Op{Slot: slots.SlotString(key), Cmd: resp.AppendCommand(nil, []byte("SET"), []byte(key), val), N: 1, Key: []byte(key)}
	}
	return ops
}

// BenchmarkApplySET applies pipelined SETs (16-byte values) to one real
// redis-server node.
func BenchmarkApplySET(b *testing.B) {
	s := redistest.Start(b, redistest.Options{})
	a, _, _ := startApplier(b, []string{s.Addr()}, nil)
	ops := benchOps(4096)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := ops[i%len(ops)]
		op.Offset = int64(i + 1)
		if err := a.Submit(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkBatching measures the applier without the network: Submit, lane and
// window bookkeeping, batching into a write buffer, reply matching and
// acknowledgement (every reply is +OK). /submit hands ops one at a time (the
// stream), /batch64 64 at a time with SubmitBatch (the snapshot).
func BenchmarkBatching(b *testing.B) {
	b.Run("submit", func(b *testing.B) { benchBatching(b, 1) })
	b.Run("batch64", func(b *testing.B) { benchBatching(b, 64) })
}

func benchBatching(b *testing.B, per int) {
	a, err := New(Config{Addrs: []string{"bench:0"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	a.installTopology(slots.Topology{Shards: []slots.Shard{{Primary: slots.Node{Addr: "bench:0", Primary: true},
		Ranges: []slots.Range{{Start: 0, End: slots.NumSlots - 1}}}}})
	a.ready = true
	p := a.nodeFor("bench:0").pipes[0]
	ops := benchOps(4096)
	ok := resp.Value{Type: resp.TypeSimpleString, Str: []byte("OK")}
	ctx := context.Background()
	var buf []byte
	batch := make([]*op, 0, a.cfg.BatchCommands)
	bytes := 0
	drain := func() {
		for {
			p.mu.Lock()
			batch = p.takeBatch(batch[:0])
			p.mu.Unlock()
			if len(batch) == 0 {
				return
			}
			buf = buf[:0]
			for _, o := range batch {
				buf = append(buf, o.wire...)
			}
			bytes += len(buf)
			p.mu.Lock()
			for _, o := range batch {
				o.feed(ok)
				p.infl.FreeFirst()
			}
			p.mu.Unlock()
			a.complete(batch)
		}
	}
	pend := make([]Op, 0, per)
	var bbuf []byte
	submit := func() {
		var err error
		if per == 1 {
			err = a.Submit(ctx, pend[0])
		} else {
			err = a.SubmitBatch(ctx, pend, bbuf)
		}
		if err != nil {
			b.Fatal(err)
		}
		pend, bbuf = pend[:0], nil
	}
	keep := func(p []byte) []byte { // as a snapshot does: the bytes in a batch buffer
		if bbuf == nil {
			bbuf = a.BatchBuffer()
		}
		n := len(bbuf)
		bbuf = append(bbuf, p...)
		return bbuf[n:len(bbuf):len(bbuf)]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op := ops[i%len(ops)]
		op.Offset = int64(i + 1)
		if per > 1 {
			op.Cmd, op.Key = keep(op.Cmd), keep(op.Key)
		}
		if pend = append(pend, op); len(pend) == per {
			submit()
		}
		if i%a.cfg.BatchCommands == a.cfg.BatchCommands-1 {
			if len(pend) > 0 {
				submit()
			}
			drain()
		}
	}
	if len(pend) > 0 {
		submit()
	}
	drain()
	b.StopTimer()
	if a.Applied(0) != int64(b.N) {
		b.Fatalf("applied %d of %d", a.Applied(0), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.SetBytes(int64(bytes / b.N))
}
