// Package apply writes ops to the destination: a Redis Cluster (or a standalone
// server, which owns all 16384 slots), through one set of pipelined connections
// per master.
//
// # Flow
//
// Submit gives an Op to its lane, the FIFO of its (Source, Slot). A lane hands
// its ops to the pipe (connection) that serves its slot; all the ops of a lane
// that are queued or in flight sit on one pipe, so their replies come back in
// order. A pipe's writer takes as many queued ops as the batch limits
// (Config.BatchCommands, BatchBytes) and the in-flight window (InflightCommands,
// InflightBytes; see inflight.go) allow and writes them in one call as soon as
// there are any: a batch is written when it is full or when the queue is empty.
// Its reader matches replies to the window in order with a resp.Reader.
// Submit itself blocks while more than MaxPendingOps/MaxPendingBytes are not
// yet acknowledged. SubmitBatch does what as many Submits would, under one lock
// and with one wake-up per pipe, and keeps the ops' bytes without a copy: the
// path of a snapshot's keys.
//
// # Retries and order
//
// When a reply asks for a retry (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING,
// MASTERDOWN, BUSY, READONLY, NOSCRIPT with a known body) or the connection
// breaks, the op goes to its lane's retry list, sorted by submit order. The lane
// then stops: ops submitted after it wait, and nothing of the lane is sent until
// every earlier reply of the lane is in. Later in-flight ops of the lane that
// also fail join the retry list in order; then the list is sent again, in order,
// to the right node: after a slot-table refresh for MOVED (CLUSTER SHARDS, or
// CLUSTER SLOTS before 7.0; installed through slots.Holder), as ASKING + command
// pairs to the target for ASK, with SCRIPT LOAD first for NOSCRIPT, and after a
// capped exponential backoff (BackoffMin..BackoffMax) for the others.
//
// Per-key order is kept through MOVED, ASK and lost connections, because every
// op of the same key in flight behind the failed one fails the same way. A
// pipelined node may however run a later op of the slot after answering an
// earlier one with TRYAGAIN, CLUSTERDOWN, LOADING or BUSY (the condition
// cleared in between); such ops cannot be taken back: Stats.Reordered counts
// them (when they share the key of the op waiting for its retry), logs them,
// and does not send them twice. NOSCRIPT, which would do the same after a
// destination restart or failover, is avoided: every script body the applier
// knows (LoadScript, EVAL and SCRIPT LOAD ops) is loaded on each new
// connection before ops are written to it.
//
// # Delivery
//
// An op is acknowledged when all of its replies arrived and none asks for a
// retry. An op whose reply was lost with its connection is sent again: it may
// then be applied twice (at-least-once; Stats.Resent counts them). Ops that
// were queued but not written are simply sent later. Config.Recheck is the hook
// for checkpoints: called before such a re-send, it can tell that the op was
// already applied. Applied(source) is the highest Offset of a source below which
// every op is acknowledged.
//
// An acknowledgement means the destination master ran the op. Redis replicates
// asynchronously: when a destination master dies (not a CLUSTER FAILOVER, which
// waits for its replica) writes it acknowledged but had not yet sent to its
// replica are gone from the promoted replica, and the applier cannot see it.
// Checkpoints written with the data (package replicator, docs/checkpoints.md)
// are what can detect this.
//
// # Errors
//
// Error replies that no retry fixes (OOM, WRONGTYPE, BUSYKEY, NOSCRIPT without a
// body, EXECABORT, ERR ...) follow Config.OnError / Config.Policies: PolicyStop
// ends Run with an error naming the node, the key, the command and the reply
// (for OOM: that the destination is full and how to make room); PolicySkip logs
// the same, counts it per kind in Stats and goes on.
//
// # Barriers
//
// An Op with a Barrier (or with Slot AllMasters) runs inside Submit, after every
// earlier op of its Source is acknowledged; Submit returns when it is done, so
// no later op of the Source starts before. It may use the Applier as a Dest:
// synchronous Do routed by slot (following MOVED and ASK) and DoAll on every
// master, over a control connection per node. A barrier that fails with an
// error reply of the destination (an emulated command it refuses, WRONGTYPE,
// OOM) follows the policy of that kind like any other error reply: skipped,
// logged with Op.Key and Op.What and counted (Stats.Errors and
// Stats.BarrierErrors), or Run ends with an error saying what to do. Any other
// failure (a connection lost past the retries) ends Run.
//
// # Destinations
//
// Run detects the destination's version (INFO server; Version) and whether it
// is a cluster (INFO cluster). Redis 4.0 to 7.4 are supported; converters read
// Version to choose, for example, RESTORE ... ABSTTL (5.0+).
package apply
