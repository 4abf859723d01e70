// Package verify compares a source and a destination Redis key by key: existence in
// both directions, type, exact value, and TTL within a tolerance. It is what
// `xsync verify` runs and what end-to-end tests use to prove a sync lost nothing.
//
// Both sides are go-redis clients: a *redis.Client (standalone, any number of
// databases) or a *redis.ClusterClient (every master is scanned; database 0 only).
// A run has rounds. Round 1 SCANs every source key (COUNT 1000) and compares it with
// the destination, then SCANs every destination key and looks it up on the source
// (extra keys). Later rounds, after a delay, re-check only the keys that differed, so
// that keys changing while a live sync runs are not reported as lost; what still
// differs after the last round is reported.
//
// Values are compared by digest (SHA-256 over a canonical encoding) read in pages, so
// that no big key is held in memory whole: strings by GETRANGE chunks, lists by LRANGE
// pages, sorted sets by ZRANGE pages (scores compared as numbers), streams by XRANGE
// pages plus each consumer group's name, last-delivered-id and PEL length. Sets and
// hashes come from SSCAN/HSCAN in no particular order and possibly with repeats: each
// element is hashed to 16 bytes, and those are sorted and deduplicated in memory, so a
// set or hash costs 16 bytes per element to verify; keys with more than
// Config.MaxElements elements are counted as skipped, not compared. Types the package
// does not know (modules) are compared by their DUMP payload, which differs between
// Redis versions with different RDB formats.
//
// Use:
//
//	res, err := verify.Run(ctx, verify.Config{Source: src, Target: dst, Logger: log})
//	if err != nil { ... }            // a side failed; differences are not errors
//	_ = res.WriteReport(os.Stdout)   // counts by kind, up to MaxReport keys of each
//	if !res.Equal() { ... }
//
// Not compared: hash field expirations (7.4+), stream consumers and their idle
// times, the stream's last-generated id, LFU/LRU hints. Keys that move between
// cluster nodes during a scan may be missed by that scan.
package verify
