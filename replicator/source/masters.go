package source

import (
	"context"
	"fmt"

	"github.com/xsync/xsync/replicator/conn"
)

// Masters returns the address of every master that serves slots (the one node
// of a standalone source), read from the first seed that answers, as a Source
// discovers them. Scan mode (replicator/scansrc) reads each of them.
func Masters(ctx context.Context, opts conn.Options, seeds []string) (addrs []string, standalone bool, err error) {
	t, standalone, err := readTopology(ctx, opts, seeds)
	if err != nil {
		return nil, false, err
	}
	for _, sh := range t.Shards {
		if len(sh.Ranges) == 0 && !standalone {
			continue
		}
		if sh.Primary.Addr == "" {
			return nil, false, fmt.Errorf("xsync/source: the master of slots %s has no known address: retry once the cluster is stable", fmtRanges(sh.Ranges))
		}
		addrs = append(addrs, sh.Primary.Addr)
	}
	if len(addrs) == 0 {
		return nil, false, fmt.Errorf("xsync/source: no master serves slots on %v", seeds)
	}
	return addrs, standalone, nil
}
