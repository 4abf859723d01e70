package replicator

import (
	"testing"

	"github.com/xsync/xsync/replicator/redisver"
)

// TestInfoField reads an integer field of an INFO reply as Redis writes it
// (CRLF lines, "# Section" headers; server.c genRedisInfoString).
func TestInfoField(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:123456\r\n"
	for _, tc := range []struct {
		field string
		want  int64
		ok    bool
	}{
		{"master_repl_offset", 123456, true},
		{"connected_slaves", 1, true},
		{"role", 0, false},
		{"absent", 0, false},
	} {
		if got, ok := infoField(info, tc.field); got != tc.want || ok != tc.ok {
			t.Errorf("infoField(%q) = %d, %v; want %d, %v", tc.field, got, ok, tc.want, tc.ok)
		}
	}
	if got := redisver.InfoField(info, "role"); got != "master" {
		t.Errorf("InfoField(role) = %q", got)
	}
}
