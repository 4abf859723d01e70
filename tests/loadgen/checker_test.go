package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/tests/loadgen"
)

// copyAll makes dst a copy of src through Redis's own replication.
func copyAll(t *testing.T, src, dst *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	if err := dst.Client().ReplicaOf(ctx, "127.0.0.1", strings.TrimPrefix(src.Addr(), "127.0.0.1:")).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		so, _ := src.Client().Info(ctx, "replication").Result()
		do, _ := dst.Client().Info(ctx, "replication").Result()
		if strings.Contains(do, "master_link_status:up") && field(so, "master_repl_offset") == field(do, "slave_repl_offset") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not catch up:\n%s", do)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := dst.Client().ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
}

func field(info, name string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return v
		}
	}
	return ""
}

// TestCheckerNamesLostAndDuplicatedWrites runs the history workload, copies the
// data, then damages the copy the ways a replication can: the checker names each
// lost and each duplicated write by key and sequence, and finds an exact copy
// clean.
func TestCheckerNamesLostAndDuplicatedWrites(t *testing.T) {
	src := redistest.Start(t, redistest.Options{})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	wc := redis.NewClient(&redis.Options{Addr: src.Addr(), Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer wc.Close()
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	h := loadgen.RunHistory(wctx, wc, loadgen.HistoryOptions{Clients: 2, KeysPerClient: 2, MaxLen: 50})
	cancel()
	if h.Acked.Load() < 100 {
		t.Fatalf("only %d writes acknowledged", h.Acked.Load())
	}
	copyAll(t, src, dst)

	r, err := h.Check(ctx, src.Client(), dst.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		var b strings.Builder
		r.WriteReport(&b)
		t.Fatalf("an exact copy is not clean:\n%s", b.String())
	}
	t.Log(r.Summary())

	d := dst.Client()
	// A list losing its last write, another list with its first write twice, a
	// counter incremented once more, an appended string losing a write, a stream
	// entry deleted.
	mustDo(t, d, "RPOP", "h:l:0.0:0")
	first := d.LIndex(ctx, "h:l:1.0:0", 0).Val()
	mustDo(t, d, "LPUSH", "h:l:1.0:0", first)
	mustDo(t, d, "INCR", "h:c:0.1:0")
	v := d.Get(ctx, "h:a:1.1:0").Val()
	mustDo(t, d, "SET", "h:a:1.1:0", strings.Replace(v, "1,", "", 1))
	mustDo(t, d, "XDEL", "h:x:0.0:0", "2-1")
	a, b := d.LIndex(ctx, "h:l:0.1:0", 0).Val(), d.LIndex(ctx, "h:l:0.1:0", 1).Val()
	mustDo(t, d, "LSET", "h:l:0.1:0", "0", b)
	mustDo(t, d, "LSET", "h:l:0.1:0", "1", a)

	r, err = h.Check(ctx, src.Client(), d)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	r.WriteReport(&sb)
	rep := sb.String()
	t.Log(rep)
	if r.LostWrites != 3 || r.DuplicatedWrites != 2 {
		t.Errorf("lost %d, duplicated %d; want 3 and 2:\n%s", r.LostWrites, r.DuplicatedWrites, rep)
	}
	for _, want := range []string{"lost: h:l:0.0:0 seq", "duplicated: h:l:1.0:0 seq " + first, "duplicated: h:c:0.1:0", "lost: h:a:1.1:0 seq 1", "lost: h:x:0.0:0 seq 2"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if len(r.SourceLost)+len(r.SourceDuplicated) != 0 {
		t.Errorf("the source is blamed:\n%s", rep)
	}
	if len(r.Reordered) != 1 || r.Reordered[0] != "h:l:0.1:0" {
		t.Errorf("reordered %v, want the list with two writes swapped", r.Reordered)
	}
}

func mustDo(t *testing.T, c *redis.Client, args ...any) {
	t.Helper()
	if err := c.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}
