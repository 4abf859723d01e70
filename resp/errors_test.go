package resp

import (
	"errors"
	"testing"
)

func TestProtocolErrorText(t *testing.T) {
	_, _, err := ParseValue([]byte("*1\r\n?\r\n"), nil)
	if got, want := err.Error(), `xsync/resp: protocol error at byte 4: unknown type byte '?'`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, ErrTooLarge) {
		t.Fatal("a plain protocol error matches ErrTooLarge")
	}
	_, _, err = ParseCommand([]byte("*1\r\n$600000000\r\n"), nil, nil)
	if got, want := err.Error(), "xsync/resp: protocol error at byte 5: bulk length 600000000 over the limit 536870912"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatal("errors.Is(err, ErrTooLarge) is false")
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lim   Limits
		lines []string
		ns    []int
		err   errWant
	}{
		{name: "handshake", in: "\n\n+FULLRESYNC abc 0\r\n$EOF:xyz\r\n", lines: []string{"", "", "+FULLRESYNC abc 0", "$EOF:xyz"}, ns: []int{1, 1, 19, 10}},
		{name: "CR inside", in: "a\rb\r\n", lines: []string{"a\rb"}, ns: []int{5}},
		{name: "at limit", in: "abc\r\nabcd\n", lim: Limits{MaxInlineLen: 4}, lines: []string{"abc", "abcd"}, ns: []int{5, 5}},
		{name: "over limit", in: "ab\nabcde\r\n", lim: Limits{MaxInlineLen: 4}, lines: []string{"ab"}, ns: []int{3}, err: largeAt(3)},
		{name: "over limit no end", in: "abcdefgh", lim: Limits{MaxInlineLen: 4}, err: largeAt(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(&chunkReader{data: []byte(tt.in), rng: newRand(), max: 2}, tt.lim)
			for i, want := range tt.lines {
				line, n, err := r.ReadLine()
				if err != nil || string(line) != want || n != tt.ns[i] {
					t.Fatalf("line %d = %q, %d, %v; want %q, %d", i, line, n, err, want, tt.ns[i])
				}
			}
			if tt.err == noErr {
				return
			}
			_, _, err := r.ReadLine()
			checkErr(t, err, tt.err)
		})
	}
}
