package main

import (
	"testing"

	"github.com/xsync/xsync/replicator"
)

func TestShardFlags(t *testing.T) {
	for _, tc := range []struct {
		name         string
		index, count int
		env          map[string]string
		want         replicator.Assignment
		ok           bool
	}{
		{"defaults: one process", -1, 1, nil, replicator.Assignment{Index: 0, Count: 1}, true},
		{"explicit", 2, 3, nil, replicator.Assignment{Index: 2, Count: 3}, true},
		{"from POD_NAME", -1, 3, map[string]string{"POD_NAME": "xsync-1", "HOSTNAME": "xsync-2"}, replicator.Assignment{Index: 1, Count: 3}, true},
		{"from HOSTNAME", -1, 3, map[string]string{"HOSTNAME": "xsync-2"}, replicator.Assignment{Index: 2, Count: 3}, true},
		{"the flag wins over the environment", 0, 3, map[string]string{"POD_NAME": "xsync-1"}, replicator.Assignment{Index: 0, Count: 3}, true},
		{"no ordinal anywhere", -1, 3, map[string]string{"HOSTNAME": "worker"}, replicator.Assignment{}, false},
		{"ordinal beyond the count", -1, 3, map[string]string{"POD_NAME": "xsync-3"}, replicator.Assignment{}, false},
		{"index without a count", 1, 1, nil, replicator.Assignment{}, false},
		{"count 0", 0, 0, nil, replicator.Assignment{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := syncFlags{shardIndex: tc.index, shardCount: tc.count}
			env := &cliEnv{getenv: func(k string) string { return tc.env[k] }}
			got, err := f.assignment(env)
			if (err == nil) != tc.ok {
				t.Fatalf("assignment() error %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && got != tc.want {
				t.Fatalf("assignment() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
