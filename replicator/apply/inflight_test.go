package apply

import "testing"

func TestInflights(t *testing.T) {
	in := newInflights(4, 100)
	ops := make([]*op, 10)
	for i := range ops {
		ops[i] = &op{seq: uint64(i)}
	}
	if in.Full() || in.Front() != nil || in.FreeFirst() != nil {
		t.Fatal("empty window")
	}
	next := 0
	for round := 0; round < 5; round++ {
		for !in.Full() {
			in.Add(ops[next%10], 10)
			next++
		}
		if in.Count() != 4 || in.Bytes() != 40 {
			t.Fatalf("count %d bytes %d", in.Count(), in.Bytes())
		}
		want := next - 4
		for k := 0; k < 3; k++ {
			if o := in.FreeFirst(); o != ops[(want+k)%10] {
				t.Fatalf("round %d: freed seq %d, want %d", round, o.seq, (want+k)%10)
			}
		}
	}
	// Bytes bound; an op larger than the bound passes on an empty window.
	in = newInflights(100, 50)
	in.Add(ops[0], 200)
	if !in.Full() {
		t.Fatal("not full at 200 bytes")
	}
	in.FreeFirst()
	in.Add(ops[1], 20)
	in.Add(ops[2], 20)
	if in.Full() {
		t.Fatal("full at 40 of 50 bytes")
	}
	in.Add(ops[3], 20)
	if !in.Full() {
		t.Fatal("not full at 60 bytes")
	}
	got := in.Reset(nil)
	if len(got) != 3 || got[0] != ops[1] || got[2] != ops[3] || in.Count() != 0 || in.Bytes() != 0 {
		t.Fatalf("reset: %v", got)
	}
}

func TestSourceWatermark(t *testing.T) {
	s := &source{}
	offs := []int64{10, 0, 30, 40, 0, 60}
	for _, o := range offs {
		s.push(o)
	}
	steps := []struct {
		done uint64
		want int64
	}{{2, 0}, {1, 0}, {0, 30}, {4, 30}, {5, 30}, {3, 60}}
	for _, st := range steps {
		s.done(st.done)
		if got := s.applied.Load(); got != st.want {
			t.Fatalf("after %d: applied %d, want %d", st.done, got, st.want)
		}
	}
	if s.base != 6 || len(s.ring) != 0 {
		t.Fatalf("base %d ring %d", s.base, len(s.ring))
	}
	// Long runs compact the ring.
	for i := 0; i < 5000; i++ {
		s.push(int64(100 + i))
		s.done(uint64(6 + i))
	}
	if s.applied.Load() != 5099 || len(s.ring) != 0 {
		t.Fatalf("applied %d ring %d", s.applied.Load(), len(s.ring))
	}
}
