// Package metrics serves xsync's HTTP endpoint: /metrics (Prometheus, from the
// replicator's status at scrape time, so the figures are the ones INFO shows),
// /healthz (fails when a shard is stuck) and, when asked, net/http/pprof.
//
// It reads the replicator through the Statuser interface only and depends on
// no other package of proxy/.
package metrics
