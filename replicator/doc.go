// Package replicator keeps a destination Redis (a cluster or a standalone server) in
// step with a source Redis (a cluster or a standalone server): it is the wiring
// between the packages below it. A Replicator follows every shard of the source
// through one replica link, turns the snapshot and the replication stream of each
// into operations, and applies them to the destination, per slot, exactly once
// across restarts.
//
// # Data flow
//
//	source master ──PSYNC──▶ source.Link ──▶ shard (a source.Handler, one per source shard)
//	                                          │ FullSync: rdb.Decoder ─▶ snapshot.Converter ─▶ batched ops
//	                                          │ Command:  translate.Translator ─▶ ops (+ checkpoint)
//	                                          ▼
//	                                   apply.Applier ──▶ per-node pipelines ──▶ destination masters
//
// source.Source discovers the source's shards and keeps one source.Link per shard
// master; for each new shard it asks the Replicator (newShard) for a Handler. That
// handler is a shard: FullSync decodes the snapshot while it arrives (rdb), converts
// each record into RESTORE or bounded chunks of plain commands (snapshot) and hands
// the ops to the applier in batches; Command translates each stream command into
// destination ops (translate: cluster semantics, filters, expiries, multi-key
// emulation), wraps each in its slot's checkpoint and submits it. apply.Applier
// routes every op by slot to the destination master's pipelined connections.
//
// # Files
//
//   - replicator.go: Config, New, Run (starts the goroutines below), Pause/Resume,
//     newShard (a shard per source shard, resuming from its checkpoints), the source
//     offset poller and Recheck (an op whose reply was lost: was it applied?).
//   - shard.go: the shard, its stream path (Command, Continue, Progress) and status.
//   - fullsync.go: the snapshot path (FullSync), emptying a shard's slots before a
//     full resync, conflicts with keys already on the destination.
//   - snapbatch.go: snapshot ops collected into apply.Applier.SubmitBatch batches.
//   - restore.go: a stream RESTORE whose payload is newer than the destination
//     reads, converted into plain commands.
//   - checkpoint.go: the checkpoint and watermark keys, their format, where a shard
//     resumes, which ops travel without a checkpoint (assignments).
//   - moves.go: the two halves of a source reshard (RESTORE-ASKING in the new
//     owner's stream, DEL in the old owner's) paired across shards.
//   - assign.go, assign_status.go: scale-out, the shards split between processes and
//     the status every process publishes in the destination.
//   - status.go: State, ShardStatus, Status and the lag clock.
//
// # Invariants
//
// Per-key order: a key lives in one slot, which one source shard owns and one
// destination master serves. A shard submits its ops in stream order from one
// goroutine, and the applier keeps the order of the ops of one (source shard, slot)
// through batching, retries, MOVED and ASK (see package apply). Ops of different
// source shards are independent, except the two halves of a key's move between
// source shards, which moveRegistry orders.
//
// Checkpoint in the same transaction: every stream op that is not an assignment
// reaches the destination as MULTI, the op, SET of its slot's checkpoint key, EXEC
// (a plain SET as one MSET of the key and the checkpoint).
// The checkpoint key hashes to the op's slot, so the transaction is legal on a
// cluster and the checkpoint moves with the slot. A slot's checkpoint therefore
// says exactly which of its commands the destination holds; on start a shard
// resumes with PSYNC from its slots' checkpoints and the watermark, and drops, per
// slot, the commands already applied. xsync's own keys start with
// translate.Config.InternalPrefix. The details and the proof are in checkpoint.go.
//
// # Goroutines
//
// Run owns every goroutine it starts and waits for them: the applier's Run (which
// owns the pipes' readers and writers and the retry timer), the source (one
// goroutine per link; a link calls its shard's Handler methods from that goroutine
// only, so a shard's stream state needs no lock), the ops-rate sampler, the
// watermark writer (with checkpoints), the source-offset poller and, in a scale-out, the status
// publisher. State other goroutines read (Status, the admin port, metrics) is kept
// in atomics or behind the locks named on each type. The applier outlives the
// source: when Run's context ends the links stop first, then the applier drains
// what they handed over.
package replicator
