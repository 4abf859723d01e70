package snapshot

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/fixtures"
	"github.com/xsync/xsync/replicator/redisver"
)

// TestDowngrade converts the 7.4 and 7.0 fixtures for older destinations: by
// default the first thing the destination cannot hold stops the conversion
// with its key and reason; under DowngradeDrop everything else is written and
// what was left out is counted.
func TestDowngrade(t *testing.T) {
	for _, tc := range []struct {
		rdb     string
		target  redisver.Version
		stopAt  []string // substrings of the error under DowngradeStop
		dropped Stats    // counts under DowngradeDrop
	}{
		{"redis-7.4.1.rdb", redisver.Version{Major: 7, Minor: 4}, nil, Stats{}},
		{"redis-7.4.1.rdb", redisver.Version{Major: 7, Minor: 2}, []string{`key "hash:fieldttl-`, "HPEXPIRE", "Redis 7.2"}, Stats{DroppedFields: 5}},
		{"redis-7.4.1.rdb", redisver.Version{Major: 6, Minor: 2}, []string{`"fixturelib"`, "Redis 7.0"}, Stats{DroppedFields: 5, DroppedFunctions: 1, DroppedStreamMeta: 1}},
		{"redis-7.0.15.rdb", redisver.Version{Major: 6, Minor: 2}, []string{`"fixturelib"`}, Stats{DroppedFunctions: 1, DroppedStreamMeta: 1}},
		{"redis-6.2.16.rdb", redisver.Version{Major: 5, Minor: 0}, nil, Stats{}},
		{"redis-5.0.14.rdb", redisver.Version{Major: 4, Minor: 0}, []string{`key "stream:`, "streams need Redis 5.0"}, Stats{DroppedKeys: 3}},
	} {
		t.Run(tc.rdb+"->"+tc.target.String(), func(t *testing.T) {
			in, err := os.ReadFile(fixtures.Path(t, "rdb", tc.rdb))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = run(t, in, Options{Target: tc.target, Now: fixtureNow})
			switch {
			case tc.stopAt == nil && err != nil:
				t.Fatalf("nothing to lose, got %v", err)
			case tc.stopAt != nil && !errors.Is(err, ErrUnsupported):
				t.Fatalf("want ErrUnsupported, got %v", err)
			}
			for _, s := range tc.stopAt {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			out, st, err := run(t, in, Options{Target: tc.target, Now: fixtureNow, Downgrade: DowngradeDrop})
			if err != nil {
				t.Fatal(err)
			}
			if st.DroppedFields != tc.dropped.DroppedFields || st.DroppedFunctions != tc.dropped.DroppedFunctions || st.DroppedStreamMeta != tc.dropped.DroppedStreamMeta || st.DroppedKeys != tc.dropped.DroppedKeys {
				t.Errorf("dropped fields %d, functions %d, stream metadata %d, keys %d; want %+v", st.DroppedFields, st.DroppedFunctions, st.DroppedStreamMeta, st.DroppedKeys, tc.dropped)
			}
			if !tc.target.AtLeast(7, 4) && strings.Contains(out, "HPEXPIREAT") {
				t.Error("HPEXPIREAT written for a destination before 7.4")
			}
			if !tc.target.AtLeast(5, 0) && strings.Contains(out, "XADD") {
				t.Error("XADD written for a destination before 5.0")
			}
			if !tc.target.AtLeast(7, 0) && (strings.Contains(out, "FUNCTION") || strings.Contains(out, "ENTRIES")) {
				t.Error("7.0 commands written for a destination before 7.0")
			}
		})
	}
}
