// Package admin is xsync's admin port: a small RESP server (tidwall/redcon)
// that answers INFO in Redis's format (# Server, # Xsync), the XSYNC commands
// (STATUS, PAUSE, RESUME, CUTOVER and the followers' CUTOVER STATE), CONFIG GET
// of the job's redacted settings, and AUTH.
//
// It reads and steers the replicator through the Controller interface only and
// holds no replication logic. XSYNC CUTOVER is parsed here and run by a
// cutover.Coordinator; admin knows neither the gateway nor the metrics endpoint.
//
// Dependencies inside proxy/: admin → cutover, admin → listener.
package admin
