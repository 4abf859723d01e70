package translate

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// TestWriteCommands covers every write command that Redis 4.0 to 7.4 put in a
// replication stream (the forms the fixtures in testdata/psync show, and
// the forms older versions use), for a cluster source and a 7.0 destination,
// with keys of one slot. want lists the destination commands of every op ("|"
// inside an op, " ; " between ops), "-" for none.
func TestWriteCommands(t *testing.T) {
	cases := []struct{ in, want string }{
		{"APPEND k v", "APPEND k v"},
		{"BITOP AND {b}d {b}1 {b}2", "BITOP AND {b}d {b}1 {b}2"},
		{"BLPOP l 1", "LPOP l"},
		{"BRPOP l 1", "RPOP l"},
		{"BRPOPLPUSH {l}1 {l}2 1", "RPOPLPUSH {l}1 {l}2"},
		{"DECR k", "DECR k"},
		{"DECRBY k 3", "DECRBY k 3"},
		{"DEL k", "DEL k"},
		{"DEL {k}1 {k}2", "DEL {k}1 {k}2"},
		{`EVAL "return 1" 2 {e}1 {e}2 a`, `EVAL "return 1" 2 {e}1 {e}2 a`},
		{"EVALSHA de13cb79068e6feeef62810ed6047d9c2f29b864 1 k e1", "EVALSHA de13cb79068e6feeef62810ed6047d9c2f29b864 1 k e1"},
		{"EXEC", "-"},
		{"EXPIRE k 86400", "PEXPIREAT k 87400000"},
		{"EXPIREAT k 4102444800", "EXPIREAT k 4102444800"},
		{"GEOADD g 2.3522 48.8566 Paris", "GEOADD g 2.3522 48.8566 Paris"},
		{"zadd g 3663832779122514 Paris", "zadd g 3663832779122514 Paris"},
		{"GETSET k new", "GETSET k new"},
		{"HDEL h c", "HDEL h c"},
		{"HINCRBY h b 40", "HINCRBY h b 40"},
		{"HINCRBYFLOAT h c 0.25", "HINCRBYFLOAT h c 0.25"},
		{"HMSET h b 2 c 3", "HMSET h b 2 c 3"},
		{"HSET h a 1", "HSET h a 1"},
		{"HSETNX h a 1", "HSETNX h a 1"},
		{"INCR k", "INCR k"},
		{"INCRBY k 5", "INCRBY k 5"},
		{"INCRBYFLOAT k 1.5", "INCRBYFLOAT k 1.5"},
		{"SET k 1.5 KEEPTTL", "SET k 1.5 KEEPTTL"},
		{"LINSERT l BEFORE c bc", "LINSERT l BEFORE c bc"},
		{"LPOP l", "LPOP l"},
		{"LPUSH l z", "LPUSH l z"},
		{"LPUSHX l y", "LPUSHX l y"},
		{"LREM l 1 d", "LREM l 1 d"},
		{"LSET l 0 Y", "LSET l 0 Y"},
		{"LTRIM l 0 4", "LTRIM l 0 4"},
		{"MOVE k 3", "DEL k"}, // only db 0 is synced: the key leaves it
		{"MSET {m}1 1 {m}2 2", "MSET {m}1 1 {m}2 2"},
		{"MSETNX {m}3 3 {m}4 4", "MSET {m}3 3 {m}4 4"},
		{"MULTI", "-"},
		{"PERSIST k", "PERSIST k"},
		{"PEXPIRE k 86400000", "PEXPIREAT k 87400000"},
		{"PEXPIREAT k 4102444800001", "PEXPIREAT k 4102444800001"},
		{"PFADD h a b", "PFADD h a b"},
		{"PFMERGE {h}m {h}1 {h}2", "PFMERGE {h}m {h}1 {h}2"},
		{"PSETEX k 86400000 v", "SET k v PXAT 87400000"},
		{"PUBLISH chan msg", "-"},
		{"RENAME {r}a {r}b", "RENAME {r}a {r}b"},
		{"RENAMENX {r}a {r}b", "RENAMENX {r}a {r}b"},
		{"RESTORE k 0 payload", "RESTORE k 0 payload"},
		{"RESTORE k 1000 payload REPLACE", "RESTORE k 1001000 payload REPLACE ABSTTL"},
		{"RPOP l", "RPOP l"},
		{"RPOPLPUSH {l}1 {l}2", "RPOPLPUSH {l}1 {l}2"},
		{"RPUSH l a b c", "RPUSH l a b c"},
		{"RPUSHX l g", "RPUSHX l g"},
		{"SADD s a b", "SADD s a b"},
		{"SDIFFSTORE {s}d {s}1 {s}2", "SDIFFSTORE {s}d {s}1 {s}2"},
		{"SELECT 5", "-"},
		{"SET k v", "SET k v"},
		{"SET k v EX 1000", "SET k v PXAT 2000000"},
		{"SET k v PX 1000", "SET k v PXAT 1001000"},
		{"SET k v PXAT 1795706592193", "SET k v PXAT 1795706592193"},
		{"SET k v EXAT 1795706592", "SET k v EXAT 1795706592"},
		{"SET k v NX GET", "SET k v NX GET"},
		{"SETBIT k 7 1", "SETBIT k 7 1"},
		{"SETEX k 86400 v", "SET k v PXAT 87400000"},
		{"SETNX k first", "SETNX k first"},
		{"SETRANGE k 2 ZZ", "SETRANGE k 2 ZZ"},
		// SINTERSTORE carries the rule of sources before 6.0.15 (sinter.go).
		{"SINTERSTORE {s}d {s}1 {s}2", "EVAL " + strconv.Quote(sinterstoreScript) + " 3 {s}d {s}1 {s}2"},
		{"SMOVE {s}1 {s}2 b", "SMOVE {s}1 {s}2 b"},
		{"SPOP s", "SPOP s"},
		{"SREM s a", "SREM s a"},
		{"SUNIONSTORE {s}d {s}1 {s}2", "SUNIONSTORE {s}d {s}1 {s}2"},
		{"SWAPDB 6 7", "-"}, // neither db is synced
		{"UNLINK k", "UNLINK k"},
		{"ZADD z 1 a 2 b", "ZADD z 1 a 2 b"},
		{"ZINCRBY z 10 a", "ZINCRBY z 10 a"},
		{"ZINTERSTORE {z}d 2 {z}1 {z}2", "ZINTERSTORE {z}d 2 {z}1 {z}2"},
		{"ZREM z b", "ZREM z b"},
		{"ZREMRANGEBYLEX z [a [b", "ZREMRANGEBYLEX z [a [b"},
		{"ZUNIONSTORE {z}d 2 {z}1 {z}2", "ZUNIONSTORE {z}d 2 {z}1 {z}2"},
		{"ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYRANK z 0 0"},
		{"ZREMRANGEBYSCORE z 6 6", "ZREMRANGEBYSCORE z 6 6"},
		{"XADD x 1-1 f 1", "XADD x 1-1 f 1"},
		{"XDEL x 2-1", "XDEL x 2-1"},
		{"XTRIM x MAXLEN 5", "XTRIM x MAXLEN 5"},
		{"XSETID x 9-9", "XSETID x 9-9"},
		{"XGROUP CREATE x grp 0", "XGROUP CREATE x grp 0"},
		{"XGROUP SETID x grp 1-2 ENTRIESREAD 2", "XGROUP SETID x grp 1-2 ENTRIESREAD 2"},
		{"XGROUP CREATECONSUMER x grp carol", "XGROUP CREATECONSUMER x grp carol"},
		{"XCLAIM x grp alice 0 1-1 TIME 1795620192212 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
			"XCLAIM x grp alice 0 1-1 TIME 1795620192212 RETRYCOUNT 1 FORCE JUSTID LASTID 1-1"},
		{"XAUTOCLAIM x grp carol 0 0-0", "XAUTOCLAIM x grp carol 0 0-0"},
		{"XACK x grp 1-2", "XACK x grp 1-2"},
		{"COPY {c}1 {c}2", "COPY {c}1 {c}2"},
		{"LMOVE {l}2 {l}1 LEFT RIGHT", "LMOVE {l}2 {l}1 LEFT RIGHT"},
		{"BLMOVE {l}2 {l}1 LEFT RIGHT 0", "LMOVE {l}2 {l}1 LEFT RIGHT"},
		{"GETDEL k", "GETDEL k"},
		{"GETEX k PXAT 4102444800002", "PEXPIREAT k 4102444800002"},
		{"GETEX k EX 10", "PEXPIREAT k 1010000"},
		{"SET k v GET EXAT 4102444800", "SET k v GET EXAT 4102444800"},
		{"SET k v GET PXAT 4102444800000", "SET k v GET PXAT 4102444800000"},
		{"FUNCTION LOAD REPLACE code", "FUNCTION LOAD REPLACE code"},
		{"FUNCTION DELETE wl", "FUNCTION DELETE wl"},
		{"FUNCTION FLUSH", "FUNCTION FLUSH"},
		{"FCALL wl_set 1 k v", "FCALL wl_set 1 k v"},
		{"HEXPIRE h 10 FIELDS 1 a", "HPEXPIREAT h 1010000 FIELDS 1 a"},
		{"HPEXPIRE h 10 FIELDS 1 a", "HPEXPIREAT h 1000010 FIELDS 1 a"},
		{"HEXPIREAT h 4102444800 FIELDS 1 a", "HEXPIREAT h 4102444800 FIELDS 1 a"},
		{"HPEXPIREAT h 4102444800003 FIELDS 1 a", "HPEXPIREAT h 4102444800003 FIELDS 1 a"},
		{"HPERSIST h FIELDS 1 a", "HPERSIST h FIELDS 1 a"},
	}
	for _, c := range cases {
		t.Run(strings.Fields(c.in)[0], func(t *testing.T) {
			tr, err := New(Config{SourceKind: SourceStandalone, Unknown: Stop, DestVersion: redisver.Version{Major: 7, Minor: 4}})
			if err != nil {
				t.Fatal(err)
			}
			args, err := splitArgs(c.in)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := tr.Translate(0, args, 1, time.UnixMilli(1_000_000))
			if err != nil {
				t.Fatalf("%s: %v", c.in, err)
			}
			var got []string
			for _, op := range ops {
				s := formatOp(op)
				if _, cmds, ok := strings.Cut(s, ": "); ok && op.Barrier == nil {
					s = cmds
				}
				got = append(got, s)
			}
			g := strings.Join(got, " ; ")
			if g == "" {
				g = "-"
			}
			if g != c.want {
				t.Errorf("%s\n got: %s\nwant: %s", c.in, g, c.want)
			}
		})
	}
}

// TestKeyRolesMatchKeySpecs checks the emulation's key roles against the key
// specs of slots' command table (generated from COMMAND): a key we do not
// write back must be RO there, a key we do not copy in must be OW.
func TestKeyRolesMatchKeySpecs(t *testing.T) {
	// SORT is left out: its STORE key spec has an unknown begin search.
	for _, c := range []string{
		"RENAME a b", "SUNIONSTORE d a b", "SINTERSTORE d a b", "SDIFFSTORE d a b",
		"ZUNIONSTORE d 2 a b", "ZINTERSTORE d 2 a b", "ZDIFFSTORE d 2 a b", "ZRANGESTORE d a 0 1",
		"GEOSEARCHSTORE d a FROMMEMBER m BYRADIUS 1 km", "BITOP AND d a b", "PFMERGE d a b", "COPY a b",
		"GEORADIUS a 0 0 1 km STORE d", "RENAMENX a b", "SMOVE a b m", "LMOVE a b LEFT RIGHT",
	} {
		args := argv(strings.Fields(c)...)
		spec, err := slots.Lookup(args)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := slots.KeyIndexes(args, nil)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ToLower(c[:strings.IndexByte(c, ' ')])
		roles := keyRoles(name, idx, nil)
		// Key i comes from the spec that finds it; for these commands the
		// non-empty specs find one key each, except the source ranges.
		var specs []slots.KeySpec
		for _, ks := range spec.KeySpecs {
			if ks.Begin.Type == slots.BeginIndex || ks.Begin.Type == slots.BeginKeyword && bytesHas(args, ks.Begin.Keyword) {
				specs = append(specs, ks)
			}
		}
		for i := range idx {
			ks := specs[min(i, len(specs)-1)]
			if roles[i]&roleWrite == 0 && !ks.Flags.Has(slots.KeyRO) {
				t.Errorf("%s key %d: not written back but spec flags %v", c, i, ks.Flags)
			}
			if roles[i]&roleRead == 0 && !ks.Flags.Has(slots.KeyOW) {
				t.Errorf("%s key %d: not copied in but spec flags %v", c, i, ks.Flags)
			}
		}
	}
}

func bytesHas(args [][]byte, kw string) bool {
	for _, a := range args {
		if strings.EqualFold(string(a), kw) {
			return true
		}
	}
	return false
}

// TestHashFieldExpiresBefore74 checks that hash field expires, which a
// destination before 7.4 cannot hold, stop the stream by default and are
// dropped and counted, not sent, under Downgrade Ignore.
func TestHashFieldExpiresBefore74(t *testing.T) {
	stop, err := New(Config{SourceKind: SourceStandalone, DestVersion: redisver.Version{Major: 7, Minor: 0}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{SourceKind: SourceStandalone, DestVersion: redisver.Version{Major: 7, Minor: 0}, Downgrade: Ignore})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"HEXPIRE h 10 FIELDS 1 a", "HPEXPIREAT h 4102444800003 FIELDS 1 a", "HPERSIST h FIELDS 1 a"} {
		args, _ := splitArgs(in)
		if _, err := stop.Translate(0, args, 1, time.UnixMilli(1_000_000)); !errors.Is(err, ErrDowngrade) ||
			!strings.Contains(err.Error(), "hash field expires came with Redis 7.4") || !strings.Contains(err.Error(), "--downgrade drop") {
			t.Errorf("%s: err %v, want ErrDowngrade naming the feature and the option", in, err)
		}
		ops, err := tr.Translate(0, args, 1, time.UnixMilli(1_000_000))
		if err != nil || len(ops) != 0 {
			t.Errorf("%s: ops %v, err %v; want dropped", in, ops, err)
		}
	}
	if st := tr.Stats(); st.Unsupported != 3 || st.Skipped != 3 {
		t.Errorf("stats %+v, want 3 unsupported and skipped", st)
	}
}

// TestKeepTTLBefore60: SET ... KEEPTTL (what 6.0+ propagate for INCRBYFLOAT and
// SET KEEPTTL) becomes a script that keeps the key's time, an exact equivalent.
func TestKeepTTLBefore60(t *testing.T) {
	tr, err := New(Config{SourceKind: SourceStandalone, DestKind: DestStandalone, DestVersion: redisver.Version{Major: 5, Minor: 0}})
	if err != nil {
		t.Fatal(err)
	}
	args, _ := splitArgs("SET k 1.5 XX KEEPTTL")
	ops, err := tr.Translate(0, args, 1, time.UnixMilli(1_000_000))
	if err != nil || len(ops) != 1 {
		t.Fatalf("ops %v, err %v", ops, err)
	}
	got, _, err := resp.ParseCommand(ops[0].Cmd, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"EVAL", keepTTLScript, "1", "k", "1.5"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("arg %d: %q, want %q", i, got[i], want[i])
		}
	}
	if st := tr.Stats(); st.Unsupported != 0 {
		t.Errorf("an exact equivalent counted as dropped: %+v", st)
	}
}

// TestDowngradeArgs checks the arguments of older commands that a newer
// source propagates: left out (and counted) under Ignore, an error under Stop,
// kept for a destination that has them.
func TestDowngradeArgs(t *testing.T) {
	for _, tc := range []struct {
		dest     redisver.Version
		in, want string
	}{
		{redisver.Version{Major: 6, Minor: 2}, "XSETID s 9-9 ENTRIESADDED 3 MAXDELETEDID 2-1", "XSETID s 9-9"},
		{redisver.Version{Major: 6, Minor: 2}, "XGROUP SETID s g 1-2 ENTRIESREAD 2", "XGROUP SETID s g 1-2"},
		{redisver.Version{Major: 6, Minor: 2}, "XGROUP CREATE s g 0 MKSTREAM ENTRIESREAD 5", "XGROUP CREATE s g 0 MKSTREAM"},
		{redisver.Version{Major: 7, Minor: 0}, "XGROUP SETID s g 1-2 ENTRIESREAD 2", "XGROUP SETID s g 1-2 ENTRIESREAD 2"},
		{redisver.Version{Major: 5, Minor: 0}, "SET k keepttl", "SET k keepttl"}, // a value, not the option
		{redisver.Version{Major: 6, Minor: 0}, "SET k v KEEPTTL", "SET k v KEEPTTL"},
		{redisver.Version{Major: 6, Minor: 0}, "LMOVE a a LEFT RIGHT", ""},
		{redisver.Version{Major: 6, Minor: 2}, "FUNCTION LOAD x", ""},
	} {
		t.Run(tc.dest.String()+"/"+tc.in, func(t *testing.T) {
			args, _ := splitArgs(tc.in)
			cfg := Config{SourceKind: SourceStandalone, DestKind: DestStandalone, DestVersion: tc.dest, Downgrade: Ignore}
			tr, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := tr.Translate(0, args, 1, time.UnixMilli(1_000_000))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops {
				for rest := op.Cmd; len(rest) > 0; {
					a, n, err := resp.ParseCommand(rest, nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, string(bytes.Join(a, []byte(" "))))
					rest = rest[n:]
				}
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, "; "), tc.want)
			}
			lost := tc.want != tc.in
			if st := tr.Stats(); (st.Unsupported > 0) != lost {
				t.Errorf("unsupported %d, want lost=%v", st.Unsupported, lost)
			}
			cfg.Downgrade = Stop
			stop, _ := New(cfg)
			if _, err := stop.Translate(0, args, 1, time.UnixMilli(1_000_000)); lost != errors.Is(err, ErrDowngrade) {
				t.Errorf("Stop: err %v, want ErrDowngrade %v", err, lost)
			}
		})
	}
}
