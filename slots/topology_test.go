package slots

import (
	"errors"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/xsync/xsync/resp"
)

// The replies in testdata/cluster come from a real 3-master, 3-replica cluster of
// redis-server 7.0.15 built with redis-cli --cluster create, after moving slots
// 0-9 to the third master (so that a shard has two ranges):
//
//	*-resp2/3          the cluster healthy
//	nodes-migrating    slot 100 being moved (CLUSTER NODES of the source)
//	nodes-importing    the same, as seen by the target
//	*-replicafail      the replica of c6fb... killed and marked fail
//	*-failover         then the master 57a1... killed and its replica promoted

const (
	idA  = "57a123f428fd509a2f7b4eec692ac81415dcef55" // 127.0.0.1:25165, 0-9 10923-16383
	idA2 = "7c353f88552df260f7092f6530fc14c393fb2a99" // 127.0.0.1:22553, its replica
	idB  = "c6fb7d5051a1bb167630432b8a482619aee77223" // 127.0.0.1:25928, 10-5460
	idB2 = "3c778c39d127f99a820ffb37bbb0c732484a63da" // 127.0.0.1:28604, its replica
	idC  = "d9a6ca756b51cbe37a34d3546bd94bab307c1909" // 127.0.0.1:26814, 5461-10922
	idC2 = "b4d8d0adbbc24b359a94423e56c8ae77777327db" // 127.0.0.1:27373, its replica
)

func node(id, addr string, primary bool, health string) Node {
	return Node{ID: id, Addr: addr, Primary: primary, Health: health}
}

func healthyTopology(health string) Topology {
	return Topology{Shards: []Shard{
		{Primary: node(idA, "127.0.0.1:25165", true, health), Replicas: []Node{node(idA2, "127.0.0.1:22553", false, health)},
			Ranges: []Range{{0, 9}, {10923, 16383}}},
		{Primary: node(idB, "127.0.0.1:25928", true, health), Replicas: []Node{node(idB2, "127.0.0.1:28604", false, health)},
			Ranges: []Range{{10, 5460}}},
		{Primary: node(idC, "127.0.0.1:26814", true, health), Replicas: []Node{node(idC2, "127.0.0.1:27373", false, health)},
			Ranges: []Range{{5461, 10922}}},
	}}
}

func replicaFailTopology(health string, withFailed bool) Topology {
	t := healthyTopology(health)
	t.Shards[1].Replicas = nil
	if withFailed {
		t.Shards[1].Replicas = []Node{node(idB2, "127.0.0.1:28604", false, "fail")}
	}
	return t
}

func failoverTopology(health string, withFailedMaster bool) Topology {
	t := healthyTopology(health)
	t.Shards[0] = Shard{Primary: node(idA2, "127.0.0.1:22553", true, health), Ranges: []Range{{0, 9}, {10923, 16383}}}
	t.Shards[1].Replicas = nil // the failed replica lost its address (noaddr)
	if withFailedMaster {
		t.Shards = append(t.Shards, Shard{Primary: node(idA, "127.0.0.1:25165", true, "fail")})
	}
	return t
}

func loadValue(t *testing.T, name string) resp.Value {
	t.Helper()
	b, err := os.ReadFile("testdata/cluster/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, n, err := resp.ParseValue(b, nil)
	if err != nil || n != len(b) {
		t.Fatalf("%s: parsed %d of %d bytes: %v", name, n, len(b), err)
	}
	return v
}

func TestParseCapturedTopologies(t *testing.T) {
	shards := func(v resp.Value) (Topology, error) { return ParseClusterShards(v) }
	slots := func(v resp.Value) (Topology, error) { return ParseClusterSlots(v) }
	nodes := func(v resp.Value) (Topology, error) { return ParseClusterNodes(v.Str) }
	tests := []struct {
		file  string
		parse func(resp.Value) (Topology, error)
		want  Topology
	}{
		{"shards-resp2.resp", shards, healthyTopology("online")},
		{"shards-resp3.resp", shards, healthyTopology("online")},
		{"slots-resp2.resp", slots, healthyTopology("")},
		{"slots-resp3.resp", slots, healthyTopology("")},
		{"nodes-resp2.resp", nodes, healthyTopology("online")},
		{"nodes-resp3.resp", nodes, healthyTopology("online")},
		{"nodes-migrating-resp2.resp", nodes, healthyTopology("online")},
		{"nodes-importing-resp2.resp", nodes, healthyTopology("online")},
		{"shards-replicafail-resp2.resp", shards, replicaFailTopology("online", true)},
		{"slots-replicafail-resp2.resp", slots, replicaFailTopology("", false)},
		{"nodes-replicafail-resp2.resp", nodes, replicaFailTopology("online", true)},
		{"shards-failover-resp2.resp", shards, failoverTopology("online", true)},
		{"shards-failover-resp3.resp", shards, failoverTopology("online", true)},
		{"slots-failover-resp2.resp", slots, failoverTopology("", false)},
		{"nodes-failover-resp2.resp", nodes, failoverTopology("online", true)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.parse(loadValue(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			tb := NewTable(got)
			if !tb.Covered() {
				t.Errorf("not covered: %v", tb.Uncovered())
			}
		})
	}
}

// TestParseSlotsOld reads CLUSTER SLOTS as Redis 3.0 sends it (nodes without IDs),
// and a node with an unknown endpoint ("?", 7.0 cluster-preferred-endpoint-type).
func TestParseSlotsOld(t *testing.T) {
	raw := "*3\r\n" +
		"*4\r\n:0\r\n:8191\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n*2\r\n$9\r\n127.0.0.1\r\n:7003\r\n" +
		"*3\r\n:8192\r\n:16000\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n" +
		"*3\r\n:16001\r\n:16383\r\n*3\r\n$1\r\n?\r\n:7002\r\n$2\r\nid\r\n"
	v, _, err := resp.ParseValue([]byte(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseClusterSlots(v)
	if err != nil {
		t.Fatal(err)
	}
	want := Topology{Shards: []Shard{
		{Primary: Node{Addr: "127.0.0.1:7000", Primary: true}, Replicas: []Node{{Addr: "127.0.0.1:7003"}}, Ranges: []Range{{0, 8191}}},
		{Primary: Node{Addr: "127.0.0.1:7001", Primary: true}, Ranges: []Range{{8192, 16000}}},
		{Primary: Node{ID: "id", Addr: ":7002", Primary: true}, Ranges: []Range{{16001, 16383}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseTopologyErrors(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		parse string
	}{
		{"shards error reply", "-ERR This instance has cluster support disabled\r\n", "shards"},
		{"slots error reply", "-ERR This instance has cluster support disabled\r\n", "slots"},
		{"shards not array", ":1\r\n", "shards"},
		{"shards odd map", "*1\r\n*1\r\n$5\r\nslots\r\n", "shards"},
		{"shards odd slots", "*1\r\n*2\r\n$5\r\nslots\r\n*1\r\n:0\r\n", "shards"},
		{"shards no master", "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:1\r\n$5\r\nnodes\r\n*0\r\n", "shards"},
		{"shards bad role", "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*4\r\n$4\r\nrole\r\n$4\r\nboss\r\n$4\r\nport\r\n:1\r\n", "shards"},
		{"slots short entry", "*1\r\n*2\r\n:0\r\n:1\r\n", "slots"},
		{"slots bad port", "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n", "slots"},
		{"slots out of range", "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", "slots"},
		{"slots overlap", "*2\r\n*3\r\n:0\r\n:10\r\n*2\r\n$1\r\nh\r\n:1\r\n*3\r\n:5\r\n:20\r\n*2\r\n$1\r\nh\r\n:2\r\n", "slots"},
		{"slots reversed", "*1\r\n*3\r\n:10\r\n:0\r\n*2\r\n$1\r\nh\r\n:1\r\n", "slots"},
		{"nodes short line", "$5\r\na b c\r\n", "nodes"},
		{"nodes bad slot", "$37\r\nid h:1@2 master - 0 0 1 connected x-1\r\n", "nodes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _, err := resp.ParseValue([]byte(tc.raw), nil)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.parse {
			case "shards":
				_, err = ParseClusterShards(v)
			case "slots":
				_, err = ParseClusterSlots(v)
			case "nodes":
				_, err = ParseClusterNodes(v.Str)
			}
			if !errors.Is(err, ErrTopology) {
				t.Fatalf("err %v, want ErrTopology", err)
			}
		})
	}
}

func TestTable(t *testing.T) {
	topo := healthyTopology("online")
	tb := NewTable(topo)
	tests := []struct{ slot, shard int }{
		{0, 0}, {9, 0}, {10, 1}, {5460, 1}, {5461, 2}, {10922, 2}, {10923, 0}, {16383, 0},
		{-1, -1}, {16384, -1}, {1 << 40, -1},
	}
	for _, tc := range tests {
		if got := tb.Shard(tc.slot); got != tc.shard {
			t.Errorf("Shard(%d) = %d, want %d", tc.slot, got, tc.shard)
		}
	}
	if !tb.Covered() || tb.Uncovered() != nil {
		t.Error("want covered")
	}
	if n, ok := tb.Primary(SlotString("foo")); !ok || n.ID != idA {
		t.Errorf("Primary(foo) = %v %v", n, ok)
	}
	if !reflect.DeepEqual(tb.Topology(), topo) {
		t.Error("Topology differs")
	}

	partial := healthyTopology("online")
	partial.Shards = partial.Shards[1:]
	tb = NewTable(partial)
	if tb.Covered() {
		t.Error("want uncovered")
	}
	if got, want := tb.Uncovered(), []Range{{0, 9}, {10923, 16383}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Uncovered = %v, want %v", got, want)
	}
	if _, ok := tb.Primary(0); ok {
		t.Error("Primary(0) found")
	}
	if got := NewTable(Topology{}).Uncovered(); !reflect.DeepEqual(got, []Range{{0, NumSlots - 1}}) {
		t.Errorf("empty Uncovered = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = tb.Shard(100) }); n != 0 {
		t.Errorf("Shard allocates %v times", n)
	}
}

func TestShardSlots(t *testing.T) {
	topo := healthyTopology("online")
	total := 0
	for i := range topo.Shards {
		total += topo.Shards[i].Slots()
	}
	if total != NumSlots {
		t.Errorf("slots %d", total)
	}
}

func TestHolder(t *testing.T) {
	var h Holder
	if h.Load() != nil {
		t.Fatal("zero Holder not nil")
	}
	t1 := NewTable(healthyTopology("online"))
	t2 := NewTable(failoverTopology("online", true))
	h2 := NewHolder(t1)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				if tb := h2.Load(); tb.Shard(0) != 0 {
					t.Error("bad table")
					return
				}
			}
		}()
	}
	for j := 0; j < 100; j++ {
		h2.Store(t2)
		h2.Store(t1)
	}
	wg.Wait()
	if old := h2.Swap(t2); old != t1 || h2.Load() != t2 {
		t.Error("Swap")
	}
}

func FuzzParseTopology(f *testing.F) {
	for _, name := range []string{"shards-resp2.resp", "shards-resp3.resp", "slots-resp2.resp", "nodes-resp2.resp", "shards-failover-resp2.resp"} {
		b, err := os.ReadFile("testdata/cluster/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := resp.ParseValue(b, nil)
		if err != nil {
			return
		}
		for _, parse := range []func(resp.Value) (Topology, error){
			ParseClusterShards, ParseClusterSlots,
			func(v resp.Value) (Topology, error) { return ParseClusterNodes(v.Str) },
		} {
			topo, err := parse(v)
			if err != nil {
				continue
			}
			if err := topo.Validate(); err != nil {
				t.Fatalf("parsed an invalid topology: %v", err)
			}
			_ = NewTable(topo).Covered()
		}
	})
}

func BenchmarkTableShard(b *testing.B) {
	tb := NewTable(healthyTopology("online"))
	b.ReportAllocs()
	s := 0
	for b.Loop() {
		s += tb.Shard(s & (NumSlots - 1))
	}
}

func BenchmarkNewTable(b *testing.B) {
	topo := healthyTopology("online")
	b.ReportAllocs()
	for b.Loop() {
		_ = NewTable(topo)
	}
}

func BenchmarkParseClusterShards(b *testing.B) {
	raw, err := os.ReadFile("testdata/cluster/shards-resp2.resp")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _, err := resp.ParseValue(raw, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseClusterShards(v); err != nil {
			b.Fatal(err)
		}
	}
}
