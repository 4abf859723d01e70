package apply

import (
	"testing"

	"github.com/xsync/xsync/resp"
)

func val(t *testing.T, s string) resp.Value {
	t.Helper()
	v, _, err := resp.ParseValue([]byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpReplies(t *testing.T) {
	multi := func(cmds ...[]string) []byte {
		var b []byte
		for _, c := range cmds {
			b = resp.AppendCommandString(b, c...)
		}
		return b
	}
	txn := multi([]string{"MULTI"}, []string{"INCR", "{a}1"}, []string{"INCR", "{a}2"}, []string{"EXEC"})
	three := multi([]string{"SET", "a", "1"}, []string{"SET", "a", "2"}, []string{"SET", "a", "3"})
	tests := []struct {
		name     string
		cmd      []byte
		n        int
		ask      bool
		replies  []string
		nrep     int
		retry    bool
		rk       RetryKind
		retryCmd []int
		errKinds []ErrorKind
	}{
		{"plain ok", three, 3, false, []string{"+OK\r\n", "+OK\r\n", "+OK\r\n"}, 3, false, 0, nil, nil},
		{"middle command retried", three, 3, false, []string{"+OK\r\n", "-TRYAGAIN x\r\n", "+OK\r\n"}, 3, true, RetryTryAgain, []int{1}, nil},
		{"asking before each command", three, 3, true, []string{"+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n", "-WRONGTYPE x\r\n"}, 6, false, 0, nil, []ErrorKind{KindWrongType}},
		{"txn aborted by MOVED", txn, 4, false, []string{"+OK\r\n", "+QUEUED\r\n", "-MOVED 1 127.0.0.1:1\r\n", "-EXECABORT Transaction discarded\r\n"}, 4, true, RetryMoved, nil, nil},
		{"txn aborted by OOM", txn, 4, false, []string{"+OK\r\n", "-OOM x\r\n", "+QUEUED\r\n", "-EXECABORT Transaction discarded\r\n"}, 4, false, 0, nil, []ErrorKind{KindOOM}},
		{"txn ran, one element failed", txn, 4, false, []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n:1\r\n-NOSCRIPT x\r\n"}, 4, false, 0, nil, []ErrorKind{KindNoScript}},
		{"txn with ASKING once", txn, 4, true, []string{"+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n:1\r\n:1\r\n"}, 5, false, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &op{Op: Op{Cmd: tc.cmd, N: tc.n}, txn: isMulti(tc.cmd)}
			if err := o.prepare(tc.ask, nil); err != nil {
				t.Fatal(err)
			}
			if o.nrep != tc.nrep {
				t.Fatalf("nrep %d, want %d", o.nrep, tc.nrep)
			}
			for i, r := range tc.replies {
				if done := o.feed(val(t, r)); done != (i == len(tc.replies)-1) {
					t.Fatalf("reply %d: done=%v", i, done)
				}
			}
			if o.retry != tc.retry || (o.retry && o.rk != tc.rk) {
				t.Errorf("retry %v %v", o.retry, o.rk)
			}
			if len(o.retryCmd) != len(tc.retryCmd) {
				t.Errorf("retryCmd %v", o.retryCmd)
			}
			if len(o.errs) != len(tc.errKinds) {
				t.Fatalf("errs %+v", o.errs)
			}
			for i, e := range o.errs {
				if e.kind != tc.errKinds[i] {
					t.Errorf("err %d kind %v", i, e.kind)
				}
			}
		})
	}
	// A partial resend carries only the failed commands.
	o := &op{Op: Op{Cmd: three, N: 3}}
	o.failed = []int{1, 2}
	if err := o.prepare(true, [][]byte{[]byte("return 1")}); err != nil {
		t.Fatal(err)
	}
	want := multi([]string{"SCRIPT", "LOAD", "return 1"}, []string{"ASKING"}, []string{"SET", "a", "2"}, []string{"ASKING"}, []string{"SET", "a", "3"})
	if string(o.wire) != string(want) || o.nrep != 5 {
		t.Errorf("wire %q nrep %d", o.wire, o.nrep)
	}
}
