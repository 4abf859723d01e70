package translate

import "sync/atomic"

// Stats are the translator's counters since New.
type Stats struct {
	Commands  int64 // commands passed to Translate
	Ops       int64 // ops returned
	Filtered  int64 // commands dropped (or cut down) by the db or key filters
	Denied    int64 // commands dropped by Config.Allow / Config.Deny
	Skipped   int64 // commands dropped and logged: admin, unroutable, unknown (Ignore), mixed filters, ...
	Unknown   int64 // unknown or unroutable commands skipped under policy Ignore
	Mixed     int64 // non-splittable commands whose keys the filter partly excluded (skipped)
	Split     int64 // cross-slot commands split per slot
	Emulated  int64 // cross-slot commands emulated with a barrier
	TxSplit   int64 // transactions split into one MULTI/EXEC per slot
	Flushes   int64 // FLUSHALL/FLUSHDB applied as a barrier
	Ignored   int64 // FLUSHALL/FLUSHDB/SWAPDB ignored by policy
	Published int64 // PUBLISH/SPUBLISH dropped because Config.Publish is off
	// Unsupported counts what the destination's version cannot run, dropped and
	// logged under Config.Downgrade Ignore: whole commands (also in Skipped) and
	// arguments left out (see downgrade.go).
	Unsupported int64
	// Collisions counts writes to keys another job on the destination declared
	// (Config.Others), whatever Config.Collision did with them.
	Collisions int64
}

type counters struct {
	commands, ops, filtered, denied, skipped, unknown, mixed atomic.Int64
	split, emulated, txSplit, flushes, ignored, published    atomic.Int64
	unsupported, collisions                                  atomic.Int64
}

// Stats returns a snapshot of the counters; safe to call from any goroutine.
func (t *Translator) Stats() Stats {
	c := &t.st
	return Stats{
		Commands: c.commands.Load(), Ops: c.ops.Load(), Filtered: c.filtered.Load(),
		Denied: c.denied.Load(), Skipped: c.skipped.Load(), Unknown: c.unknown.Load(),
		Mixed: c.mixed.Load(), Split: c.split.Load(), Emulated: c.emulated.Load(),
		TxSplit: c.txSplit.Load(), Flushes: c.flushes.Load(), Ignored: c.ignored.Load(),
		Published: c.published.Load(), Unsupported: c.unsupported.Load(),
		Collisions: c.collisions.Load(),
	}
}
