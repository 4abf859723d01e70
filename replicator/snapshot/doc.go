// Package snapshot turns decoded RDB records (package rdb) into the commands
// that recreate them on a destination Redis.
//
// A key becomes either one RESTORE (key ttl payload REPLACE ABSTTL
// [IDLETIME s | FREQ f]) whose DUMP payload is built from the record's raw
// bytes without re-encoding, or plain commands in bounded chunks: RPUSH, SADD,
// ZADD, HSET (HMSET before 4.0) with HPEXPIREAT per field group (7.4), and for
// streams XADD with the exact ids, XSETID (with ENTRIESADDED and MAXDELETEDID
// on 7.0+), XGROUP CREATE (with ENTRIESREAD on 7.0+), XGROUP CREATECONSUMER
// (6.2+) and XCLAIM ... TIME t RETRYCOUNT n FORCE JUSTID to rebuild each PEL;
// then PEXPIREAT for the key's expire, and a DEL first when keys are replaced.
//
// RESTORE is used where the destination reads the payload (its RDB version
// knows the value's RDB type; the payload is labelled with the older of the
// source's and destination's RDB versions) and the value is not over the big-key
// size; the command path is used otherwise, or always in ModeCommands. No
// command is longer than Options.MaxBytes (unless a single element is) nor has
// more than Options.MaxElements elements.
//
// Before Redis 5.0, RESTORE takes a relative TTL, computed from Options.Now,
// and IDLETIME/FREQ are left out. Keys already expired are left out. What a
// destination older than the source cannot hold (hash field expires before
// 7.4, function libraries and streams' entries-added, max-deleted id and
// groups' entries-read before 7.0) stops the conversion with an error naming
// the key and what is missing, or under DowngradeDrop is left out and counted
// (see downgrade.go); pending entries whose message was deleted are dropped
// by XCLAIM, as Redis does. Module values pass through as RESTORE, or are
// refused (ModuleRefuse), with an error naming key and module. Module aux
// data, aux fields and slot info produce no command. Consumers' seen and active
// times are not rebuilt (XCLAIM sets them to the time it runs).
package snapshot
