package glob

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"__xsync:":   "__xsync:",
		"a*b?c":      `a\*b\?c`,
		"[x]":        `\[x\]`,
		`back\slash`: `back\\slash`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
