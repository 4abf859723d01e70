package resp

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	long := strings.Repeat("x", DefaultMaxInlineLen)
	tests := []struct {
		name string
		in   string
		lim  *Limits
		want []string
		n    int
		err  errWant
	}{
		// multibulk
		{name: "get", in: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", want: []string{"GET", "k"}, n: 20},
		{name: "trailing bytes", in: "*1\r\n$4\r\nPING\r\n*1\r\n", want: []string{"PING"}, n: 14},
		{name: "empty arg", in: "*2\r\n$3\r\nSET\r\n$0\r\n\r\n", want: []string{"SET", ""}, n: 19},
		{name: "binary arg", in: "*1\r\n$4\r\na\r\nb\r\n", want: []string{"a\r\nb"}, n: 14},
		{name: "zero count", in: "*0\r\n", want: []string{}, n: 4},
		{name: "null count", in: "*-1\r\n", want: []string{}, n: 5},
		{name: "negative count skipped", in: "*-7\r\n", want: []string{}, n: 5},
		{name: "count plus sign", in: "*+1\r\n$1\r\na\r\n", want: []string{"a"}, n: 12},
		{name: "empty", in: "", err: incomplete},
		{name: "star only", in: "*", err: incomplete},
		{name: "count no LF", in: "*1\r", err: incomplete},
		{name: "count no args", in: "*1\r\n", err: incomplete},
		{name: "bulk header partial", in: "*1\r\n$3", err: incomplete},
		{name: "bulk data partial", in: "*1\r\n$3\r\nfo", err: incomplete},
		{name: "bulk CRLF partial", in: "*1\r\n$3\r\nfoo\r", err: incomplete},
		{name: "second arg missing", in: "*2\r\n$3\r\nfoo\r\n", err: incomplete},
		{name: "count LF only", in: "*1\n$1\r\na\r\n", err: protoAt(2)},
		{name: "count not a number", in: "*x\r\n", err: protoAt(1)},
		{name: "count empty", in: "*\r\n", err: protoAt(1)},
		{name: "count overflow", in: "*99999999999999999999\r\n", err: protoAt(1)},
		{name: "count line too long", in: "*" + strings.Repeat("1", 40), err: protoAt(1)},
		{name: "count over limit", in: "*16777217\r\n", err: largeAt(1)},
		{name: "count over custom limit", in: "*3\r\n", lim: &Limits{MaxArrayLen: 2}, err: largeAt(1)},
		{name: "not a bulk", in: "*1\r\n:1\r\n", err: protoAt(4)},
		{name: "second not a bulk", in: "*2\r\n$1\r\na\r\n+b\r\n", err: protoAt(11)},
		{name: "bulk length bad", in: "*1\r\n$x\r\nabc\r\n", err: protoAt(5)},
		{name: "bulk length negative", in: "*1\r\n$-1\r\n\r\n", err: protoAt(5)},
		{name: "bulk over limit", in: "*1\r\n$536870913\r\n", err: largeAt(5)},
		{name: "bulk over custom limit", in: "*1\r\n$4\r\nabcd\r\n", lim: &Limits{MaxBulkLen: 3}, err: largeAt(5)},
		{name: "bulk huge", in: "*1\r\n$9223372036854775807\r\n", err: largeAt(5)},
		{name: "bulk bad CRLF", in: "*1\r\n$1\r\nab\r\n", err: protoAt(9)},
		{name: "bulk header LF only", in: "*1\r\n$1\na\r\n", err: protoAt(6)},
		// inline
		{name: "inline", in: "PING\r\n", want: []string{"PING"}, n: 6},
		{name: "inline LF", in: "set k v\n", want: []string{"set", "k", "v"}, n: 8},
		{name: "inline blanks", in: " \t set\t k  v \r\n", want: []string{"set", "k", "v"}, n: 15},
		{name: "inline keepalive", in: "\n", want: []string{}, n: 1},
		{name: "inline CRLF only", in: "\r\n", want: []string{}, n: 2},
		{name: "inline blank line", in: "   \r\n", want: []string{}, n: 5},
		{name: "inline CR inside", in: "a\rb\r\n", want: []string{"a", "b"}, n: 5},
		{name: "inline NUL", in: "a b\x00c d\n", err: protoAt(3)},
		{name: "inline NUL before end", in: "a b\x00c", err: protoAt(3)},
		{name: "inline NUL after end", in: "a b\n\x00", want: []string{"a", "b"}, n: 4},
		{name: "inline double quotes", in: "set \"a b\" \"\\x41\\n\\\"\\q\"\n", want: []string{"set", "a b", "A\n\"q"}, n: 23},
		{name: "inline single quotes", in: "set 'a \\' b' ''\n", want: []string{"set", "a ' b", ""}, n: 16},
		{name: "inline quote mid token", in: "a\"b c\"\n", want: []string{"ab c"}, n: 7},
		{name: "inline bad hex kept", in: "\"\\xZZ\"\n", want: []string{"xZZ"}, n: 7},
		{name: "inline partial", in: "PING", err: incomplete},
		{name: "inline partial CR", in: "PING\r", err: incomplete},
		{name: "inline unbalanced", in: "set \"a\n", err: protoAt(4)},
		{name: "inline unbalanced single", in: "set 'a\n", err: protoAt(4)},
		{name: "inline text after quote", in: "set \"a\"b\n", err: protoAt(4)},
		{name: "inline NUL in quotes", in: "set \"a\x00\"\n", err: protoAt(6)},
		{name: "inline at limit", in: long + "\r\n", want: []string{long}, n: len(long) + 2},
		{name: "inline over limit", in: long + "x\r\n", err: largeAt(0)},
		{name: "inline over limit no end", in: long + "xx", err: largeAt(0)},
		{name: "inline over custom limit", in: "abcd\n", lim: &Limits{MaxInlineLen: 3}, err: largeAt(0)},
		{name: "inline custom limit partial", in: "abcd", lim: &Limits{MaxInlineLen: 3}, err: incomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(tt.in)
			args, n, err := ParseCommand(buf, nil, tt.lim)
			checkErr(t, err, tt.err)
			if err != nil {
				if n != 0 {
					t.Fatalf("n = %d with error %v, want 0", n, err)
				}
				return
			}
			if got := strs(args); !equalStrs(got, tt.want) {
				t.Fatalf("args = %q, want %q", got, tt.want)
			}
			if n != tt.n {
				t.Fatalf("n = %d, want %d", n, tt.n)
			}
			for _, a := range args {
				if cap(a) != len(a) {
					t.Fatalf("argument %q has capacity %d, want it clipped", a, cap(a))
				}
			}
		})
	}
}

// TestParseCommandReusesDst checks that args is built in dst.
func TestParseCommandReusesDst(t *testing.T) {
	dst := make([][]byte, 0, 4)
	args, _, err := ParseCommand([]byte("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &args[:1][0] != &dst[:1][0] {
		t.Fatal("args does not reuse dst")
	}
}

// TestParseCommandBadInlineUntouched checks that a rejected quoted line is not
// unescaped in place.
func TestParseCommandBadInlineUntouched(t *testing.T) {
	in := "set \"a\\x41\" \"b\n"
	buf := []byte(in)
	if _, _, err := ParseCommand(buf, nil, nil); err == nil {
		t.Fatal("want an error")
	}
	if string(buf) != in {
		t.Fatalf("buffer changed to %q", buf)
	}
}
