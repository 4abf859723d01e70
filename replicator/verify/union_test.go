package verify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/verify"
)

// TestUnion: two sources merged into one target under "a:" and "b:". Equal
// when the target holds exactly both; a key missing under one prefix, a value
// differing under the other and a key under neither prefix are each found.
func TestUnion(t *testing.T) {
	ctx := testCtx(t)
	a := redistest.Start(t, redistest.Options{}).Client()
	b := redistest.Start(t, redistest.Options{}).Client()
	tgt := redistest.Start(t, redistest.Options{}).Client()
	for i := range 100 {
		k := fmt.Sprintf("k%d", i)
		a.Set(ctx, k, "a", 0)
		b.Set(ctx, k, "b", 0)
		tgt.Set(ctx, "a:"+k, "a", 0)
		tgt.Set(ctx, "b:"+k, "b", 0)
	}
	tgt.Set(ctx, "__xb:ckpt:{x}", "1", 0)
	tgt.HSet(ctx, verify.RegistryKey, "__xb:", "{}") // left out by default
	cfg := verify.Config{Target: tgt, Rounds: 1, RoundDelay: time.Millisecond, ExcludePrefixes: []string{"__xb:"}}
	members := []verify.Member{{Source: a, KeyPrefix: "a:", Name: "a"}, {Source: b, KeyPrefix: "b:", Name: "b"}}
	res, err := verify.Union(ctx, cfg, members)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Equal() || res.SourceKeys != 200 || res.TargetKeys != 200 {
		t.Fatalf("equal union: %+v", res)
	}
	tgt.Del(ctx, "a:k1")
	tgt.Set(ctx, "b:k2", "x", 0)
	tgt.Set(ctx, "c:k3", "?", 0)
	res, err = verify.Union(ctx, cfg, members)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(verify.Missing) != 1 || res.Count(verify.Value) != 1 || res.Count(verify.Extra) != 1 || res.Total() != 3 {
		t.Fatalf("counts %v, diffs %+v", res.Counts, res.Diffs)
	}
	if _, err := verify.Union(ctx, cfg, []verify.Member{{Source: a, Name: "a"}, {Source: b, Name: "b"}}); err == nil {
		t.Error("two members without prefixes: no error")
	}
}
