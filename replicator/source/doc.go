// Package source follows a source Redis deployment as a replica: one Link per
// source node, and a Source that discovers the nodes of a cluster (or a standalone
// server) and keeps one Link per shard.
//
// # Link
//
// A Link is one replica connection, driven by Run until its context ends:
//
//	AUTH (conn.Dial)          user + password, or password
//	REPLCONF listening-port <Config.ListeningPort>
//	REPLCONF capa eof capa psync2
//	PSYNC <replid> <offset+1> (resume)   or   PSYNC ? -1 (full sync)
//
// +FULLRESYNC <replid> <offset> is followed (after optional "\n" keep-alives) by the
// snapshot, $<len>\r\n<bytes> from a disk-based master or $EOF:<40-byte mark>\r\n
// <bytes><mark> from a diskless one. The Handler reads it as an io.Reader while it
// arrives: nothing buffers the whole file (the EOF-marked form is read with a holdback
// of less than 40 bytes), unless Config.SpoolDir asks to spool it to disk first.
// Config.SnapshotRateLimit caps its rate. Before a full sync the link reads CONFIG
// and INFO and logs a warning when client-output-buffer-limit replica or
// repl-backlog-size look too small for the writes expected during the transfer.
//
// Once the last snapshot byte is received the link sends REPLCONF ACK <offset> and
// then one every Config.AckInterval (1s), always: a diskless master holds the stream
// back until the first ACK. +CONTINUE [<replid>] resumes from the backlog; a new
// replid (PSYNC2, after a failover of the source) is adopted and passed to
// Handler.Continue.
//
// In the stream every byte counts in the offset. PING, SELECT and REPLCONF (GETACK
// is answered with REPLCONF ACK <offset after it>) are consumed by the link and
// reported to an optional Progresser, so that an applied offset can reach the
// master's offset on an idle source; SELECT sets the db passed with each later
// command. Everything else goes to Handler.Command with the offset just after it.
// The link consumes SELECT rather than passing it on, because every command already
// carries its db and a cluster destination refuses SELECT.
//
// A session that fails for a reason reconnecting can fix (network, timeout — no byte
// for Config.ReadTimeout, 60s —, LOADING, NOMASTERLINK, a malformed stream) is retried
// after a jittered, capped exponential backoff, with PSYNC from the last offset
// handled; a failure during the snapshot leads to a new full sync. Like a Redis
// replica, the link counts a transaction as handled only at its EXEC: a session lost
// inside MULTI resumes at the MULTI, and Handler.Continue receives the offset before
// it so the Handler drops the unfinished transaction. Wrong credentials, a user
// without replication permission (NOPERM), a source that blocks the replication
// commands (managed services) and Handler errors end Run with that error. Status returns the link's state and counters (atomics) for INFO and
// metrics. Resuming after a restart needs the replid, the offset and the db at that
// offset (Config.ReplID, Offset, DB): store all three in checkpoints.
//
// # Source
//
// A Source reads the topology from any seed (CLUSTER SHARDS on 7.0+, CLUSTER NODES,
// then CLUSTER SLOTS on 4.0–6.2; a standalone server, which answers "cluster support
// disabled", is one shard owning every slot; when that seed is a replica, its master
// is the shard's master and the seed its replica) and runs one Link per master (or
// per replica with FollowReplica), under one errgroup. It re-reads the topology every
// TopologyInterval (10s) and whenever a link fails.
//
// Shards and routing: every shard gets a stable Index, from 0 in discovery order,
// for the life of the Source. Config.NewShard is called once per new shard
// with its ShardInfo (Index, slot Ranges, Master, followed Node) and returns the
// shard's Handler and where to resume it (ShardStart), so the caller knows which
// shard every Handler call belongs to: route each shard's commands and record each
// shard's offsets through that Handler. NewShard may also return ShardStart.Skip
// (scale-out: another process follows the shard): the shard then gets no link and
// is not offered again while it stays in the topology. A shard found again in a later read is
// recognised by any node it shares with the known shard (the master's replica that
// took over, the demoted old master), so after a failover the same Handler goes on:
// the old link is stopped, and a new one follows the new master with PSYNC from the
// old link's replid and offset (the new master's backlog continues the stream:
// +CONTINUE, no full sync). A master added to the cluster becomes a new shard even
// before it owns slots, so keys migrated to it (RESTORE-ASKING) are not missed. A
// shard absent from three reads in a row is stopped. OnEvent reports ShardAdded,
// ShardNodeChanged, ShardRangesChanged and ShardRemoved; Shards returns every
// shard with its link status.
package source
