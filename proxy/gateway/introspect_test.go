package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/redisver"
)

// TestGatewayIntrospection: INFO merges the masters (keyspace summed, the
// gateway's own blocked clients, a # Gateway section), CLIENT LIST/INFO/KILL/
// UNBLOCK act on the gateway's clients, SCAN walks every master once.
func TestGatewayIntrospection(t *testing.T) {
	d := startDropIn(t)
	ctx := context.Background()
	c := gwClient(t, d.g.Addr(), 2, "")
	c3 := gwClient(t, d.g.Addr(), 3, "")

	const keys = 300
	pipe := c.Pipeline()
	for i := range keys {
		pipe.Set(ctx, fmt.Sprintf("scan:%d", i), i, 0)
	}
	pipe.LPush(ctx, "alist", "x")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []*redis.Client{c, c3} {
		info, err := cc.Info(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		ks := redisver.InfoField(info, "db0")
		if !strings.HasPrefix(ks, fmt.Sprintf("keys=%d,", keys+1)) {
			t.Fatalf("INFO keyspace db0:%s, want keys=%d (the masters summed)", ks, keys+1)
		}
		for field, want := range map[string]string{"redis_mode": "standalone", "gateway_backend": "source", "gateway_masters": "3", "connected_clients": fmt.Sprint(d.g.Stats().Clients), "blocked_clients": "0"} {
			if got := redisver.InfoField(info, field); got != want {
				t.Errorf("INFO %s = %q, want %q", field, got, want)
			}
		}
		if !strings.Contains(info, "# Gateway\r\n") || strings.Count(info, "# Keyspace\r\n") != 1 {
			t.Errorf("INFO sections:\n%s", info)
		}
	}
	if info := c.Info(ctx, "keyspace").Val(); strings.Contains(info, "# Gateway") || !strings.Contains(info, "db0:keys=") {
		t.Errorf("INFO keyspace:\n%s", info)
	}
	if info := c.Info(ctx, "gateway").Val(); !strings.HasPrefix(info, "# Gateway\r\n") || strings.Contains(info, "# Server") || redisver.InfoField(info, "gateway_holding") != "0" {
		t.Errorf("INFO gateway:\n%s", info)
	}

	// SCAN: every key exactly once, the node folded into the cursor.
	seen := map[string]int{}
	var cursor uint64
	calls := 0
	for {
		ks, next, err := c.Scan(ctx, cursor, "", 25).Result()
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for _, k := range ks {
			seen[k]++
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if len(seen) != keys+1 {
		t.Fatalf("a full SCAN returned %d keys, want %d", len(seen), keys+1)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("SCAN returned %s %d times", k, n)
		}
	}
	// MATCH and TYPE go to the masters.
	var got []string
	iter := c3.ScanType(ctx, 0, "scan:1*", 50, "string").Iterator()
	for iter.Next(ctx) {
		got = append(got, iter.Val())
	}
	if iter.Err() != nil || len(got) != 111 { // scan:1, scan:10-19, scan:100-199
		t.Fatalf("SCAN MATCH scan:1* TYPE string: %d keys, %v", len(got), iter.Err())
	}
	if n := 0; true {
		it := c.ScanType(ctx, 0, "*", 100, "list").Iterator()
		for it.Next(ctx) {
			n++
		}
		if n != 1 {
			t.Fatalf("SCAN TYPE list: %d keys", n)
		}
	}
	if err := c.Do(ctx, "SCAN", "notacursor").Err(); err == nil || err.Error() != "ERR invalid cursor" {
		t.Fatalf("SCAN notacursor = %v", err)
	}

	// A blocked client: INFO counts it, CLIENT LIST flags it, CLIENT UNBLOCK
	// ends it as Redis would (a timeout's nil; -UNBLOCKED with ERROR).
	blocked := gwClient(t, d.g.Addr(), 2, "")
	id, err := blocked.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"TIMEOUT", "ERROR"} {
		res := make(chan error, 1)
		go func() { res <- blocked.BLPop(ctx, 20*time.Second, "nothing-comes").Err() }()
		waitFor(t, "INFO blocked_clients:1", func() bool {
			return redisver.InfoField(c.Info(ctx, "clients").Val(), "blocked_clients") == "1"
		})
		list := c.ClientList(ctx).Val()
		if line := lineOf(list, id); !strings.Contains(line, "flags=b") {
			t.Fatalf("CLIENT LIST line of the blocked client: %q\n%s", line, list)
		}
		if n, err := c.Do(ctx, "CLIENT", "UNBLOCK", id, mode).Int(); err != nil || n != 1 {
			t.Fatalf("CLIENT UNBLOCK %d %s = %d, %v", id, mode, n, err)
		}
		err := <-res
		switch mode {
		case "TIMEOUT":
			if err != redis.Nil {
				t.Fatalf("BLPOP unblocked with TIMEOUT = %v, want nil", err)
			}
		case "ERROR":
			if err == nil || !strings.HasPrefix(err.Error(), "UNBLOCKED") {
				t.Fatalf("BLPOP unblocked with ERROR = %v, want -UNBLOCKED", err)
			}
		}
	}
	if info := c.Info(ctx, "clients").Val(); redisver.InfoField(info, "blocked_clients") != "0" {
		t.Fatalf("after the unblocks:\n%s", info)
	}
	if n, err := c.Do(ctx, "CLIENT", "UNBLOCK", id).Int(); err != nil || n != 0 {
		t.Fatalf("CLIENT UNBLOCK of a client not blocked = %d, %v", n, err)
	}

	// CLIENT INFO and CLIENT LIST are the gateway's clients.
	info, err := c3.ClientInfo(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	myID := c3.ClientID(ctx).Val()
	if info.ID != myID || info.Resp != 3 || info.LastCmd != "client|info" {
		t.Fatalf("CLIENT INFO = %+v (id %d)", info, myID)
	}
	if list := c.ClientList(ctx).Val(); int64(strings.Count(list, "\n")) != d.g.Stats().Clients || lineOf(list, myID) == "" {
		t.Fatalf("CLIENT LIST:\n%s", list)
	}
	if list := c.Do(ctx, "CLIENT", "LIST", "ID", strconv.FormatInt(id, 10)).Val(); strings.Count(fmt.Sprint(list), "id=") != 1 {
		t.Fatalf("CLIENT LIST ID %d:\n%s", id, list)
	}
	// CLIENT KILL: the victim's connection is closed (go-redis dials again).
	if n, err := c.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Result(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID = %d, %v", n, err)
	}
	waitFor(t, "the killed client gone from CLIENT LIST", func() bool { return lineOf(c.ClientList(ctx).Val(), id) == "" })
	if err := c.Do(ctx, "CLIENT", "KILL", "127.0.0.1:1").Err(); err == nil || err.Error() != "ERR No such client" {
		t.Fatalf("CLIENT KILL of no client = %v", err)
	}
}

// lineOf returns the CLIENT LIST line of id, or "".
func lineOf(list string, id int64) string {
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, "id="+strconv.FormatInt(id, 10)+" ") {
			return l
		}
	}
	return ""
}

// TestGatewayErrorsAsRedis: a malformed command the gateway cannot route is
// answered by a node, with Redis's own text.
func TestGatewayErrorsAsRedis(t *testing.T) {
	d := startDropIn(t)
	ctx := context.Background()
	c := gwClient(t, d.g.Addr(), 2, "")
	direct := d.masters[0].Client()
	for _, cmd := range [][]any{
		{"ZMPOP", "notanumber", "k", "MIN"},
		{"ZMPOP", "0", "k", "MIN"},
		{"LMPOP", "5", "k", "LEFT"},
		{"XINFO", "HELP", "extra"},
		{"XINFO"},
		{"XINFO", "NOSUCH"},
		{"GET"},
		{"SET", "k"},
		{"EVAL", "return 1", "-1"},
		{"EVAL", "return 1", "2", "k"},
		{"SINTERCARD", "0", "k"},
		{"BLMPOP", "0", "x", "k", "LEFT"},
	} {
		want := direct.Do(ctx, cmd...).Err()
		got := c.Do(ctx, cmd...).Err()
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%v: gateway %v, Redis %v", cmd, got, want)
		}
	}
	// Inside MULTI: queued, failed in EXEC's reply with Redis's text.
	inTx := func(cc interface {
		TxPipelined(context.Context, func(redis.Pipeliner) error) ([]redis.Cmder, error)
	}) string {
		cmds, _ := cc.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "ZMPOP", "notanumber", "k", "MIN")
			return nil
		})
		if len(cmds) != 1 || cmds[0].Err() == nil {
			return fmt.Sprint(cmds)
		}
		return cmds[0].Err().Error()
	}
	if got, want := inTx(c), inTx(direct); got != want {
		t.Errorf("ZMPOP notanumber in MULTI: gateway %q, Redis %q", got, want)
	}
	if err := c.Do(ctx, "NOSUCHCOMMAND", "a").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown command 'NOSUCHCOMMAND'") {
		t.Errorf("unknown command: %v", err)
	}
	if err := c.MGet(ctx, "a", "b").Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Errorf("cross-slot: %v", err)
	}
}
