package replicator

import (
	"bytes"
	"testing"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
)

func TestCarriedCkpt(t *testing.T) {
	keys := newCkptKeys("__xsync:")
	key := keys[42]
	op := apply.Op{Slot: 42, Cmd: resp.AppendCommandString(nil, "INCR", "k"), N: 1}
	wrapped, n := wrapWithCkpt(nil, op, key, []byte("abc 1234 0"))
	if n != 4 {
		t.Fatalf("wrapped N = %d, want 4", n)
	}
	if off, ok := carriedCkpt(wrapped, key); !ok || off != 1234 {
		t.Errorf("carriedCkpt(wrapped) = %d, %v", off, ok)
	}
	if _, ok := carriedCkpt(op.Cmd, key); ok {
		t.Error("a bare op carries no checkpoint")
	}
	if _, ok := carriedCkpt(wrapped, keys[43]); ok {
		t.Error("another slot's key matched")
	}
	end := resp.AppendCommand(nil, []byte("SET"), key, []byte("abc 99 0")) // a full sync's end
	if off, ok := carriedCkpt(end, key); !ok || off != 99 {
		t.Errorf("carriedCkpt(end of full sync) = %d, %v", off, ok)
	}
	tx := resp.AppendCommandString(nil, "MULTI")
	tx = resp.AppendCommandString(tx, "INCR", "k")
	tx = resp.AppendCommandString(tx, "EXEC")
	wrappedTx, n := wrapWithCkpt(nil, apply.Op{Slot: 42, Cmd: tx, N: 3}, key, []byte("abc 7 0"))
	if n != 4 {
		t.Errorf("a transaction wrapped has N = %d, want 4 (SET before its EXEC)", n)
	}
	if off, ok := carriedCkpt(wrappedTx, key); !ok || off != 7 {
		t.Errorf("carriedCkpt(wrapped transaction) = %d, %v", off, ok)
	}
}

// A plain SET travels as one MSET with the checkpoint; a SET with options, or
// any other command, in MULTI/EXEC.
func TestWrapPlainSet(t *testing.T) {
	keys := newCkptKeys("__xsync:")
	key := keys[42]
	for _, name := range []string{"SET", "set", "Set"} {
		op := apply.Op{Slot: 42, Cmd: resp.AppendCommandString(nil, name, "k", "v"), N: 1}
		got, n := wrapWithCkpt(nil, op, key, []byte("abc 55 0"))
		want := resp.AppendCommand(nil, []byte("MSET"), []byte("k"), []byte("v"), key, []byte("abc 55 0"))
		if n != 1 || string(got) != string(want) {
			t.Errorf("%s k v: wrapped %q (N %d), want %q (N 1)", name, got, n, want)
		}
		if off, ok := carriedCkpt(got, key); !ok || off != 55 {
			t.Errorf("carriedCkpt(MSET) = %d, %v", off, ok)
		}
	}
	for _, args := range [][]string{
		{"SET", "k", "v", "PXAT", "1"},
		{"SET", "k", "v", "NX"},
		{"SETNX", "k", "v"},
		{"SETEX", "k", "1", "v"},
		{"SET", "k"},
	} {
		op := apply.Op{Slot: 42, Cmd: resp.AppendCommandString(nil, args...), N: 1}
		got, n := wrapWithCkpt(nil, op, key, []byte("abc 55 0"))
		if n != 4 || !bytes.HasPrefix(got, multiCmd) {
			t.Errorf("%q: wrapped %q (N %d), want MULTI/EXEC", args, got, n)
		}
	}
	if _, ok := carriedCkpt(resp.AppendCommandString(nil, "MSET", "k", "v", "x", "abc 1 0"), key); ok {
		t.Error("an MSET without the checkpoint key matched")
	}
}

// Assignments travel without a checkpoint; everything whose effect depends on
// what the key held, or on when it runs, keeps one.
func TestBareOp(t *testing.T) {
	var args [][]byte
	for _, tc := range []struct {
		args []string
		bare bool
	}{
		{[]string{"SET", "k", "v"}, true},
		{[]string{"set", "k", "v"}, true},
		{[]string{"SET", "k", "v", "PXAT", "1700000000000"}, true},
		{[]string{"SET", "k", "v", "exat", "1700000000"}, true},
		{[]string{"DEL", "k"}, true},
		{[]string{"DEL", "k", "k2"}, true},
		{[]string{"UNLINK", "k"}, true},
		{[]string{"SET", "k", "v", "PX", "100"}, false},
		{[]string{"SET", "k", "v", "EX", "100"}, false},
		{[]string{"SET", "k", "v", "NX"}, false},
		{[]string{"SET", "k", "v", "KEEPTTL"}, false},
		{[]string{"SET", "k", "v", "PXAT", "1", "NX"}, false},
		{[]string{"SET", "k", "v", "GET"}, false},
		{[]string{"SET", "k"}, false},
		{[]string{"DEL"}, false},
		{[]string{"SETNX", "k", "v"}, false},
		{[]string{"SETEX", "k", "1", "v"}, false},
		{[]string{"INCR", "k"}, false},
		{[]string{"RPUSH", "k", "v"}, false},
		{[]string{"HSET", "k", "f", "v"}, false},
		{[]string{"EXPIRE", "k", "1"}, false},
		{[]string{"PEXPIREAT", "k", "1"}, false},
		{[]string{"MSET", "k", "v"}, false},
		{[]string{"SETRANGE", "k", "0", "v"}, false},
	} {
		var bare bool
		bare, args = bareOp(resp.AppendCommandString(nil, tc.args...), args)
		if bare != tc.bare {
			t.Errorf("bareOp(%q) = %v, want %v", tc.args, bare, tc.bare)
		}
	}
	two := resp.AppendCommandString(resp.AppendCommandString(nil, "DEL", "k"), "INCR", "k")
	if bare, _ := bareOp(two, nil); bare {
		t.Error("two commands (DEL, INCR) taken as one assignment")
	}
	for _, bad := range []string{"", "*", "*3\r\n$3\r\nSET\r\n$1\r\nk", "PING\r\n"} {
		if bare, _ := bareOp([]byte(bad), nil); bare {
			t.Errorf("bareOp(%q) = true", bad)
		}
	}
	set := resp.AppendCommandString(nil, "SET", "k", "v")
	if n := testing.AllocsPerRun(100, func() { _, args = bareOp(set, args) }); n != 0 {
		t.Errorf("bareOp allocates %.1f times per call", n)
	}
}
