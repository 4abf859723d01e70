// Package gateway holds the end-to-end tests of the gateway and the cutover,
// against real redis-server clusters:
//
//   - TestCutoverUnderLoad: a 3-master source behind the gateway, a replicator
//     into a 3-master destination, 50 clients writing through the gateway, XSYNC
//     CUTOVER on the admin port in the middle; every acknowledged INCR, LPUSH and
//     SET is on the destination exactly once and the source gets nothing after the
//     switch; the write pause the clients saw is logged (p50/p99/max).
//   - TestCutoverRollbackThenRetry: XSYNC CUTOVER 0.5 with the replicator paused
//     rolls back (held writes to the source, no client error); after XSYNC RESUME
//     the second one succeeds; every acknowledged write exactly once.
//   - TestCLISyncGatewayAndSidecar: the binary: xsync sync --gateway and a sidecar
//     xsync gateway --control following its cutover.
//   - TestBenchmark (XSYNC_BENCH=1): redis-benchmark through the gateway and
//     straight to a node; see docs/gateway.md.
//
// XSYNC_E2E_SECONDS sets how long the clients write before and after the cutover
// (default 3 s).
package gateway
