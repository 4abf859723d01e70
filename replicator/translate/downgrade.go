package translate

import (
	"bytes"
	"fmt"

	"github.com/xsync/xsync/replicator/redisver"
)

// What the replication stream of a newer source may carry that an older
// destination cannot run. Where an exact equivalent exists the translator
// writes it without asking (SET .. PXAT becomes SET + PEXPIREAT before 6.2,
// RESTORE ABSTTL a relative ttl before 5.0, see expire.go). Where none exists,
// Config.Downgrade decides: Stop (the default) returns ErrDowngrade naming the
// command, the version it needs and the option; Ignore drops what cannot be
// carried, counts it (Stats.Unsupported) and logs it: a whole command (hash
// field expires, functions, LMOVE, COPY, ...) or the arguments the destination
// lacks (XSETID ENTRIESADDED/MAXDELETEDID, XGROUP .. ENTRIESREAD, SET KEEPTTL),
// the rest of the command being applied.

// since is the first Redis version with a command, and what it is.
type since struct {
	v    redisver.Version
	what string
}

// newCommands are the write commands a replication stream may carry, by the
// Redis version that introduced them (redis.io command pages, "Available
// since"). Commands that Redis propagates as other commands (BLMOVE as LMOVE,
// LMPOP as LPOP, GETDEL as DEL, XAUTOCLAIM as XCLAIM, GETEX as PEXPIREAT) are
// listed for sources that replicate scripts verbatim.
var newCommands = map[string]since{
	"hexpire":        {redisver.Version{Major: 7, Minor: 4}, "hash field expires"},
	"hpexpire":       {redisver.Version{Major: 7, Minor: 4}, "hash field expires"},
	"hexpireat":      {redisver.Version{Major: 7, Minor: 4}, "hash field expires"},
	"hpexpireat":     {redisver.Version{Major: 7, Minor: 4}, "hash field expires"},
	"hpersist":       {redisver.Version{Major: 7, Minor: 4}, "hash field expires"},
	"function":       {redisver.Version{Major: 7, Minor: 0}, "functions"},
	"fcall":          {redisver.Version{Major: 7, Minor: 0}, "functions"},
	"lmpop":          {redisver.Version{Major: 7, Minor: 0}, "LMPOP"},
	"blmpop":         {redisver.Version{Major: 7, Minor: 0}, "BLMPOP"},
	"zmpop":          {redisver.Version{Major: 7, Minor: 0}, "ZMPOP"},
	"bzmpop":         {redisver.Version{Major: 7, Minor: 0}, "BZMPOP"},
	"lmove":          {redisver.Version{Major: 6, Minor: 2}, "LMOVE"},
	"blmove":         {redisver.Version{Major: 6, Minor: 2}, "BLMOVE"},
	"copy":           {redisver.Version{Major: 6, Minor: 2}, "COPY"},
	"zrangestore":    {redisver.Version{Major: 6, Minor: 2}, "ZRANGESTORE"},
	"zdiffstore":     {redisver.Version{Major: 6, Minor: 2}, "ZDIFFSTORE"},
	"geosearchstore": {redisver.Version{Major: 6, Minor: 2}, "GEOSEARCHSTORE"},
	"xautoclaim":     {redisver.Version{Major: 6, Minor: 2}, "XAUTOCLAIM"},
	"getdel":         {redisver.Version{Major: 6, Minor: 2}, "GETDEL"},
	"xadd":           {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xclaim":         {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xdel":           {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xtrim":          {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xsetid":         {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xgroup":         {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"xack":           {redisver.Version{Major: 5, Minor: 0}, "streams"},
	"zpopmin":        {redisver.Version{Major: 5, Minor: 0}, "ZPOPMIN"},
	"zpopmax":        {redisver.Version{Major: 5, Minor: 0}, "ZPOPMAX"},
	"unlink":         {redisver.Version{Major: 4, Minor: 0}, "UNLINK"},
	"swapdb":         {redisver.Version{Major: 4, Minor: 0}, "SWAPDB"},
}

// CommandSince returns the first Redis version that runs the write command name
// (lower case) and what it is, for the commands newer than Redis 3.2 that a
// replication stream may carry; ok is false for the others.
func CommandSince(name string) (v redisver.Version, what string, ok bool) {
	s, ok := newCommands[name]
	return s.v, s.what, ok
}

// newArgs are arguments of older commands that a newer source propagates.
var newArgs = map[string][]struct {
	token []byte
	n     int // arguments after the token
	since
}{
	"xsetid": {{[]byte("entriesadded"), 1, since{redisver.Version{Major: 7, Minor: 0}, "stream entries-added"}},
		{[]byte("maxdeletedid"), 1, since{redisver.Version{Major: 7, Minor: 0}, "stream max-deleted id"}}},
	"xgroup": {{[]byte("entriesread"), 1, since{redisver.Version{Major: 7, Minor: 0}, "consumer group entries-read (its lag)"}}},
}

// downgrade checks a command against the destination's version. It returns
// the arguments to go on with (args, or a copy without what the destination
// lacks) and skip when the whole command is dropped.
// lower is args[0] in lower case.
func (t *Translator) downgrade(lower []byte, args [][]byte, offset int64) (out [][]byte, skip bool, err error) {
	dv := t.cfg.DestVersion
	if s, ok := newCommands[string(lower)]; ok && !dv.AtLeast(s.v.Major, s.v.Minor) {
		if err := t.downgraded(s, args, offset, "the command is dropped"); err != nil {
			return nil, false, err
		}
		t.skip(s.what+" came with Redis "+s.v.String()+", newer than the destination", args, offset)
		return nil, true, nil
	}
	rules := newArgs[string(lower)]
	if rules == nil {
		return args, false, nil
	}
	// The options come after the key and the value, id or group (index 3 on).
	out = args
	copied := false
	for i := 3; i < len(out); i++ {
		for _, r := range rules {
			if dv.AtLeast(r.v.Major, r.v.Minor) || !bytes.EqualFold(out[i], r.token) || i+r.n >= len(out) {
				continue
			}
			if err := t.downgraded(r.since, args, offset, "the argument is left out"); err != nil {
				return nil, false, err
			}
			t.cfg.Logger.Warn("xsync/translate: argument left out", "why", r.what+" came with Redis "+r.v.String()+", newer than the destination",
				"command", printable(args[0]), "argument", printable(r.token), "offset", offset, "source", t.cfg.Source)
			if !copied {
				out, copied = append(t.dgArgs[:0], args...), true
			}
			out = append(out[:i], out[i+1+r.n:]...)
			t.dgArgs = out
			i--
			break
		}
	}
	return out, false, nil
}

// downgraded applies Config.Downgrade to one thing the destination lacks.
func (t *Translator) downgraded(s since, args [][]byte, offset int64, drop string) error {
	if t.cfg.Downgrade == Stop {
		return fmt.Errorf("%w: %s at offset %d: %s came with Redis %s, the destination is %s (--downgrade drop: %s, counted)",
			ErrDowngrade, printable(args[0]), offset, s.what, s.v, t.cfg.DestVersion, drop)
	}
	t.st.unsupported.Add(1)
	return nil
}
