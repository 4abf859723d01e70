package source

import (
	"testing"
)

// FuzzGentleFacts: the replica output buffer and backlog settings and the INFO
// text the source sends are parsed without panicking, and a size that parses is
// never negative.
func FuzzGentleFacts(f *testing.F) {
	f.Add("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", "1mb", []byte("# Memory\r\nused_memory:1000\r\nused_memory_dataset:800\r\n# Stats\r\ninstantaneous_input_kbps:1.5\r\n"))
	f.Add("replica 1gb 256mb 60", "64k", []byte("used_memory:x\ninstantaneous_input_kbps:nan\n"))
	f.Add("slave 1 2", "-1", []byte(""))
	f.Add("slave 9223372036854775807gb 0 0", "9223372036854775807", []byte(":\n::\n"))
	f.Fuzz(func(t *testing.T, cobl, backlog string, info []byte) {
		var facts bufferFacts
		if err := facts.parseConfig(cobl, backlog); err == nil {
			if facts.hardLimit < 0 || facts.softLimit < 0 || facts.backlog < 0 {
				t.Fatalf("negative size from %q %q: %+v", cobl, backlog, facts)
			}
		}
		facts.parseInfo(info)
		_ = facts.warnings(int64(len(info)))
	})
}
