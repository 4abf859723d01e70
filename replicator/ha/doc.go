// Package ha runs xsync active/standby: processes campaign for a Kubernetes
// coordination.k8s.io/v1 Lease (client-go leaderelection), only the holder
// replicates, and a Fence on the destination keeps a deposed leader that has not
// noticed yet (a long pause, a partition from the API server) from writing.
//
// The fence is an epoch in the destination key <prefix>leader:<lease>. A new
// leader increments it (INCR, then WAIT for a replica), kills every connection of
// the same group named with an older epoch on every destination node (CLIENT
// LIST + CLIENT KILL ID), and only then reads the checkpoints and starts. Every
// destination connection of a process names itself xsync-<lease>-e<epoch>[-<id>]
// (CLIENT SETNAME) and then reads the epoch before its first write; an older
// process's connection is refused there (conn.ErrFenced) and the applier stops
// for good. A connection named before the increment is killed by the sweep; one
// named after it reads the new epoch: no interleaving lets an old leader write
// after the new leader has read the checkpoints. Writes that landed before the
// sweep carry their checkpoints in the same MULTI, so the new leader resumes
// exactly after them.
package ha
