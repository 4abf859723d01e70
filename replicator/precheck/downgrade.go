package precheck

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/translate"
)

// usage is what the survey of one source master found.
type usage struct {
	scanned            int64    // keys looked at
	hashTTL, streams   int64    // hashes with field expires, streams with 7.0 metadata
	hashEx, streamEx   string   // an example key of each
	libraries          []string // function library names
	commands           []string // "name (N calls)" of commands the destination lacks
	errs               []string
	hashSeen, strmSeen int64
	streamKeys         bool // streams counted are whole keys the destination lacks (before 5.0)
}

// checkDowngrade names each feature in use on the source that a destination older
// than the source cannot hold, with its count (keys sampled with SCAN ... TYPE,
// hash field expires probed with HRANDFIELD + HTTL, functions from FUNCTION LIST,
// streams' entries-added, max-deleted id and groups' entries-read from XINFO, the
// commands from INFO commandstats), and says what sync will do with it under
// cfg.Downgrade.
func checkDowngrade(ctx context.Context, cfg Config, src, dst *side) Result {
	oldest := dst.primaries()[0]
	for _, n := range dst.primaries() {
		if versionLess(n, oldest) {
			oldest = n
		}
	}
	dmaj, dmin := version(oldest)
	var total usage
	older := false
	for _, n := range src.primaries() {
		if !versionLess(oldest, n) {
			continue
		}
		older = true
		u := survey(ctx, cfg, n, dmaj, dmin)
		total.merge(u)
	}
	dv := oldest.info["redis_version"]
	if !older {
		return Result{Pass, "downgrade", fmt.Sprintf("the destination (%s) is not older than any source master: nothing to leave out", serverName(oldest)), ""}
	}
	var found []string
	if total.hashTTL > 0 {
		found = append(found, fmt.Sprintf("hash field expires (Redis 7.4) on %d of %d hashes sampled (e.g. %q)", total.hashTTL, total.hashSeen, total.hashEx))
	}
	if len(total.libraries) > 0 {
		found = append(found, fmt.Sprintf("%d function librar%s (Redis 7.0: %s)", len(total.libraries), plural(len(total.libraries), "y", "ies"), strings.Join(total.libraries, ", ")))
	}
	if total.streams > 0 && total.streamKeys {
		found = append(found, fmt.Sprintf("streams (Redis 5.0): %d keys sampled (e.g. %q)", total.streams, total.streamEx))
	} else if total.streams > 0 {
		found = append(found, fmt.Sprintf("streams' entries-added, max-deleted id or consumer groups' entries-read (Redis 7.0, the groups' lag) on %d of %d streams sampled (e.g. %q)", total.streams, total.strmSeen, total.streamEx))
	}
	if len(total.commands) > 0 {
		sort.Strings(total.commands)
		found = append(found, "commands the destination lacks, called on the source since its start: "+strings.Join(total.commands, ", "))
	}
	head := fmt.Sprintf("destination %s is older than the source; %d key%s sampled", serverName(oldest), total.scanned, plural(int(total.scanned), "", "s"))
	if len(total.errs) > 0 {
		head += " (not surveyed: " + strings.Join(total.errs, "; ") + ")"
	}
	if len(found) == 0 {
		return Result{Pass, "downgrade", head + ": nothing in use that Redis " + dv + " cannot hold", ""}
	}
	msg := head + ": in use on the source: " + strings.Join(found, "; ")
	if cfg.Downgrade == "drop" {
		return Result{Warn, "downgrade", msg + ". sync (--downgrade drop) leaves them out and counts them (INFO xsync downgrade_dropped)",
			"a destination of the source's version keeps them"}
	}
	return Result{Fail, "downgrade", msg + ". sync (--downgrade stop, the default) stops at the first such key or command, naming it",
		"use a destination of the source's version, or --downgrade drop to sync without them (counted in INFO xsync downgrade_dropped)"}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (u *usage) merge(o usage) {
	u.scanned += o.scanned
	u.streamKeys = u.streamKeys || o.streamKeys
	u.hashTTL += o.hashTTL
	u.streams += o.streams
	u.hashSeen += o.hashSeen
	u.strmSeen += o.strmSeen
	if u.hashEx == "" {
		u.hashEx = o.hashEx
	}
	if u.streamEx == "" {
		u.streamEx = o.streamEx
	}
	u.libraries = append(u.libraries, o.libraries...)
	u.commands = append(u.commands, o.commands...)
	u.errs = append(u.errs, o.errs...)
}

// survey looks at one source master for what a destination of version
// dmaj.dmin cannot hold.
func survey(ctx context.Context, cfg Config, n *node, dmaj, dmin int) usage {
	var u usage
	c := redis.NewClient(clientOpts(cfg.Source, n.addr, cfg.Timeout))
	defer c.Close()
	smaj, smin := version(n)
	atLeast := func(maj, min, a, b int) bool { return maj > a || maj == a && min >= b }
	if atLeast(smaj, smin, 7, 4) && !atLeast(dmaj, dmin, 7, 4) {
		u.scan(ctx, c, "hash", cfg.SampleKeys, func(key string) (bool, error) { return hashHasTTL(ctx, c, key) })
	}
	if atLeast(smaj, smin, 7, 0) && !atLeast(dmaj, dmin, 7, 0) {
		libs, err := c.Do(ctx, "FUNCTION", "LIST").Slice()
		if err != nil {
			u.errs = append(u.errs, n.addr+": FUNCTION LIST: "+err.Error())
		}
		for _, l := range libs {
			if m, ok := l.(map[any]any); ok {
				u.libraries = append(u.libraries, fmt.Sprint(m["library_name"]))
			} else if a, ok := l.([]any); ok {
				for i := 0; i+1 < len(a); i += 2 {
					if a[i] == "library_name" {
						u.libraries = append(u.libraries, fmt.Sprint(a[i+1]))
					}
				}
			}
		}
		u.scan(ctx, c, "stream", cfg.SampleKeys, func(key string) (bool, error) { return streamHasMeta(ctx, c, key) })
	}
	if atLeast(smaj, smin, 5, 0) && !atLeast(dmaj, dmin, 5, 0) {
		// SCAN ... TYPE needs 6.0 on the source; a 5.0 source is reported as not surveyed.
		u.scan(ctx, c, "stream", cfg.SampleKeys, func(string) (bool, error) { return true, nil })
		u.streamKeys = true
	}
	stats, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		u.errs = append(u.errs, n.addr+": INFO commandstats: "+err.Error())
		return u
	}
	calls := map[string]int64{}
	for k, val := range parseInfo(stats) {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		name, sub, _ := strings.Cut(name, "|") // 7.0+: "function|load"
		if name == "function" && !functionWrites[sub] {
			continue // FUNCTION LIST, DUMP, STATS: not replicated
		}
		for _, part := range strings.Split(val, ",") {
			if c, ok := strings.CutPrefix(part, "calls="); ok {
				n, _ := strconv.ParseInt(c, 10, 64)
				calls[name] += n
			}
		}
	}
	for name, n := range calls {
		v, what, ok := translate.CommandSince(name)
		if !ok || n == 0 || atLeast(dmaj, dmin, v.Major, v.Minor) || propagatedAsOther[name] {
			continue
		}
		u.commands = append(u.commands, fmt.Sprintf("%s (%s, Redis %d.%d: %d call%s)", strings.ToUpper(name), what, v.Major, v.Minor, n, plural(int(n), "", "s")))
	}
	return u
}

// functionWrites are the FUNCTION subcommands a master replicates.
var functionWrites = map[string]bool{"load": true, "delete": true, "flush": true, "restore": true}

// propagatedAsOther are commands that a 5.0+ master replicates as other commands
// (GETDEL as DEL, XAUTOCLAIM as XCLAIM, BLMOVE as LMOVE, LMPOP as LPOP, FCALL as
// its effects): the destination never sees them.
var propagatedAsOther = map[string]bool{"getdel": true, "xautoclaim": true, "blmove": true, "lmpop": true, "blmpop": true,
	"zmpop": true, "bzmpop": true, "fcall": true}

// scan walks up to limit keys of one type and counts those that have.
func (u *usage) scan(ctx context.Context, c *redis.Client, typ string, limit int64, has func(string) (bool, error)) {
	var cursor uint64
	var seen int64
	for {
		keys, next, err := c.ScanType(ctx, cursor, "*", 1000, typ).Result()
		if err != nil {
			u.errs = append(u.errs, fmt.Sprintf("SCAN TYPE %s: %v", typ, err))
			return
		}
		u.scanned += int64(len(keys))
		for _, k := range keys {
			seen++
			ok, err := has(k)
			if err != nil {
				u.errs = append(u.errs, fmt.Sprintf("%q: %v", k, err))
				return
			}
			if !ok {
				continue
			}
			if typ == "hash" {
				u.hashTTL++
				if u.hashEx == "" {
					u.hashEx = k
				}
			} else {
				u.streams++
				if u.streamEx == "" {
					u.streamEx = k
				}
			}
		}
		if typ == "hash" {
			u.hashSeen = seen
		} else {
			u.strmSeen = seen
		}
		cursor = next
		if cursor == 0 || seen >= limit {
			return
		}
	}
}

// hashHasTTL: a small hash with field expires is encoded listpackex; a large one
// (hashtable) is probed with HTTL on up to 16 random fields.
func hashHasTTL(ctx context.Context, c *redis.Client, key string) (bool, error) {
	enc, err := c.ObjectEncoding(ctx, key).Result()
	if err != nil {
		return false, err
	}
	switch enc {
	case "listpackex":
		return true, nil
	case "hashtable":
	default:
		return false, nil
	}
	fields, err := c.HRandField(ctx, key, 16).Result()
	if err != nil || len(fields) == 0 {
		return false, err
	}
	args := []any{"HTTL", key, "FIELDS", len(fields)}
	for _, f := range fields {
		args = append(args, f)
	}
	ttls, err := c.Do(ctx, args...).Int64Slice()
	if err != nil {
		return false, err
	}
	for _, t := range ttls {
		if t >= 0 {
			return true, nil
		}
	}
	return false, nil
}

// streamHasMeta reports whether a stream holds 7.0 metadata that an older
// server loses: entries-added other than its length, a max-deleted id, or a
// group's known entries-read (what XINFO GROUPS' lag is computed from).
func streamHasMeta(ctx context.Context, c *redis.Client, key string) (bool, error) {
	info, err := c.Do(ctx, "XINFO", "STREAM", key).Slice()
	if err != nil {
		return false, err
	}
	m := map[string]any{}
	for i := 0; i+1 < len(info); i += 2 {
		m[fmt.Sprint(info[i])] = info[i+1]
	}
	if fmt.Sprint(m["entries-added"]) != fmt.Sprint(m["length"]) || fmt.Sprint(m["max-deleted-entry-id"]) != "0-0" {
		return true, nil
	}
	groups, err := c.Do(ctx, "XINFO", "GROUPS", key).Slice()
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		a, _ := g.([]any)
		for i := 0; i+1 < len(a); i += 2 {
			if a[i] == "entries-read" && a[i+1] != nil {
				return true, nil
			}
		}
	}
	return false, nil
}
