package redisver

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		err  bool
	}{
		{"7.0.15", Version{7, 0, 15}, false},
		{"6.2", Version{6, 2, 0}, false},
		{"5", Version{5, 0, 0}, false},
		{"7.x.1", Version{}, true},
		{"", Version{}, true},
	} {
		got, err := Parse(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestAtLeastAndRDBVersion(t *testing.T) {
	for _, tc := range []struct {
		v    Version
		rdb  int
		at62 bool
	}{
		{Version{7, 4, 1}, 12, true},
		{Version{7, 2, 6}, 11, true},
		{Version{7, 0, 15}, 10, true},
		{Version{6, 2, 16}, 9, true},
		{Version{6, 0, 0}, 9, false},
		{Version{5, 0, 14}, 9, false},
		{Version{4, 0, 14}, 8, false},
		{Version{3, 2, 12}, 7, false},
		{Version{2, 8, 0}, 6, false},
		{Version{2, 4, 0}, 5, false},
	} {
		if got := tc.v.RDBVersion(); got != tc.rdb {
			t.Errorf("%v.RDBVersion() = %d, want %d", tc.v, got, tc.rdb)
		}
		if got := tc.v.AtLeast(6, 2); got != tc.at62 {
			t.Errorf("%v.AtLeast(6, 2) = %v, want %v", tc.v, got, tc.at62)
		}
	}
}
