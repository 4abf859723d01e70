// Package matrix runs xsync end to end between the server versions people migrate
// between: Redis 3.2 to 7.4 and Valkey 8.0 (../shared/redis/) and Debian's 7.0.
// The pairs: every version as a cluster source into 7.0; 7.0 into every version as
// a cluster destination; standalone 4.0 and 5.0 sources with databases 0, 1 and 5
// into a 7.4 cluster (db N under the prefix "dbN:"); the downgrades 7.4 -> 7.0, 7.4
// -> 7.2, 7.4 -> Valkey 8.0, 7.2 -> 6.2, 6.2 -> 5.0 and Valkey 8.0 -> 7.4; a source
// failover on 3.2 (PSYNC1), 4.0 and 7.4 clusters; and a kill -9 of the xsync
// process, then its resume from the checkpoints, on 4.0 and 7.4 clusters.
//
// Each pair fills the source (clusters of 2 masters) with every type loadgen makes
// and the source has, starts xsync, writes for a while (tests/loadgen), waits until
// xsync has applied the masters' offsets, and compares both sides with
// replicator/verify (and tests/keycmp for prefixed databases). TestMatrix logs a
// table of the pairs: keys, writes, seconds, result.
//
// What a pair leaves out of its data set and writes, so that it holds only what
// both sides can carry (what xsync does with the rest is its downgrade policy,
// tested elsewhere):
//   - what the older of the two servers lacks: streams before 5.0; GETEX, GETDEL,
//     COPY, LMOVE and SET .. PXAT before 6.2; UNLINK before 4.0 (loadgen.ServerVersion);
//   - 7.4's hash-field TTLs (HEXPIRE and friends): loadgen writes none;
//   - PFMERGE where one side is 3.2: its HyperLogLogs are always dense, 4.0's stay
//     sparse, so the same value is a different string.
//
// XSYNC_MATRIX_SECONDS sets the seconds of writes (default 10, 3 under -short);
// XSYNC_MATRIX_KEYS the keys filled (default 300, plus one big key of each kind);
// XSYNC_MATRIX_PARALLEL the pairs run at once (default 4).
package matrix
