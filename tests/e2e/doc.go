// Package e2e holds the end-to-end tests of xsync sync (issue 6): real
// redis-server processes as sources and destinations, the Replicator run in
// process or the xsync binary, a write workload while it syncs, and a key-by-key
// comparison at the end. The fixture replays serve the captured PSYNC sessions of
// shared/fixtures/psync through a fake master (the only fake: the destination is
// always a real redis-server).
//
// XSYNC_E2E_SECONDS sets the workload duration (default 20, 5 under -short).
package e2e
