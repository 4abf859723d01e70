package translate

import (
	"bytes"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator/redisver"
)

// FuzzTranslate feeds random command sequences (one command per line,
// arguments separated by spaces) to translators of several configurations:
// Translate must never panic, and every op it returns must be well formed.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		"SET k v EX 10\nGET k",
		"MULTI\nSET a 1\nRENAME a b\nMSET a 1 b 2\nEXEC",
		"MULTI\nMULTI\nEXEC\nEXEC\nDISCARD",
		"EVAL x 2 a b\nEVAL x -1\nEVAL x 99 a\nEVALSHA y 1 k\nFCALL f 1 k a",
		"SETEX k 99999999999999999 v\nPSETEX k -5 v\nEXPIRE k\nGETEX k EX\nRESTORE k -1 p\nRESTORE k 5 p ABSTTL",
		"MOVE k 3\nMOVE k -1\nSWAPDB 0 3\nSWAPDB x y\nFLUSHALL\nFLUSHDB ASYNC",
		"SELECT 3\nSET k v\nSELECT 99999999999999999999",
		"ZUNIONSTORE d 2 a b WEIGHTS 1 2\nSORT k BY x STORE d\nGEORADIUS g 0 0 1 km STORE d",
		"XADD s * f v\nXGROUP CREATE s g $\nXCLAIM s g c 0 1-1\nHPEXPIRE h 10 FIELDS 1 f",
		"PUBLISH c m\nSPUBLISH c m\nSCRIPT LOAD x\nFUNCTION LOAD x\nFUNCTION\nSCRIPT",
		"MSET a\nMSET a 1 b\nDEL\nUNLINK a b c\nSET",
		"HEXPIRE h 1 FIELDS 1 f\nHSETEX h EX 10 FIELDS 1 f v\nSET k v GET PX 1 NX",
	} {
		f.Add([]byte(s))
	}
	cfgs := []Config{
		{SourceSlots: allSlots()},
		{SourceKind: SourceStandalone, DBs: map[int]Target{0: {}, 3: {Prefix: "db3:"}}, Include: []string{"[a-z]*"},
			Exclude: []string{"*x?\\"}, Publish: true, Unknown: Ignore, DestVersion: redisver.Version{Major: 4, Minor: 0}},
		{SourceKind: SourceStandalone, DestKind: DestStandalone, SwapDB: Apply, DestVersion: redisver.Version{Major: 6, Minor: 0}},
		{SourceKind: SourceStandalone, Flush: Stop, SwapDB: Ignore, Allow: []string{"set", "mset", "multi", "exec"}},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cfg := range cfgs {
			tr, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			db := 0
			for i, line := range bytes.Split(data, []byte("\n")) {
				args := bytes.Fields(line)
				if len(args) == 2 && bytes.EqualFold(args[0], []byte("select")) {
					if n, ok := parseInt(args[1]); ok && n >= 0 && n < 1<<20 {
						db = int(n)
					}
				}
				ops, err := tr.Translate(db, args, int64(i+1), time.UnixMilli(1e12))
				if err != nil {
					continue
				}
				for _, op := range ops {
					if op.Barrier != nil {
						continue
					}
					if op.N <= 0 || len(op.Cmd) == 0 {
						t.Fatalf("op without commands for %q", line)
					}
					if got := len(parseCmds(t, op.Cmd)); got != op.N {
						t.Fatalf("N=%d but %d commands for %q", op.N, got, line)
					}
				}
			}
		}
	})
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"a*c", "abc", true}, {"a*d", "abc", false},
		{"?", "a", true}, {"?", "", false}, {"a?c", "abc", true}, {"[abc]", "b", true}, {"[^abc]", "b", false},
		{"[a-c]x", "bx", true}, {"[c-a]x", "bx", true}, {"[a-c]x", "dx", false}, {"\\*", "*", true}, {"\\*", "a", false},
		{"a\\", "a\\", true}, {"[\\]]", "]", true}, {"*a*b*c*", "xxaxxbxxcxx", true}, {"*a*b*c*", "xxaxxcxxbxx", false},
		{"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false}, {"[abc", "b", true}, {"**", "x", true},
		{"user:[0-9]*", "user:7abc", true}, {"user:[0-9]*", "user:x", false},
	} {
		if got := Match([]byte(c.pat), []byte(c.s)); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
}
