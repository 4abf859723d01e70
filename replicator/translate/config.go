package translate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/slots"
)

// SourceKind says what the source deployment is.
type SourceKind int

const (
	// SourceCluster is a Redis Cluster source: one stream per shard, db 0 only,
	// every transaction and multi-key command within one slot.
	SourceCluster SourceKind = iota
	// SourceStandalone is a single master (possibly with several dbs): its
	// transactions and multi-key commands may span slots.
	SourceStandalone
)

// DestKind says what the destination deployment is.
type DestKind int

const (
	// DestCluster is a Redis Cluster destination: db 0 only, databases are
	// mapped to key prefixes.
	DestCluster DestKind = iota
	// DestStandalone is a single server: databases are mapped to databases.
	DestStandalone
)

// Policy says what to do with a command that the destination cannot take as is.
type Policy int

const (
	// Default (the zero value) takes the option's documented default.
	Default Policy = iota
	// Apply carries the command's effect to the destination.
	Apply
	// Ignore drops the command, counts it and logs it.
	Ignore
	// Stop makes Translate return an error naming the command and the option.
	Stop
)

func (p Policy) String() string {
	switch p {
	case Default:
		return "default"
	case Apply:
		return "apply"
	case Ignore:
		return "ignore"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Target says where the keys of one source database go.
type Target struct {
	// DB is the destination database (standalone destination only).
	DB int
	// Prefix is prepended to every key name (cluster destination; allowed on a
	// standalone destination too). It may not contain '{' or '}', so that it
	// never changes which part of a key is its hash tag.
	Prefix string
}

// Config configures a Translator. The zero value plus Source fields is valid.
type Config struct {
	// SourceKind is the kind of the source. Default SourceCluster.
	SourceKind SourceKind
	// Source is the index of the source shard; it goes into every Op. Default 0.
	Source int
	// SourceSlots are the slots the source shard owns (cluster source): FLUSHALL
	// and FLUSHDB empty only these. Required for a cluster source; ignored for a
	// standalone source (which owns every slot). Change with SetSourceSlots.
	SourceSlots []slots.Range
	// DestKind is the kind of the destination. Default DestCluster.
	DestKind DestKind
	// DestVersion chooses command forms (SET PXAT needs 6.2, RESTORE ABSTTL 5.0).
	// Default 7.0.
	DestVersion redisver.Version
	// DBs says which source databases are synced and where each goes. Default
	// (nil): a cluster destination takes db 0 unprefixed only; a standalone
	// destination takes every db into the same db number. Two dbs may not share a
	// target, and no prefix may be a prefix of the InternalPrefix.
	DBs map[int]Target
	// Include lists key patterns to sync (Redis glob syntax: * ? [a-z] [^x] \x,
	// matched against the source key name). Default: every key.
	Include []string
	// Exclude lists key patterns never to sync; it wins over Include. Default none.
	Exclude []string
	// Allow, when not empty, lists the only commands forwarded (case-insensitive).
	// Default: every command.
	Allow []string
	// Deny lists commands never forwarded (case-insensitive). Default none.
	Deny []string
	// Publish forwards PUBLISH and SPUBLISH, routed by the channel's slot.
	// Default false (dropped and counted).
	Publish bool
	// Flush is the policy for FLUSHALL and FLUSHDB. Default Apply.
	Flush Policy
	// SwapDB is the policy for SWAPDB. Default Stop. Apply needs a standalone
	// destination where both databases are synced.
	SwapDB Policy
	// Unknown is the policy for commands the command table does not know and
	// keyless commands that cannot be routed: Stop (default) or Ignore.
	Unknown Policy
	// Downgrade is the policy for commands and arguments that DestVersion
	// cannot run and that have no exact equivalent (see downgrade.go): Stop
	// (default, ErrDowngrade) or Ignore (dropped, counted in Stats.Unsupported).
	Downgrade Policy
	// InternalPrefix starts every key xsync keeps for itself; user-data ops never
	// touch such keys (a source key with it is dropped). Default "__xsync:".
	InternalPrefix string
	// KeyPrefix is put before every destination key name (before the DBs
	// prefix): the job's keys on a destination shared with other jobs. No
	// braces (a key's hash tag stays its hashed part). Default "": none.
	KeyPrefix string
	// Owns are destination key globs (Redis glob syntax) that are this job's,
	// for keys whose names already tell the sources apart. With KeyPrefix, a key
	// must match both. Default none.
	Owns []string
	// Others are the other jobs writing to this destination, with the keys they
	// declared (from the registry). A write to one of their keys is a collision
	// (Collision); an unscoped flush refuses to run while there are others.
	// Default none.
	Others []Owner
	// Collision is the policy for a write to a key of another job: Apply (write
	// it and count it, the default, like --conflict replace), Ignore (drop and
	// count, --conflict skip) or Stop (--conflict stop).
	Collision Policy
	// SharedGuard, when set, is asked before an unscoped flush (or emptying)
	// runs: it returns the other jobs registered on the destination by then, and
	// the flush refuses to run when there are any. Default nil: only Others.
	SharedGuard func(ctx context.Context, d apply.Dest) ([]string, error)
	// Scripts receives the body of every script seen (EVAL, SCRIPT LOAD) so that
	// the applier can answer NOSCRIPT. Default: a new ScriptCache.
	Scripts Scripts
	// Logger receives warnings about skipped commands. Default: discard.
	Logger *slog.Logger
	// Now is the clock used where no receive time is given. Default time.Now.
	Now func() time.Time

	prefixed bool // KeyPrefix is in DBs already (validate ran)
}

// Errors returned by Translate and New.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("xsync/translate: invalid config")
	// ErrUnknown reports a command that cannot be translated (policy Stop).
	ErrUnknown = errors.New("xsync/translate: unknown or unroutable command")
	// ErrPolicy reports a command stopped by a Stop policy.
	ErrPolicy = errors.New("xsync/translate: stopped by policy")
	// ErrDowngrade reports a command the destination's version cannot run
	// (policy Downgrade Stop).
	ErrDowngrade = errors.New("xsync/translate: not supported by the destination")
	// ErrSyntax reports a malformed command (wrong arity, bad number).
	ErrSyntax = errors.New("xsync/translate: malformed command")
)

const defaultInternalPrefix = "__xsync:"

// validate fills defaults and rejects bad combinations.
func (c *Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.SourceKind != SourceCluster && c.SourceKind != SourceStandalone {
		return bad("SourceKind %d", c.SourceKind)
	}
	if c.DestKind != DestCluster && c.DestKind != DestStandalone {
		return bad("DestKind %d", c.DestKind)
	}
	if c.Source < 0 {
		return bad("Source %d is negative", c.Source)
	}
	if c.SourceKind == SourceCluster {
		if len(c.SourceSlots) == 0 {
			return bad("a cluster source needs SourceSlots (the slots shard %d owns)", c.Source)
		}
		if err := checkRanges(c.SourceSlots); err != nil {
			return bad("%v", err)
		}
	}
	if c.DestVersion == (redisver.Version{}) {
		c.DestVersion = redisver.Version{Major: 7, Minor: 0}
	}
	if c.InternalPrefix == "" {
		c.InternalPrefix = defaultInternalPrefix
	}
	for _, p := range []struct {
		name string
		p    *Policy
		def  Policy
	}{{"Flush", &c.Flush, Apply}, {"SwapDB", &c.SwapDB, Stop}, {"Unknown", &c.Unknown, Stop}, {"Collision", &c.Collision, Apply}, {"Downgrade", &c.Downgrade, Stop}} {
		if *p.p < Default || *p.p > Stop {
			return bad("%s policy %d", p.name, *p.p)
		}
		if *p.p == Default {
			*p.p = p.def
		}
	}
	if c.Downgrade == Apply {
		return bad("Downgrade policy Apply (what the destination cannot run can only be dropped or stop the stream)")
	}
	if c.Unknown == Apply {
		return bad("Unknown policy Apply (an unknown command can only be ignored or stop the stream)")
	}
	if c.SwapDB == Apply && c.DestKind != DestStandalone {
		return bad("SwapDB Apply needs a standalone destination (a cluster has one db)")
	}
	if c.DBs == nil {
		if c.DestKind == DestCluster {
			c.DBs = map[int]Target{0: {}}
		}
	}
	if c.SourceKind == SourceCluster && c.DBs != nil {
		if _, ok := c.DBs[0]; !ok {
			return bad("a cluster source has only db 0, which DBs does not sync")
		}
	}
	if strings.ContainsAny(c.KeyPrefix, "{}") {
		return bad("KeyPrefix %q contains a brace (it would change hash tags)", c.KeyPrefix)
	}
	if c.KeyPrefix != "" && strings.HasPrefix(c.InternalPrefix, c.KeyPrefix) {
		return bad("KeyPrefix %q covers the internal prefix %q", c.KeyPrefix, c.InternalPrefix)
	}
	for _, g := range c.Owns {
		if g == "" {
			return bad("empty Owns glob")
		}
	}
	if c.KeyPrefix != "" && !c.prefixed {
		// The key prefix goes before each database's prefix; a standalone
		// destination without DBs keeps every db and adds it there (filter.go).
		dbs := make(map[int]Target, len(c.DBs))
		for db, tg := range c.DBs {
			tg.Prefix = c.KeyPrefix + tg.Prefix
			dbs[db] = tg
		}
		if c.DBs != nil {
			c.DBs = dbs
		}
		c.prefixed = true
	}
	if c.SwapDB == Apply && len(c.Others) > 0 {
		return bad("SwapDB Apply on a destination shared with other jobs (%s): it would swap their keys too", c.Others[0].Name)
	}
	seen := make(map[Target]int, len(c.DBs))
	for _, db := range slices.Sorted(maps.Keys(c.DBs)) {
		tg := c.DBs[db]
		if db < 0 {
			return bad("DBs: negative db %d", db)
		}
		if strings.ContainsAny(tg.Prefix, "{}") {
			return bad("DBs[%d]: prefix %q contains a brace (it would change hash tags)", db, tg.Prefix)
		}
		if tg.Prefix != "" && strings.HasPrefix(c.InternalPrefix, tg.Prefix) {
			return bad("DBs[%d]: prefix %q covers the internal prefix %q", db, tg.Prefix, c.InternalPrefix)
		}
		if c.DestKind == DestCluster && tg.DB != 0 {
			return bad("DBs[%d]: a cluster destination has db 0 only (use Prefix)", db)
		}
		if other, dup := seen[tg]; dup {
			return bad("DBs[%d] and DBs[%d] have the same target", db, other)
		}
		seen[tg] = db
	}
	for _, lst := range [][]string{c.Include, c.Exclude} {
		for _, p := range lst {
			if p == "" {
				return bad("empty key pattern")
			}
		}
	}
	if c.Scripts == nil {
		c.Scripts = NewScriptCache()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func checkRanges(rs []slots.Range) error {
	for _, r := range rs {
		if r.Start < 0 || r.End >= slots.NumSlots || r.Start > r.End {
			return fmt.Errorf("slot range %d-%d out of 0-%d", r.Start, r.End, slots.NumSlots-1)
		}
	}
	return nil
}
