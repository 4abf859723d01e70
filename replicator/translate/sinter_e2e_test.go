package translate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/slots"
)

// TestEmulatedSinterstoreOldSource replays a Redis 5.0 source's cross-slot
// SINTERSTOREs whose keys are a missing key before a key of another type: 5.0
// answers the empty result (deleting the destination) at the first missing key
// without looking at the later keys' types (t_set.c sinterGenericCommand
// before redis/redis#9032), where a 7.0 destination answers WRONGTYPE.
func TestEmulatedSinterstoreOldSource(t *testing.T) {
	sinterstoreOldSource(t, "")
}

// TestSameSlotSinterstoreOldSource is the same stream with every key in one
// slot ({t}): the command is not emulated but sent as it is, and a 7.0
// destination must still give the old source's effect.
func TestSameSlotSinterstoreOldSource(t *testing.T) {
	sinterstoreOldSource(t, "{t}")
}

// sinterstoreOldSource replays SINTERSTOREs of a 5.0 source, with tag
// appended to every key name, onto a 3-master 7.0 cluster and compares.
func sinterstoreOldSource(t *testing.T, tag string) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := redistest.Start(t, redistest.Options{Version: "5.0"}).Client()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dest := testDest{c: cl.Client()}

	stream := []string{
		"SET dst old", "SET b str", "SINTERSTORE dst a b",
		"SADD s x y", "SADD dst2 z", "SINTERSTORE dst2 s nosuch b",
		// The destination is one of the source keys.
		"SET a3 str", "SINTERSTORE s s nosuch a3",
		// Every key a set: the ordinary intersection.
		"SADD s4 x", "SADD s5 x", "SINTERSTORE s6 s4 s5",
		// A set before the missing key, and a single key.
		"SADD s7 x", "SINTERSTORE s8 s7 nosuch2", "SINTERSTORE s9 s7",
	}
	for i, line := range stream {
		f := strings.Fields(line)
		for j := 1; j < len(f); j++ {
			if !strings.HasPrefix(f[0], "S") || f[0] == "SET" && j == 2 || f[0] == "SADD" && j >= 2 {
				continue
			}
			f[j] += tag
		}
		stream[i] = strings.Join(f, " ")
	}
	tr, err := New(Config{SourceKind: SourceStandalone})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for i, line := range stream {
		args, err := splitArgs(line)
		if err != nil {
			t.Fatal(err)
		}
		if err := ref.Do(ctx, anyArgs(args)...).Err(); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("reference %s: %v", line, err)
		}
		idx, _ := slots.KeyIndexes(args, nil)
		for _, k := range idx {
			keys[string(args[k])] = true
		}
		ops, err := tr.Translate(0, args, int64(i+1), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		dest.apply(ctx, t, ops)
	}
	for k := range keys {
		want := snapshotKey(ctx, ref, k)
		if got := snapshotKey(ctx, dest.c, k); got != want {
			t.Errorf("key %q: cluster %s, 5.0 source %s", k, got, want)
		}
	}
	if got := snapshotKey(ctx, ref, "dst"+tag); got != "none" {
		t.Errorf("dst on the 5.0 source: %s, want none (the test's premise)", got)
	}
}
