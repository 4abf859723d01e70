package translate

import (
	"math"
	"testing"
)

// TestStrtod checks scores as sort.c reads them with strtod: an empty string
// is 0 (strtod stops at once and the end is reached), white space before the
// number is skipped, after it is not.
func TestStrtod(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"", 0, true},
		{"1.5", 1.5, true},
		{" 2", 2, true},
		{"2 ", 0, false},
		{" ", 0, false},
		{"0x10", 16, true},
		{"inf", math.Inf(1), true},
		{"-inf", math.Inf(-1), true},
		{"nan", 0, false},
		{"a", 0, false},
		{"1e400", 0, false},
		{"1_0", 0, false},
	} {
		got, ok := strtod([]byte(c.in))
		if ok != c.ok || ok && got != c.want {
			t.Errorf("strtod(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
