// Package cutover is the protocol that moves the clients of the gateways from
// the source to the destination without losing or reordering a write:
//
//  1. hold: every gateway holds new writes and waits until none is in flight
//     (the local one through Gate, the gateways of other processes, Followers,
//     when they report "held" through XSYNC CUTOVER STATE on the admin port);
//  2. offsets: read each source master's master_repl_offset (INFO replication);
//  3. catch-up: wait until the replicator has applied those offsets;
//  4. mark and switch: write the cutover marker on the destination, pause the
//     replicator, switch the gateways and release the held writes.
//
// A failure at any step rolls back: the held writes go to the source.
//
// The package knows the gateway only through the interfaces it defines here
// (Gate, Preparer, FollowerGate, InfoFielder), and the replicator only through
// a Status function, so it imports neither gateway nor admin: those import it.
// That is the natural direction: the protocol states what it needs from a
// gateway; the gateway and the admin port (which parses XSYNC CUTOVER) serve it.
package cutover
