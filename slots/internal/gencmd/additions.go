package gencmd

// hashFieldKey is the key spec of the hash-field expiry commands: the key at 1.
func hashFieldKey(flags ...string) []KeySpec {
	return []KeySpec{{Flags: flags, Begin: "index", Index: 1, Find: "range", KeyStep: 1}}
}

// Additions are the commands and subcommands that Redis added after the captured
// version (7.0.15), written by hand from the command JSON files of the Redis
// source (src/commands/*.json) of the version that added them. A subcommand is
// named "container|sub". When the capture is redone from a newer server, the
// additions it knows must be removed (Parse refuses duplicates).
var Additions = []Command{
	// Redis 7.2.
	{Name: "waitaof", Arity: 4, Flags: []string{"noscript"}, Since: "7.2.0", Group: "generic"},
	{Name: "client|no-touch", Arity: 3, Flags: []string{"noscript", "loading", "stale"}, Since: "7.2.0", Group: "connection"},
	{Name: "client|setinfo", Arity: 4, Flags: []string{"noscript", "loading", "stale"}, Since: "7.2.0", Group: "connection"},
	{Name: "cluster|myshardid", Arity: 2, Flags: []string{"stale"}, Since: "7.2.0", Group: "cluster"},

	// Redis 7.4: hash field expiry. HEXPIRE key seconds [NX|XX|GT|LT] FIELDS numfields field...
	{Name: "hexpire", Arity: -6, Flags: []string{"write", "denyoom", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "7.4.0", Group: "hash"},
	{Name: "hpexpire", Arity: -6, Flags: []string{"write", "denyoom", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "7.4.0", Group: "hash"},
	{Name: "hexpireat", Arity: -6, Flags: []string{"write", "denyoom", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "7.4.0", Group: "hash"},
	{Name: "hpexpireat", Arity: -6, Flags: []string{"write", "denyoom", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "7.4.0", Group: "hash"},
	{Name: "hpersist", Arity: -5, Flags: []string{"write", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "7.4.0", Group: "hash"},
	{Name: "httl", Arity: -5, Flags: []string{"readonly", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RO", "access"), Since: "7.4.0", Group: "hash"},
	{Name: "hpttl", Arity: -5, Flags: []string{"readonly", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RO", "access"), Since: "7.4.0", Group: "hash"},
	{Name: "hexpiretime", Arity: -5, Flags: []string{"readonly", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RO", "access"), Since: "7.4.0", Group: "hash"},
	{Name: "hpexpiretime", Arity: -5, Flags: []string{"readonly", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RO", "access"), Since: "7.4.0", Group: "hash"},

	// Redis 8.0: hash commands with field expiry that a 7.x destination lacks; a
	// source on 8.0 sends them in its stream, so they are known here too.
	{Name: "hgetdel", Arity: -5, Flags: []string{"write", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "access", "delete"), Since: "8.0.0", Group: "hash"},
	{Name: "hgetex", Arity: -5, Flags: []string{"write", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "access", "update"), Since: "8.0.0", Group: "hash"},
	{Name: "hsetex", Arity: -6, Flags: []string{"write", "denyoom", "fast"}, FirstKey: 1, LastKey: 1, Step: 1, KeySpecs: hashFieldKey("RW", "update"), Since: "8.0.0", Group: "hash"},
}

// MayReplicate lists the commands that Redis 7.0 flags MAY_REPLICATE in its command
// table (src/commands/*.json) although COMMAND does not report that flag: run on a
// master they may reach the replication stream without the "write" flag (PFCOUNT
// rewrites the cached cardinality of a HyperLogLog; scripts and PUBLISH propagate).
// The generator adds "may_replicate" to their flags.
var MayReplicate = []string{"eval", "evalsha", "fcall", "pfcount", "publish", "spublish"}
