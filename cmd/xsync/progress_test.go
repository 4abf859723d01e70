package main

import (
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator"
)

func TestProgressText(t *testing.T) {
	st := replicator.Status{
		State: replicator.StateFullSync, Started: time.Now().Add(-10 * time.Second),
		KeysDone: 250, KeysTotal: 1000, BytesDone: 5_000_000,
		Shards: []replicator.ShardStatus{
			{Index: 0, State: replicator.StateFullSync, KeysDone: 200, KeysTotal: 500},
			{Index: 1, State: replicator.StateStream, KeysDone: 50, KeysTotal: 500},
		},
	}
	line, active := progressText(st, 2_000_000)
	if !active {
		t.Fatal("a shard in full sync: not active")
	}
	for _, want := range []string{"xsync fullsync: 250 keys", "5.0 MB", "2.0 MB/s", "ETA 30s", "shard0 fullsync 200/500 keys", "shard1 stream 50/500 keys"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	st.Shards[0].State = replicator.StateStream
	st.State = replicator.StateStream
	line, active = progressText(st, 0)
	if active || !strings.Contains(line, "full sync done") {
		t.Errorf("after the full sync: %q, active %v", line, active)
	}
}
