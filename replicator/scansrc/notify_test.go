package scansrc

import "testing"

func TestNotifyMissing(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"", "Kg$lshzxet"},
		{"KEA", ""},
		{"AK", ""},
		{"Ex", "Kg$lshzet"},
		{"Kg$lshz", "xet"},
		{"Kg$lshzxetd", ""},
		{"EA", "K"},
	} {
		if got := NotifyMissing(tc.v); got != tc.want {
			t.Errorf("NotifyMissing(%q) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
