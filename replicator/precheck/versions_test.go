package precheck

import (
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
)

// The version rule on nodes described by their INFO; TestCheckVersionsLive runs it
// on live servers.
func TestCheckVersions(t *testing.T) {
	node := func(v string) *node {
		if vk, ok := strings.CutPrefix(v, "valkey-"); ok { // INFO of Valkey 8.0
			return &node{addr: "n", primary: true, info: map[string]string{"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": vk}}
		}
		return &node{addr: "n", primary: true, info: map[string]string{"redis_version": v}}
	}
	for _, tc := range []struct {
		src, dst []string
		level    Level
		found    string
	}{
		{[]string{"7.0.15"}, []string{"7.0.15"}, Pass, "RESTORE"},
		{[]string{"4.0.14"}, []string{"7.2.6", "7.0.15"}, Pass, "destination Redis 7.0.15"},
		{[]string{"7.4.1", "7.0.15"}, []string{"7.2.6"}, Warn, "older than source Redis 7.4.1"},
		{[]string{"6.2.16"}, []string{"5.0.14"}, Warn, "plain commands"},
		// Valkey 8.0 reads RDB 11 (Redis 7.2), not 7.4's RDB 12.
		{[]string{"7.4.1"}, []string{"valkey-8.0.1"}, Warn, "destination Valkey 8.0.1 (Redis 7.2.4 compatible) is older than source Redis 7.4.1"},
		{[]string{"valkey-8.0.1"}, []string{"7.4.1"}, Pass, "source Valkey 8.0.1 (Redis 7.2.4 compatible), destination Redis 7.4.1"},
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

// TestCheckVersionsLive runs the checks from a live Redis 7.4 to a live Valkey 8.0
// and back: Valkey is named Valkey, and the RESTORE choice follows the RDB format
// each reads (Valkey 8.0 reads RDB 11, not 7.4's RDB 12).
func TestCheckVersionsLive(t *testing.T) {
	redistest.NeedVersions(t, "7.4", "valkey-8.0")
	redis74 := redistest.Start(t, redistest.Options{Version: "7.4"})
	valkey := redistest.Start(t, redistest.Options{Version: "valkey-8.0"})
	for _, tc := range []struct {
		src, dst *redistest.Server
		level    Level
		found    string
	}{
		{redis74, valkey, Warn, "destination Valkey 8.0.1 (Redis 7.2.4 compatible) is older than source Redis 7.4.1"},
		{valkey, redis74, Pass, "source Valkey 8.0.1 (Redis 7.2.4 compatible), destination Redis 7.4.1"},
	} {
		rs := run(t, Config{Source: Endpoint{Seeds: []string{tc.src.Addr()}}, Target: Endpoint{Seeds: []string{tc.dst.Addr()}}})
		if r := find(t, rs, "versions"); r.Level != tc.level || !strings.Contains(r.Found, tc.found) {
			t.Errorf("versions: %+v, want %v containing %q", r, tc.level, tc.found)
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
	if got := serverName(redis); got != "Redis 7.4.1" {
		t.Errorf("redis: %q", got)
	}
	r := checkVersions(&side{nodes: []*node{{primary: true, info: redis.info}}}, &side{nodes: []*node{{primary: true, info: valkey.info}}})
	if r.Level != Warn || !strings.Contains(r.Found, "destination Valkey 8.0.1") {
		t.Errorf("%+v", r)
	}
}
