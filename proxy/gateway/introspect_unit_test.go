package gateway

import (
	"strings"
	"testing"

	"github.com/xsync/xsync/resp"
)

// TestMergeInfo: two masters' INFO replies merge as one Redis would report
// them: integers of the summed sections added, commandstats' usec_per_call
// recomputed, keyspace summed with the mean TTL averaged, the rest the first
// master's, the mode standalone.
func TestMergeInfo(t *testing.T) {
	g := &Server{cfg: Config{Addr: "127.0.0.1:7777"}}
	a := "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\ntcp_port:7000\r\nuptime_in_seconds:100\r\n\r\n" +
		"# Clients\r\nconnected_clients:5\r\nblocked_clients:2\r\n\r\n" +
		"# Memory\r\nused_memory:1000\r\nmem_fragmentation_ratio:1.50\r\n\r\n" +
		"# Stats\r\ntotal_commands_processed:10\r\n\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=1\r\n\r\n" +
		"# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1000\r\n"
	b := "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\ntcp_port:7001\r\nuptime_in_seconds:50\r\n\r\n" +
		"# Clients\r\nconnected_clients:7\r\nblocked_clients:1\r\n\r\n" +
		"# Memory\r\nused_memory:500\r\nmem_fragmentation_ratio:2.00\r\n\r\n" +
		"# Stats\r\ntotal_commands_processed:5\r\n\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=30,usec=100,usec_per_call=3.33,rejected_calls=2,failed_calls=0\r\ncmdstat_set:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n\r\n" +
		"# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\ndb1:keys=1,expires=1,avg_ttl=3000\r\n"
	out := g.mergeInfo([]resp.Value{{Type: resp.TypeBulkString, Str: []byte(a)}, {Type: resp.TypeBulkString, Str: []byte(b)}}, false)
	v, _, err := resp.ParseValue(out, backendLimits)
	if err != nil {
		t.Fatal(err)
	}
	got := string(v.Str)
	for _, want := range []string{
		"redis_mode:standalone\r\n", "tcp_port:7777\r\n", "uptime_in_seconds:100\r\n",
		"connected_clients:0\r\n", "blocked_clients:0\r\n", // the gateway's own: none here
		"used_memory:1500\r\n", "mem_fragmentation_ratio:1.50\r\n", "total_commands_processed:15\r\n",
		"cmdstat_get:calls=40,usec=200,usec_per_call=5.00,rejected_calls=2,failed_calls=1\r\n",
		"cmdstat_set:calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n",
		"db0:keys=15,expires=2,avg_ttl=1000\r\n", "db1:keys=1,expires=1,avg_ttl=3000\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("merged INFO lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "# Keyspace") != 1 || strings.Contains(got, "# Gateway") {
		t.Errorf("sections:\n%s", got)
	}
}
