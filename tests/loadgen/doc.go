// Package loadgen fills a Redis deployment (standalone or cluster) with a mixed
// dataset of every type and drives a write workload of every replicated command
// against it. The demo, the end-to-end tests and the benchmarks use it as the
// application that keeps writing while xsync syncs.
package loadgen
