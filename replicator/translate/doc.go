// Package translate turns the replication stream of one source shard into
// apply.Ops for a destination Redis Cluster (or standalone server), with the
// cluster semantics that a naive forwarder gets wrong.
//
// A Translator serves one source shard (one link). The link calls
// Translate(db, args, offset, recv) for every command of the stream; the
// result is zero or more ops, valid until the next call, which the caller
// submits to the applier in order. Every op carries the source index, the
// destination slot that orders it, the RESP-encoded command(s), their count
// and the first key; only the last op of a command carries the command's
// offset (the others carry 0), so the applied offset never passes a command
// that is half applied. KeyFilter gives the snapshot path the same db and key
// rules.
//
// # Rules
//
// Routing. A command is routed by the slot of its keys (as slots.KeyIndexes
// finds them), after renaming each key to its destination name. PING,
// REPLCONF and SELECT are consumed (the link tracks the db). Read-only
// commands and admin commands (CONFIG, CLIENT, DEBUG, CLUSTER, ...) are
// dropped, counted and logged. A command the command table does not know, or a
// known command without a key to route by, follows Config.Unknown: Stop
// (default, an error naming the command and the option) or Ignore (skipped,
// counted, logged).
//
// Transactions. MULTI ... EXEC is buffered and emitted at EXEC. From a cluster
// source a transaction touches one slot, so it becomes one op holding the whole
// MULTI..EXEC group (N counts MULTI and EXEC). From a standalone source it may
// span slots: it becomes one MULTI/EXEC group per slot, so each slot's part is
// atomic but the parts are not atomic with each other; that per-slot atomicity
// is all a Redis Cluster can give (it refuses a MULTI whose keys span slots,
// even on one node). A command inside that needs a barrier (below) or runs on
// every master splits the transaction at that point: the groups before it are
// emitted before it, the groups after it after it. The last op carries EXEC's
// offset. An empty transaction, or one whose commands were all dropped, emits
// nothing. On a standalone destination a transaction stays whole. Call Reset
// when the link starts a full resync; a partial resync continues the stream at
// the byte where it stopped, so a half-received transaction stays buffered.
//
// Multi-key commands across slots (standalone source, cluster destination).
// Commands that act on each key independently are split per slot, keys of one
// slot staying together in their original order: MSET, MSETNX (propagated only
// when it succeeded, so it is an MSET), DEL, UNLINK, TOUCH. Every other command
// whose keys span slots is emulated exactly with a barrier op, which the
// applier runs after every earlier op of the source is applied and before any
// later one starts: each key the command reads is copied (DUMP and PEXPIRETIME,
// or PTTL before 7.0, then RESTORE ... REPLACE [ABSTTL]) into a temporary key
// <internal prefix>tmp:{<tag>}:<source>:<n>, where <tag> is a precomputed string
// that hashes to the slot of the command's first written key (a go:generate'd
// 16384-entry table); the command runs there with its keys replaced by the
// temporaries; each key it may write is copied back (or deleted when its
// temporary no longer exists), and the temporaries are deleted. Which keys are
// read and which written follows the key-spec flags: RO keys are not written
// back, OW destinations (the *STORE family, BITOP, RENAME's target, SORT
// STORE; not GEORADIUS's STORE and STOREDIST, of which only the last given is
// written) are not copied in; every other key (and every key of a
// command not in the table) is both. This covers RENAME, RENAMENX, SMOVE,
// RPOPLPUSH, LMOVE (BRPOPLPUSH and BLMOVE arrive as these), SUNIONSTORE,
// SINTERSTORE, SDIFFSTORE, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZRANGESTORE,
// BITOP, PFMERGE, COPY, SORT ... STORE, GEORADIUS ... STORE, and EVAL, EVALSHA
// and FCALL whose declared keys span slots. Keys in one slot: the command is
// forwarded as it is. A cluster source cannot send cross-slot commands, but a
// db prefix may move keys of one source slot apart: the same rules apply. A
// standalone destination takes any key set: nothing is split or emulated.
// SORT ... BY/GET pattern ... STORE on a cluster destination (which refuses
// patterns before 7.4, and from 7.4 on unless their hash slot is the key's):
// routed as it is (patterns prefixed like the keys) when the destination is
// 7.4+ and every key the patterns can form shares the slot of the keys;
// otherwise a barrier evaluates it as sort.c does (numeric or ALPHA, binary
// comparison, BY nosort keeping a list's or zset's order, a set's forced to
// ALPHA, LIMIT, GET # and hash fields) over the keys as they stand on the
// destination, and stores the result with RPUSH into a temporary key renamed
// onto the destination key. Ties of an ALPHA sort BY a pattern keep the
// source key's order (Redis leaves them to qsort). XADD and XTRIM with an
// exact trim (=, as Redis propagates ~) lose their LIMIT, which a client may
// not send with =. Limits: a script that touches keys it did not declare reads
// keys the emulation cannot know about.
//
// FLUSHALL and FLUSHDB (Config.Flush: Apply, the default; Ignore; Stop) never
// reach the destination as such, since that would delete other source shards'
// keys and xsync's own. Apply emits a barrier that deletes exactly what the
// command emptied on the source: keys of the flushed dbs (by prefix, a longer
// prefix of another synced db winning), that the key filter includes, that do
// not start with the internal prefix and, from a cluster source, whose source
// slot the shard owns (Config.SourceSlots, updated with SetSourceSlots). On a
// cluster destination it walks the slots (only the shard's own slots when the
// db has no prefix, otherwise every slot), skips those where CLUSTER
// COUNTKEYSINSLOT is 0, and deletes with CLUSTER GETKEYSINSLOT + DEL in
// batches. We chose this per-slot path over FLUSHALL on every master (which
// would delete internal keys and other shards' keys) and over SCAN (which
// cannot be limited to a shard's slots). On a standalone destination it uses
// SELECT + SCAN + DEL.
//
// A destination shared with other jobs (several sources merged into one,
// scope.go): Config.KeyPrefix puts every key under a prefix before the db
// prefix (no braces, so a hash tag stays the hashed part), and Config.Owns
// declares globs of keys already told apart. With either, a flush (and
// EmptyOp) SCANs every destination master with MATCH on the prefix or globs
// and UNLINKs the job's keys of the shard's source slots in batches, still as
// a barrier; a cluster's batch goes through a script with undeclared keys,
// since they span slots. Unscoped, a flush asks Config.SharedGuard first and
// refuses to run (ErrShared) while other jobs are registered. Writes, MOVEs
// and snapshot keys into keys another job declared (Config.Others) are
// collisions under Config.Collision.
//
// Expires. Relative expires become absolute, computed from the time the link
// RECEIVED the command (Translate's recv), so that replication lag does not
// stretch them: EXPIRE and PEXPIRE become PEXPIREAT; HEXPIRE and HPEXPIRE
// become HPEXPIREAT; SETEX, PSETEX and SET .. EX/PX become SET .. PXAT on a
// 6.2+ destination, otherwise SET + PEXPIREAT in one MULTI (inline inside a
// transaction); GETEX EX/PX/EXAT/PXAT becomes PEXPIREAT and GETEX PERSIST
// becomes PERSIST (GETEX without an option writes nothing and is dropped);
// RESTORE with a relative ttl gets an absolute one and ABSTTL on a 5.0+
// destination (before 5.0, an ABSTTL ttl is made relative to Config.Now, and
// an already expired one becomes DEL). RESTORE-ASKING becomes RESTORE.
// Absolute forms (EXPIREAT, PEXPIREAT, SET .. EXAT/PXAT on 6.2+) pass as they
// are.
//
// Databases. Config.DBs says which source dbs are synced and where each goes: a
// key prefix on a cluster destination (it has db 0 only), a db number (and
// optionally a prefix) on a standalone destination. Commands in an unsynced db
// are dropped. By default a cluster destination takes db 0 unprefixed and a
// standalone destination takes every db into the same number. On a standalone
// destination an op for a db other than 0 is wrapped in SELECT n ... SELECT 0,
// so every op leaves its connection in db 0. MOVE key db: both dbs synced
// becomes RENAME between the mapped names on a cluster destination (emulated
// when they are in different slots) or MOVE between the mapped dbs on a
// standalone one; a target db that is not synced makes it a DEL; a source db
// that is not synced (the value was never synced) makes it skipped, counted
// and logged. COPY ... DB n copies into db n's mapping: the option goes and
// the destination key takes db n's prefix on a cluster destination (which
// refuses DB), DB names db n's destination db on a standalone one, and a db n
// that is not synced makes the copy dropped. SWAPDB (Config.SwapDB): Stop by default, with an error naming
// the command and the option; Ignore drops it; Apply (standalone destination,
// both dbs synced with the same prefix) swaps the mapped dbs.
//
// Scripts and functions. Redis 4.0 propagates EVAL verbatim (5.0+ propagate the
// effects inside MULTI/EXEC): EVAL, EVALSHA and FCALL are routed by their
// declared keys, emulated when those span slots, and skipped under
// Config.Unknown when they declare none (they cannot be routed). Every EVAL body
// and SCRIPT LOAD body goes to Config.Scripts (LoadScript; *apply.Applier
// implements it) so that the applier can answer NOSCRIPT; SCRIPT LOAD also runs
// on every master. Other SCRIPT subcommands are dropped. FUNCTION LOAD, DELETE,
// FLUSH and RESTORE run on every master (Slot apply.AllMasters).
//
// PUBLISH and SPUBLISH are forwarded, routed by the channel's slot, only when
// Config.Publish is on; otherwise dropped and counted.
//
// Filters. Config.Include and Config.Exclude (Redis glob patterns, see Match)
// and the internal prefix apply to every key of a command: a command whose keys
// are all excluded is dropped; when only some are, a per-key command (MSET,
// DEL, ...) keeps the included keys, and any other command is skipped, counted
// (Stats.Mixed) and logged, since running it on part of its keys would write
// something the source never had. Config.Allow and Config.Deny filter commands
// by name. Keys starting with the internal prefix (default "__xsync:") are
// never touched by user-data ops: xsync keeps its checkpoints there.
//
// Errors are values prefixed "xsync/translate: "; malformed input (wrong
// arity, bad numbers) is an error, never a panic. The steady state of the
// single-key path allocates nothing (see TestAllocs).
package translate
