// Package fidelity is a differential replication fuzzer: it writes random,
// valid invocations of every write (or may-replicate) command of a source
// Redis, in batches, while xsync replicates the source into a destination,
// and after every batch compares the destination key by key with a native
// replica of the same source (REPLICAOF), which is the reference: whatever
// Redis's own replication leaves on a replica is what xsync must leave on the
// destination, so effects that no replica ever sees (a command that failed, a
// REPLICAOF queued in MULTI) do not count. It compares against the source as
// well and reports, apart, the keys where the source differs from its own
// replica.
//
// The command grammar comes from the source's COMMAND DOCS (servers before
// 7.0 have none: the 7.0.15 capture in slots/testdata stands in, limited to
// the commands the server's COMMAND lists). Every argument type of the docs
// (key, string, integer, double, unix-time, pattern, pure-token, oneof,
// block; optional, multiple) has a generator; key names come from per-type
// pools, so that commands meet keys of the type they expect. A few commands
// get hand-written generators on top: scripts and functions that write,
// MULTI/EXEC with queued errors, blocking pops served by a later push, SORT
// with BY/GET patterns, RESTORE of a DUMP payload, CONFIG SET of encoding
// thresholds, SELECT/MOVE/SWAPDB where the setup allows.
//
// Comparison: per key, the type, the content (DEBUG DIGEST-VALUE when both
// sides have it, a canonical read otherwise) and the TTL within a tolerance.
// On a difference, the run shrinks the command log to the shortest sequence
// it can that still shows it (replaying candidates on emptied servers) and
// prints it with the seed.
//
// What it does not cover: a standalone source's several dbs into a cluster
// (db prefixes; the standalone -> cluster setup uses db 0), source failovers
// and reshards during the run (tests/e2e has them), PUBLISH, MIGRATE,
// FLUSHALL, and XREADGROUP (its BLOCK would block the connection). Known
// differences it can show: between versions, a source may accept what the
// destination refuses (a SINTERSTORE from a source before 6.0.15/6.2.4 with a
// missing key before a key of another type deletes the destination key; later
// versions answer WRONGTYPE: xsync keeps the source's effect when it emulates
// the command across slots, not yet when it sends it as is), and an
// evaluated SORT ... ALPHA BY a pattern orders equal values in the source
// key's order where Redis leaves them to qsort.
//
// Setups: standalone -> cluster, cluster -> cluster with another shard count,
// standalone -> standalone with several dbs. TestFidelity runs each briefly
// with a fixed seed; `make fidelity` (FIDELITY_TIME, FIDELITY_SEED,
// FIDELITY_SETUP, FIDELITY_SOURCE_BINARY, FIDELITY_TARGET_BINARY) runs as long
// as asked and prints commands per second, coverage and differences.
package fidelity
