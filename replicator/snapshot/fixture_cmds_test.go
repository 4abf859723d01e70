package snapshot

import (
	"os"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/fixtures"
)

// TestFixtureCommands checks the command path of the 7.4 fixture's stream
// with groups and hash with field expires, for a 7.4 destination.
func TestFixtureCommands(t *testing.T) {
	in, err := os.ReadFile(fixtures.Path(t, "rdb", "redis-7.4.1.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := run(t, in, Options{Mode: ModeCommands, Now: fixtureNow, MaxElements: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"DEL hash:fieldttl-small\nHSET hash:fieldttl-small c 3 a 1 b 2\nHPEXPIREAT hash:fieldttl-small 4102444800007 FIELDS 2 c a\n",
		"XADD stream:s1 1000-1 f v1 n 1\n",
		"XSETID stream:s1 1010-0 ENTRIESADDED 100 MAXDELETEDID 1001-1\nXGROUP CREATE stream:s1 g1 1001-7\n" +
			"XGROUP CREATECONSUMER stream:s1 g1 c1\nXGROUP CREATECONSUMER stream:s1 g1 c2\n",
		"XGROUP CREATE stream:empty __xsync_tmp 0 MKSTREAM\nXGROUP DESTROY stream:empty __xsync_tmp\nXSETID stream:empty 0-0 ENTRIESADDED 0 MAXDELETEDID 0-0\nXGROUP CREATE stream:empty g 0-0",
		"FUNCTION LOAD REPLACE",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing:\n%s", want)
		}
	}
	if !strings.Contains(got, "XCLAIM stream:s1 g1 c1 0 1000-2 1000-3") || !strings.Contains(got, "RETRYCOUNT 1 FORCE JUSTID") {
		t.Errorf("no XCLAIM rebuilding the PEL:\n%s", grep(got, "XCLAIM"))
	}
	t.Logf("%+v", st)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
