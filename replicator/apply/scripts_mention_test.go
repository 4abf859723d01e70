package apply

import (
	"testing"

	"github.com/xsync/xsync/resp"
)

func TestMentionsScript(t *testing.T) {
	tx := func(args ...string) []byte {
		b := resp.AppendCommandString(nil, "MULTI")
		b = resp.AppendCommandString(b, args...)
		return resp.AppendCommandString(b, "EXEC")
	}
	for _, tc := range []struct {
		cmd  []byte
		want bool
	}{
		{tx("SET", "k", "v"), false},
		{tx("INCR", "evaluation"), true}, // a false positive costs a parse, nothing more
		{tx("eval", "return 1", "0"), true},
		{tx("Script", "LOAD", "return 1"), true},
		{tx("RPUSH", "l", "x"), false},
	} {
		if got := mentionsScript(tc.cmd); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.cmd, got, tc.want)
		}
	}
	var c scriptCache
	c.init()
	cmd := tx("SET", "k", "v")
	if n := testing.AllocsPerRun(100, func() { c.observe(cmd) }); n != 0 {
		t.Errorf("observe of a checkpointed SET allocates %v times", n)
	}
	for _, args := range [][]string{
		{"MSET", "k", "v", "__xsync:ckpt:{06S}", "replid 10 0"}, // a checkpointed plain SET
		{"SADD", "s", "a"}, // a bare op (no checkpoints)
		{"EVALSHA", "0123", "0"},
	} {
		cmd := resp.AppendCommandString(nil, args...)
		if n := testing.AllocsPerRun(100, func() { c.observe(cmd) }); n != 0 {
			t.Errorf("observe of %s allocates %v times", args[0], n)
		}
	}
	// EVAL is still seen, alone and inside a transaction.
	c.observe(resp.AppendCommandString(nil, "eval", "return 7", "0"))
	c.observe(tx("EVAL", "return 8", "0"))
	if len(c.bodies) != 2 {
		t.Errorf("the cache holds %d scripts after two EVALs, want 2", len(c.bodies))
	}
}

func TestCountCommandsAllocatesNothing(t *testing.T) {
	cmd := resp.AppendCommandString(nil, "MULTI")
	cmd = resp.AppendCommandString(cmd, "SET", "k", "v")
	cmd = resp.AppendCommandString(cmd, "SET", "__xsync:ckpt:{06S}", "replid 10 0")
	cmd = resp.AppendCommandString(cmd, "EXEC")
	if n, err := countCommands(cmd); n != 4 || err != nil {
		t.Fatalf("countCommands = %d, %v", n, err)
	}
	if a := testing.AllocsPerRun(100, func() { countCommands(cmd) }); a != 0 {
		t.Errorf("countCommands allocates %v times", a)
	}
}
