package source

import (
	"context"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/replicator/conn"
)

// TestReadTopologyVersions reads the layout of a live cluster of every version: 3.2
// and 4.0 answer CLUSTER SHARDS with "-ERR Wrong CLUSTER subcommand or number of
// arguments", 5.0-6.2 with "-ERR Unknown subcommand ...", 7.0+ with the shards.
func TestReadTopologyVersions(t *testing.T) {
	redistest.NeedVersions(t, redistest.Versions...)
	for _, v := range redistest.Versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			c := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3, Replicas: 1, Options: redistest.Options{Version: v}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			topo, standalone, err := readTopology(ctx, conn.Options{}, c.Addrs())
			if err != nil {
				t.Fatalf("readTopology on a %s cluster: %v", v, err)
			}
			if standalone {
				t.Fatalf("a %s cluster read as a standalone server", v)
			}
			if len(topo.Shards) != 3 {
				t.Fatalf("%d shards, want 3: %+v", len(topo.Shards), topo)
			}
			covered := 0
			for _, sh := range topo.Shards {
				for _, r := range sh.Ranges {
					covered += int(r.End) - int(r.Start) + 1
				}
				if len(sh.Replicas) != 1 {
					t.Errorf("shard %s: %d replicas, want 1", sh.Primary.Addr, len(sh.Replicas))
				}
			}
			if covered != 16384 {
				t.Errorf("%d slots covered, want 16384", covered)
			}
		})
	}
}
