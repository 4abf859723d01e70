package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/redistest"
)

// dropIn is a 3-master cluster behind a gateway that forwards the admin
// commands (--gateway-allow-admin), shared by the drop-in tests.
type dropIn struct {
	src     *redistest.Cluster
	masters []*redistest.Server // taken once: Cluster.Masters asks a node, which a busy script blocks
	g       *Server
}

func startDropIn(t *testing.T) *dropIn {
	t.Helper()
	src := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	g := startGateway(t, Config{Source: Backend{Seeds: src.Addrs()}, AllowAdmin: true})
	return &dropIn{src: src, masters: src.Masters(), g: g}
}

// busyMaster returns the master that answers BUSY, polling until one does.
func (d *dropIn) busyMaster(t *testing.T) *redistest.Server {
	t.Helper()
	var busy *redistest.Server
	waitFor(t, "a master busy with the script", func() bool {
		for _, m := range d.masters {
			if err := m.Client().Ping(context.Background()).Err(); err != nil && strings.HasPrefix(err.Error(), "BUSY") {
				busy = m
				return true
			}
		}
		return false
	})
	return busy
}

// TestGatewayScriptsAndFunctions: SCRIPT/FUNCTION management runs on every
// master and answers as one Redis; a busy keyless EVAL or FCALL is killed
// through the gateway and its master answers again.
func TestGatewayScriptsAndFunctions(t *testing.T) {
	d := startDropIn(t)
	ctx := context.Background()
	c := gwClient(t, d.g.Addr(), 2, "")
	killer := gwClient(t, d.g.Addr(), 3, "")

	// CONFIG SET reaches every master: the busy threshold lets SCRIPT KILL in
	// after 100 ms instead of 5 s.
	if err := c.ConfigSet(ctx, "busy-reply-threshold", "100").Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.masters {
		if v := m.Client().ConfigGet(ctx, "busy-reply-threshold").Val()["busy-reply-threshold"]; v != "100" {
			t.Fatalf("%s: busy-reply-threshold = %q after CONFIG SET through the gateway", m.Addr(), v)
		}
	}

	sha, err := c.ScriptLoad(ctx, "return 'one'").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.masters {
		if ok := m.Client().ScriptExists(ctx, sha).Val(); len(ok) != 1 || !ok[0] {
			t.Fatalf("%s: SCRIPT LOAD did not reach it", m.Addr())
		}
	}
	if ok := c.ScriptExists(ctx, sha, "0000000000000000000000000000000000000000").Val(); !slices.Equal(ok, []bool{true, false}) {
		t.Fatalf("SCRIPT EXISTS = %v", ok)
	}
	// Gone from one master: a later EVALSHA could fail there, so it is not there.
	if err := d.masters[1].Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok := c.ScriptExists(ctx, sha).Val(); !slices.Equal(ok, []bool{false}) {
		t.Fatalf("SCRIPT EXISTS after a flush on one master = %v, want [false]", ok)
	}
	if err := c.ScriptKill(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOTBUSY") {
		t.Fatalf("SCRIPT KILL with no script = %v, want NOTBUSY", err)
	}

	// A busy keyless EVAL, killed through the gateway.
	evalErr := make(chan error, 1)
	go func() { evalErr <- c.Eval(ctx, "while true do end", nil).Err() }()
	busy := d.busyMaster(t)
	if err := killer.ScriptKill(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT KILL = %v, want OK", err)
	}
	if err := <-evalErr; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the killed EVAL answered %v", err)
	}
	if err := busy.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("the master after SCRIPT KILL: %v", err)
	}
	// Keyless scripts run on one master, whichever client sends them: a key
	// of that master, not declared, is local to every one of them.
	local := ""
	for i := 0; local == ""; i++ {
		if k := fmt.Sprintf("local%d", i); d.src.MasterFor(k).Addr() == busy.Addr() {
			local = k
		}
	}
	for _, cc := range []*redis.Client{c, killer, gwClient(t, d.g.Addr(), 2, ""), gwClient(t, d.g.Addr(), 3, "")} {
		if err := cc.Eval(ctx, "return redis.call('INCR', ARGV[1])", nil, local).Err(); err != nil {
			t.Fatalf("keyless EVAL touching a key of %s: %v", busy.Addr(), err)
		}
	}
	if n, _ := busy.Client().Get(ctx, local).Int(); n != 4 {
		t.Fatalf("%s = %d, want 4", local, n)
	}

	// Functions: LOAD, LIST, DUMP, DELETE, RESTORE, FLUSH on every master.
	lib := "#!lua name=gwlib\n" +
		"redis.register_function('spin', function() while true do end end)\n" +
		"redis.register_function{function_name='one', callback=function() return 1 end, flags={'no-writes'}}\n"
	if name, err := c.FunctionLoad(ctx, lib).Result(); err != nil || name != "gwlib" {
		t.Fatalf("FUNCTION LOAD = %q, %v", name, err)
	}
	libs := func(m *redistest.Server) int {
		return len(m.Client().FunctionList(ctx, redis.FunctionListQuery{}).Val())
	}
	for _, m := range d.masters {
		if n := libs(m); n != 1 {
			t.Fatalf("%s: %d libraries after FUNCTION LOAD through the gateway", m.Addr(), n)
		}
	}
	if n, err := c.FCallRO(ctx, "one", nil).Int(); err != nil || n != 1 {
		t.Fatalf("FCALL_RO one = %d, %v", n, err)
	}
	if err := killer.FunctionKill(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOTBUSY") {
		t.Fatalf("FUNCTION KILL with no function = %v, want NOTBUSY", err)
	}
	fcallErr := make(chan error, 1)
	go func() { fcallErr <- c.FCall(ctx, "spin", nil).Err() }()
	busy = d.busyMaster(t)
	if err := killer.FunctionKill(ctx).Err(); err != nil {
		t.Fatalf("FUNCTION KILL = %v, want OK", err)
	}
	if err := <-fcallErr; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the killed FCALL answered %v", err)
	}
	if err := busy.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("the master after FUNCTION KILL: %v", err)
	}
	dump, err := c.FunctionDump(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.FunctionDelete(ctx, "gwlib").Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.masters {
		if n := libs(m); n != 0 {
			t.Fatalf("%s: %d libraries after FUNCTION DELETE", m.Addr(), n)
		}
	}
	if err := c.FunctionRestore(ctx, dump).Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.masters {
		if n := libs(m); n != 1 {
			t.Fatalf("%s: %d libraries after FUNCTION RESTORE", m.Addr(), n)
		}
	}
	if err := c.FunctionFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.masters {
		if n := libs(m); n != 0 {
			t.Fatalf("%s: %d libraries after FUNCTION FLUSH", m.Addr(), n)
		}
	}
}

// TestGatewayConfig: CONFIG SET reaches every master (one encoding everywhere),
// CONFIG GET answers from one, CONFIG GET of a credential stays refused, and
// without the admin allowance CONFIG is refused.
func TestGatewayConfig(t *testing.T) {
	d := startDropIn(t)
	ctx := context.Background()
	c := gwClient(t, d.g.Addr(), 3, "")
	if err := c.ConfigSet(ctx, "zset-max-listpack-entries", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if v := c.ConfigGet(ctx, "zset-max-listpack-entries").Val()["zset-max-listpack-entries"]; v != "0" {
		t.Fatalf("CONFIG GET = %q", v)
	}
	for i := range 30 { // keys on every master
		k := fmt.Sprintf("z%d", i)
		if err := c.ZAdd(ctx, k, redis.Z{Score: 1, Member: "m"}).Err(); err != nil {
			t.Fatal(err)
		}
		if enc := c.ObjectEncoding(ctx, k).Val(); enc != "skiplist" {
			t.Fatalf("%s on %s: encoding %q after CONFIG SET zset-max-listpack-entries 0", k, d.src.MasterFor(k).Addr(), enc)
		}
	}
	if err := c.ConfigGet(ctx, "requirepass").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("CONFIG GET requirepass = %v, want NOPERM", err)
	}
	plain := startGateway(t, Config{Source: Backend{Seeds: d.src.Addrs()}})
	if err := gwClient(t, plain.Addr(), 2, "").ConfigSet(ctx, "zset-max-listpack-entries", "1").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("CONFIG SET without the admin allowance = %v, want NOPERM", err)
	}
	allowed := startGateway(t, Config{Source: Backend{Seeds: d.src.Addrs()}, Allow: []string{"config"}})
	if err := gwClient(t, allowed.Addr(), 2, "").ConfigSet(ctx, "zset-max-listpack-entries", "128").Err(); err != nil {
		t.Fatalf("CONFIG SET with Allow config: %v", err)
	}
	for _, m := range d.masters {
		if v := m.Client().ConfigGet(ctx, "zset-max-listpack-entries").Val()["zset-max-listpack-entries"]; v != "128" {
			t.Fatalf("%s: zset-max-listpack-entries = %q", m.Addr(), v)
		}
	}
}
