package apply

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// batcher collects a workload's ops and submits them with SubmitBatch, size at
// a time (the rest at flush); with bufs, their bytes go into buffers of
// BatchBuffer, as a snapshot's do (a buffer reused too early would corrupt the
// commands of ops still in flight: checkFake would see it).
type batcher struct {
	w    *workload
	size int
	bufs bool
	ops  []Op
	buf  []byte
}

func (b *batcher) add(t testing.TB, a *Applier, op Op) {
	t.Helper()
	if b.bufs {
		if b.buf == nil {
			b.buf = a.BatchBuffer()
		}
		n := len(b.buf)
		b.buf = append(b.buf, op.Cmd...)
		op.Cmd = b.buf[n:len(b.buf):len(b.buf)]
		n = len(b.buf)
		b.buf = append(b.buf, op.Key...)
		op.Key = b.buf[n:len(b.buf):len(b.buf)]
	}
	b.ops = append(b.ops, op)
	if len(b.ops) >= b.size || len(b.buf) > BatchBufferSize-256 {
		b.flush(t, a)
	}
}

func (b *batcher) flush(t testing.TB, a *Applier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.SubmitBatch(ctx, b.ops, b.buf); err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	b.ops, b.buf = b.ops[:0], nil
}

func (b *batcher) incr(t testing.TB, a *Applier, src int, key string) {
	b.w.off[src]++
	b.w.counts[key]++
	b.add(t, a, cmdOp(src, b.w.off[src], "INCR", key))
}

func (b *batcher) rpush(t testing.TB, a *Applier, src int, key string) {
	b.w.off[src]++
	v := strconv.Itoa(len(b.w.lists[key]))
	b.w.lists[key] = append(b.w.lists[key], v)
	b.add(t, a, cmdOp(src, b.w.off[src], "RPUSH", key, v))
}

// TestSubmitBatch checks that batched ops keep the order of their (Source, Slot)
// through redirects, migrations and lost connections, mixed with single Submits,
// and that every op is acknowledged once.
func TestSubmitBatch(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *fakeCluster)
		apply func(c *fakeCluster, i int)
	}{
		{"plain", nil, nil},
		{"moved", nil, func(c *fakeCluster, i int) {
			if i%400 == 200 {
				for k := 0; k < 10; k++ {
					s := slotOf(fmt.Sprintf("l:%d", (i/400+k)%23))
					c.moveSlot(s, (c.owner[s]+1)%3)
				}
			}
		}},
		{"ask", nil, func(c *fakeCluster, i int) {
			if i%300 == 150 {
				key := fmt.Sprintf("l:%d", (i/300)%23)
				s := slotOf(key)
				c.migrateKey(key, (c.owner[s]+1)%3)
			}
			if i%300 == 299 {
				for s, to := range c.migr {
					c.moveSlot(s, to)
				}
			}
		}},
		{"lost connection", func(c *fakeCluster) {
			c.addFault(&fault{node: -1, cmd: "RPUSH", key: "l:5", skip: 30, times: 1, reply: "drop"})
		}, nil},
	}
	for _, tc := range tests {
		for _, size := range []int{1, 7, 64, 1000} {
			bufs := size >= 64
			t.Run(tc.name+"/"+strconv.Itoa(size), func(t *testing.T) {
				c := newFakeCluster(t, 3)
				if tc.setup != nil {
					tc.setup(c)
				}
				a, _, _ := startApplier(t, []string{c.nodes[1].addr}, nil)
				b := &batcher{w: newWorkload(), size: size, bufs: bufs}
				for i := 0; i < 2000; i++ {
					b.rpush(t, a, 0, fmt.Sprintf("l:%d", i%23))
					b.incr(t, a, 1, fmt.Sprintf("c:%d", i%23))
					if i%97 == 0 { // a single Submit between batches keeps its place
						b.flush(t, a)
						b.w.incr(t, a, 1, fmt.Sprintf("c:%d", i%23))
					}
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
					if tc.apply != nil {
						tc.apply(c, i)
					}
				}
				b.flush(t, a)
				flush(t, a)
				b.w.checkFake(t, c, a)
				if st := a.Stats(); st.Reordered != 0 || st.Pending != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// TestSubmitBatchRefuses checks the ops a batch may not hold.
func TestSubmitBatchRefuses(t *testing.T) {
	c := newFakeCluster(t, 1)
	a, _, _ := startApplier(t, []string{c.nodes[0].addr}, nil)
	ctx := context.Background()
	for name, op := range map[string]Op{
		"barrier":     {Slot: 0, Barrier: func(context.Context, Dest) error { return nil }},
		"all masters": {Slot: AllMasters, Cmd: []byte("*1\r\n$4\r\nPING\r\n"), N: 1},
		"no command":  {Slot: 1, N: 1},
	} {
		if err := a.SubmitBatch(ctx, []Op{cmdOp(0, 0, "INCR", "x"), op}, nil); !errors.Is(err, ErrBadOp) {
			t.Errorf("%s: %v, want ErrBadOp", name, err)
		}
	}
	if err := a.SubmitBatch(ctx, nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	flush(t, a)
	if got := a.Stats().Applied; got != 0 {
		t.Errorf("applied %d ops of refused batches", got)
	}
}

// TestLaneSize keeps a lane in one cache line (see lane).
func TestLaneSize(t *testing.T) {
	if n := unsafe.Sizeof(lane{}); n != 64 {
		t.Errorf("lane is %d bytes, want 64", n)
	}
	if n := unsafe.Sizeof([laneChunk]lane{}); n%4096 != 0 {
		t.Errorf("a chunk of lanes is %d bytes, not whole pages", n)
	}
}
