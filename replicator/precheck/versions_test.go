package precheck

import (
	"strings"
	"testing"
)

// Only one redis-server version is installed where the tests run, so the version
// rule is tested on nodes described by their INFO.
func TestCheckVersions(t *testing.T) {
	node := func(v string) *node {
		return &node{addr: "n", primary: true, info: map[string]string{"redis_version": v}}
	}
	for _, tc := range []struct {
		src, dst []string
		level    Level
		found    string
	}{
		{[]string{"7.0.15"}, []string{"7.0.15"}, Pass, "RESTORE"},
		{[]string{"4.0.14"}, []string{"7.2.6", "7.0.15"}, Pass, "destination 7.0.15"},
		{[]string{"7.4.1", "7.0.15"}, []string{"7.2.6"}, Warn, "older than source 7.4.1"},
		{[]string{"6.2.16"}, []string{"5.0.14"}, Warn, "plain commands"},
	} {
		src := &side{nodes: nil}
		for _, v := range tc.src {
			src.nodes = append(src.nodes, node(v))
		}
		dst := &side{}
		for _, v := range tc.dst {
			dst.nodes = append(dst.nodes, node(v))
		}
		r := checkVersions(src, dst)
		if r.Level != tc.level || !strings.Contains(r.Found, tc.found) {
			t.Errorf("src %v dst %v: %+v, want %v containing %q", tc.src, tc.dst, r, tc.level, tc.found)
		}
	}
}

// TestServerName: Valkey is reported as Valkey, with the Redis version it
// answers as redis_version.
func TestServerName(t *testing.T) {
	valkey := &node{info: map[string]string{"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.0.1"}}
	redis := &node{info: map[string]string{"redis_version": "7.4.1"}}
	if got := serverName(valkey); got != "Valkey 8.0.1 (Redis 7.2.4 compatible)" {
		t.Errorf("valkey: %q", got)
	}
	if got := serverName(redis); got != "7.4.1" {
		t.Errorf("redis: %q", got)
	}
	r := checkVersions(&side{nodes: []*node{{primary: true, info: redis.info}}}, &side{nodes: []*node{{primary: true, info: valkey.info}}})
	if r.Level != Warn || !strings.Contains(r.Found, "destination Valkey 8.0.1") {
		t.Errorf("%+v", r)
	}
}
