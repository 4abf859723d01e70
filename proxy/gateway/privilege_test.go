package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
)

// TestGatewayLeastPrivilege: by default the gateway refuses what administers
// the backend or reveals its credentials, with -NOPERM naming the command and
// the flag; what an application needs goes through.
func TestGatewayLeastPrivilege(t *testing.T) {
	src := redistest.Start(t, redistest.Options{Password: "srcpass"})
	be := Backend{Seeds: []string{src.Addr()}}
	be.Conn.Password = "srcpass"
	ctx := context.Background()
	g := startGateway(t, Config{Source: be, Deny: []string{"flushall"}})
	c := gwClient(t, g.Addr(), 2, "")
	for _, args := range [][]any{
		{"CONFIG", "GET", "requirepass"},
		{"CONFIG", "SET", "maxmemory", "1"},
		{"ACL", "SETUSER", "mallory", "on", ">m4llory", "+@all", "~*"},
		{"ACL", "WHOAMI"},
		{"SAVE"}, {"BGSAVE"}, {"BGREWRITEAOF"}, {"SHUTDOWN"}, {"FAILOVER"}, {"REPLICAOF", "NO", "ONE"}, {"SLAVEOF", "NO", "ONE"},
		{"DEBUG", "SLEEP", "0"}, {"MODULE", "LIST"}, {"CLIENT", "KILL", "TYPE", "replica"}, {"CLIENT", "LIST"}, {"MONITOR"},
		{"LATENCY", "RESET"}, {"SLOWLOG", "RESET"}, {"MEMORY", "PURGE"}, {"INFO"}, {"ROLE"}, {"LASTSAVE"}, {"FLUSHALL"},
	} {
		err := c.Do(ctx, args...).Err()
		name := strings.ToLower(args[0].(string))
		if len(args) > 1 {
			name += "|" + strings.ToLower(args[1].(string))
		}
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") || !strings.Contains(err.Error(), "--gateway-allow-admin") ||
			!strings.Contains(err.Error(), "'"+name+"'") && !strings.Contains(err.Error(), "'"+strings.ToLower(args[0].(string))+"'") {
			t.Errorf("%v: err = %v, want NOPERM naming the command and --gateway-allow-admin", args, err)
		}
	}
	// What an application needs.
	for _, args := range [][]any{
		{"SET", "k", "v"}, {"SCRIPT", "LOAD", "return 1"}, {"SCRIPT", "FLUSH"}, {"FLUSHDB"}, {"KEYS", "*"},
	} {
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	// A refused command inside MULTI aborts the transaction.
	pipe := c.TxPipeline()
	pipe.Set(ctx, "k", "v2", 0)
	pipe.Do(ctx, "CONFIG", "SET", "maxmemory", "1")
	if _, err := pipe.Exec(ctx); err == nil {
		t.Errorf("MULTI with CONFIG SET: EXEC succeeded")
	}
	if v, _ := src.Client().ConfigGet(ctx, "maxmemory").Result(); v["maxmemory"] != "0" {
		t.Errorf("maxmemory changed on the source: %v", v)
	}

	// --gateway-allow-admin forwards them, but never a credential.
	g2 := startGateway(t, Config{Source: be, AllowAdmin: true})
	c2 := gwClient(t, g2.Addr(), 2, "")
	if v, err := c2.ConfigGet(ctx, "maxmemory").Result(); err != nil || v["maxmemory"] != "0" {
		t.Errorf("CONFIG GET maxmemory with AllowAdmin = %v, %v", v, err)
	}
	for _, pat := range []string{"requirepass", "*", "*pass*", "MASTERAUTH"} {
		v, err := c2.ConfigGet(ctx, pat).Result()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("CONFIG GET %s with AllowAdmin = %v, %v", pat, v, err)
		}
	}
}
