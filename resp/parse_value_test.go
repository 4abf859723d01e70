package resp

import (
	"math"
	"strings"
	"testing"
)

func TestParseValue(t *testing.T) {
	deep := strings.Repeat("*1\r\n", DefaultMaxDepth) + ":1\r\n"
	tooDeep := strings.Repeat("*1\r\n", DefaultMaxDepth+1) + ":1\r\n"
	tests := []struct {
		name string
		in   string
		lim  *Limits
		want string // Value.String of the result
		typ  byte
		n    int
		err  errWant
		// same marks inputs that AppendValue writes back byte for byte.
		same bool
	}{
		{name: "simple", in: "+OK\r\n", want: "OK", typ: '+', n: 5, same: true},
		{name: "simple empty", in: "+\r\n", want: "", typ: '+', n: 3, same: true},
		{name: "simple with CR", in: "+a\rb\r\n", want: "a\rb", typ: '+', n: 6, same: true},
		{name: "error", in: "-ERR bad\r\n", want: "(error) ERR bad", typ: '-', n: 10, same: true},
		{name: "integer", in: ":-42\r\n", want: "(integer) -42", typ: ':', n: 6, same: true},
		{name: "integer max", in: ":9223372036854775807\r\n", want: "(integer) 9223372036854775807", typ: ':', n: 22, same: true},
		{name: "integer min", in: ":-9223372036854775808\r\n", want: "(integer) -9223372036854775808", typ: ':', n: 23, same: true},
		{name: "integer plus", in: ":+1\r\n", want: "(integer) 1", typ: ':', n: 5},
		{name: "bulk", in: "$5\r\nhello\r\n", want: `"hello"`, typ: '$', n: 11, same: true},
		{name: "bulk empty", in: "$0\r\n\r\n", want: `""`, typ: '$', n: 6, same: true},
		{name: "bulk binary", in: "$4\r\n\r\n\x00\xff\r\n", want: `"\r\n\x00\xff"`, typ: '$', n: 10, same: true},
		{name: "bulk null", in: "$-1\r\n", want: "(nil)", typ: '$', n: 5, same: true},
		{name: "array", in: "*2\r\n$1\r\na\r\n:1\r\n", want: `["a", (integer) 1]`, typ: '*', n: 15, same: true},
		{name: "array empty", in: "*0\r\n", want: "[]", typ: '*', n: 4, same: true},
		{name: "array null", in: "*-1\r\n", want: "(nil)", typ: '*', n: 5, same: true},
		{name: "array nested", in: "*2\r\n*1\r\n+a\r\n*0\r\n", want: "[[a], []]", typ: '*', n: 16, same: true},
		{name: "null", in: "_\r\n", want: "(nil)", typ: '_', n: 3, same: true},
		{name: "true", in: "#t\r\n", want: "(true)", typ: '#', n: 4, same: true},
		{name: "false", in: "#f\r\n", want: "(false)", typ: '#', n: 4, same: true},
		{name: "double", in: ",3.14\r\n", want: "(double) 3.14", typ: ',', n: 7, same: true},
		{name: "double inf", in: ",inf\r\n", want: "(double) inf", typ: ',', n: 6, same: true},
		{name: "double -inf", in: ",-inf\r\n", want: "(double) -inf", typ: ',', n: 7, same: true},
		{name: "double nan", in: ",nan\r\n", want: "(double) nan", typ: ',', n: 6, same: true},
		{name: "double exp", in: ",1e+300\r\n", want: "(double) 1e+300", typ: ',', n: 9, same: true},
		{name: "double overflow", in: ",1e999\r\n", want: "(double) 1e999", typ: ',', n: 8, same: true},
		{name: "big number", in: "(3492890328409238509324850943850943825024385\r\n", want: "(big number) 3492890328409238509324850943850943825024385", typ: '(', n: 46, same: true},
		{name: "big number negative", in: "(-1\r\n", want: "(big number) -1", typ: '(', n: 5, same: true},
		{name: "bulk error", in: "!21\r\nSYNTAX invalid syntax\r\n", want: "(error) SYNTAX invalid syntax", typ: '!', n: 28, same: true},
		{name: "verbatim", in: "=15\r\ntxt:Some string\r\n", want: `"Some string"`, typ: '=', n: 22, same: true},
		{name: "verbatim mkd", in: "=5\r\nmkd:x\r\n", want: `"x"`, typ: '=', n: 11},
		{name: "map", in: "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", want: "{a: (integer) 1, b: (integer) 2}", typ: '%', n: 20, same: true},
		{name: "map empty", in: "%0\r\n", want: "{}", typ: '%', n: 4, same: true},
		{name: "set", in: "~2\r\n+a\r\n+b\r\n", want: "(set) [a, b]", typ: '~', n: 12, same: true},
		{name: "push", in: ">3\r\n+message\r\n+ch\r\n+hi\r\n", want: "(push) [message, ch, hi]", typ: '>', n: 24, same: true},
		{name: "attribute", in: "|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n", want: `|{ttl: (integer) 3}| "v"`, typ: '$', n: 21, same: true},
		{name: "attribute in array", in: "*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", want: "[|{a: b}| (integer) 1, (integer) 2]", typ: '*', n: 24, same: true},
		{name: "attribute empty", in: "|0\r\n+x\r\n", want: "|{}| x", typ: '+', n: 8, same: true},
		{name: "deep", in: deep, typ: '*', want: strings.Repeat("[", DefaultMaxDepth) + "(integer) 1" + strings.Repeat("]", DefaultMaxDepth), n: len(deep), same: true},
		// incomplete
		{name: "empty", in: "", err: incomplete},
		{name: "simple partial", in: "+OK", err: incomplete},
		{name: "simple CR", in: "+OK\r", err: incomplete},
		{name: "bulk partial", in: "$5\r\nhel", err: incomplete},
		{name: "bulk no CRLF yet", in: "$5\r\nhello", err: incomplete},
		{name: "array partial", in: "*2\r\n:1\r\n", err: incomplete},
		{name: "map partial", in: "%1\r\n+a\r\n", err: incomplete},
		{name: "attribute without value", in: "|1\r\n+a\r\n+b\r\n", err: incomplete},
		{name: "null partial", in: "_\r", err: incomplete},
		// malformed
		{name: "unknown type", in: "?x\r\n", err: protoAt(0)},
		{name: "unknown type in array", in: "*1\r\nx\r\n", err: protoAt(4)},
		{name: "LF without CR", in: "+OK\n", err: protoAt(3)},
		{name: "integer bad", in: ":12a\r\n", err: protoAt(1)},
		{name: "integer empty", in: ":\r\n", err: protoAt(1)},
		{name: "integer overflow", in: ":9223372036854775808\r\n", err: protoAt(1)},
		{name: "integer line too long", in: ":" + strings.Repeat("1", 40) + "\r\n", err: protoAt(1)},
		{name: "bulk length bad", in: "$a\r\n", err: protoAt(1)},
		{name: "bulk length -2", in: "$-2\r\n", err: protoAt(1)},
		{name: "bulk bad end", in: "$1\r\nab\r\n", err: protoAt(5)},
		{name: "bulk over limit", in: "$536870913\r\n", err: largeAt(1)},
		{name: "bulk over custom limit", in: "$4\r\nabcd\r\n", lim: &Limits{MaxBulkLen: 3}, err: largeAt(1)},
		{name: "bulk error null", in: "!-1\r\n", err: protoAt(1)},
		{name: "verbatim short", in: "=3\r\ntxt\r\n", err: protoAt(4)},
		{name: "verbatim no colon", in: "=5\r\ntxtab\r\n", err: protoAt(4)},
		{name: "null with text", in: "_x\r\n", err: protoAt(1)},
		{name: "boolean bad", in: "#x\r\n", err: protoAt(1)},
		{name: "boolean long", in: "#tt\r\n", err: protoAt(1)},
		{name: "double bad", in: ",1.2.3\r\n", err: protoAt(1)},
		{name: "double empty", in: ",\r\n", err: protoAt(1)},
		{name: "big number bad", in: "(12x\r\n", err: protoAt(1)},
		{name: "big number empty", in: "(\r\n", err: protoAt(1)},
		{name: "array length bad", in: "*x\r\n", err: protoAt(1)},
		{name: "array length -2", in: "*-2\r\n", err: protoAt(1)},
		{name: "set null", in: "~-1\r\n", err: protoAt(1)},
		{name: "array over limit", in: "*16777217\r\n", err: largeAt(1)},
		{name: "map over custom limit", in: "%3\r\n", lim: &Limits{MaxArrayLen: 2}, err: largeAt(1)},
		{name: "error in element", in: "*2\r\n:1\r\n:x\r\n", err: protoAt(9)},
		{name: "too deep", in: tooDeep, err: protoAt(4 * DefaultMaxDepth)},
		{name: "too deep custom", in: "*1\r\n*1\r\n:1\r\n", lim: &Limits{MaxDepth: 1}, err: protoAt(4)},
		{name: "simple over limit", in: "+abcd\r\n", lim: &Limits{MaxBulkLen: 3}, err: largeAt(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := ParseValue([]byte(tt.in), tt.lim)
			checkErr(t, err, tt.err)
			if err != nil {
				if n != 0 {
					t.Fatalf("n = %d with error %v, want 0", n, err)
				}
				return
			}
			if got := v.String(); got != tt.want {
				t.Fatalf("value = %s, want %s", got, tt.want)
			}
			if v.Type != tt.typ {
				t.Fatalf("type = %q, want %q", v.Type, tt.typ)
			}
			if n != tt.n {
				t.Fatalf("n = %d, want %d", n, tt.n)
			}
			if tt.same {
				if out := AppendValue(nil, v); string(out) != tt.in {
					t.Fatalf("AppendValue = %q, want %q", out, tt.in)
				}
			}
		})
	}
}

func TestParseValueFields(t *testing.T) {
	v, _, err := ParseValue([]byte(",-1.5\r\n"), nil)
	if err != nil || v.Float != -1.5 {
		t.Fatalf("double = %v, %v", v.Float, err)
	}
	v, _, _ = ParseValue([]byte(",inf\r\n"), nil)
	if !math.IsInf(v.Float, 1) {
		t.Fatalf("inf = %v", v.Float)
	}
	v, _, _ = ParseValue([]byte("#t\r\n"), nil)
	if v.Int != 1 {
		t.Fatalf("true = %d", v.Int)
	}
	for _, in := range []string{"-ERR x\r\n", "!1\r\nx\r\n"} {
		v, _, _ = ParseValue([]byte(in), nil)
		if !v.IsError() {
			t.Fatalf("%q: IsError false", in)
		}
	}
	v, _, _ = ParseValue([]byte("$1\r\nx\r\n"), nil)
	if v.IsError() || v.Null {
		t.Fatal("bulk: IsError or Null")
	}
}
