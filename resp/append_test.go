package resp

import (
	"math"
	"strconv"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"array", AppendArray(nil, 3), "*3\r\n"},
		{"array empty", AppendArray(nil, 0), "*0\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"bulk empty", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulk string", AppendBulkString(nil, "hello"), "$5\r\nhello\r\n"},
		{"bulk int", AppendBulkInt(nil, -1234), "$5\r\n-1234\r\n"},
		{"bulk int min", AppendBulkInt(nil, math.MinInt64), "$20\r\n-9223372036854775808\r\n"},
		{"bulk float", AppendBulkFloat(nil, 1.5), "$3\r\n1.5\r\n"},
		{"int", AppendInt(nil, 42), ":42\r\n"},
		{"int negative", AppendInt(nil, -1), ":-1\r\n"},
		{"simple", AppendSimple(nil, "OK"), "+OK\r\n"},
		{"error", AppendError(nil, "ERR bad"), "-ERR bad\r\n"},
		{"null bulk", AppendNullBulk(nil), "$-1\r\n"},
		{"command", AppendCommand(nil, []byte("SET"), []byte("k"), []byte("")), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"},
		{"command none", AppendCommand(nil), "*0\r\n"},
		{"command string", AppendCommandString(nil, "GET", "k"), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"},
		{"appends", AppendInt([]byte("x"), 1), "x:1\r\n"},
		{"value double from float", AppendValue(nil, Value{Type: TypeDouble, Float: 2.5}), ",2.5\r\n"},
		{"value verbatim", AppendValue(nil, Value{Type: TypeVerbatim, Str: []byte("hi")}), "=6\r\ntxt:hi\r\n"},
		{"value null", AppendValue(nil, Value{Type: TypeNull}), "_\r\n"},
		{"value null map", AppendValue(nil, Value{Type: TypeMap, Null: true}), "_\r\n"},
		{"value unknown", AppendValue(nil, Value{Type: 'x'}), "_\r\n"},
		{"value odd map", AppendValue(nil, Value{Type: TypeMap, Elems: []Value{{Type: ':', Int: 1}}}), "%0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// TestAppendBulkFloat checks the forms of doubles and that each reads back exactly.
func TestAppendBulkFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-2.5, "-2.5"},
		{100, "100"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := AppendBulkFloat(nil, tt.f)
			want := "$" + strconv.Itoa(len(tt.want)) + "\r\n" + tt.want + "\r\n"
			if string(got) != want {
				t.Fatalf("AppendBulkFloat(%v) = %q, want %q", tt.f, got, want)
			}
			back, err := strconv.ParseFloat(tt.want, 64)
			if err != nil {
				t.Fatal(err)
			}
			if back != tt.f && !(math.IsNaN(back) && math.IsNaN(tt.f)) {
				t.Fatalf("%q reads back as %v, want %v", tt.want, back, tt.f)
			}
		})
	}
}

// TestAppendNoAlloc checks that the encoders allocate nothing with room in dst.
func TestAppendNoAlloc(t *testing.T) {
	dst := make([]byte, 0, 1024)
	args := [][]byte{[]byte("SET"), []byte("key"), []byte("value")}
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendCommand(dst, args...)
		b = AppendBulkInt(b, 123456)
		b = AppendBulkFloat(b, 3.25)
		b = AppendCommandString(b, "PING")
		_ = b
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
