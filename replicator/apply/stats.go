package apply

import "sync/atomic"

// Stats is a snapshot of the applier's counters (for INFO and metrics).
type Stats struct {
	Submitted    uint64 // ops submitted
	Applied      uint64 // ops acknowledged (including skipped errors and rechecked ops)
	Pending      int    // ops submitted and not yet acknowledged
	PendingBytes int64  // their bytes
	Batches      uint64 // writes to destination connections
	BytesWritten uint64 // bytes written to destination connections
	Connects     uint64 // pipelined connections opened
	Refreshes    uint64 // slot tables installed
	// Retries counts ops sent again, per RetryKind.
	Retries [NumRetryKinds]uint64
	// Errors counts error replies that went through the policy, per ErrorKind.
	Errors [NumErrorKinds]uint64
	// BarrierErrors counts Barrier ops that failed with an error reply of the
	// destination (they are also counted in Errors by kind).
	BarrierErrors uint64
	// Resent counts ops written again after their reply was lost with the
	// connection: each may have been applied twice (at-least-once).
	Resent uint64
	// Rechecked counts ops with lost replies that Config.Recheck found applied
	// (not re-sent).
	Rechecked uint64
	// Reordered counts ops acknowledged while an earlier op of their lane with
	// the same (or an unknown) key waited for a retry: the node ran them out of
	// order (possible after TRYAGAIN, CLUSTERDOWN or LOADING for a pipelined op).
	Reordered uint64
	// Held counts error replies handed to Config.Hold and held by it.
	Held uint64
}

type stats struct {
	submitted, applied, batches, bytes, connects, refreshes atomic.Uint64
	resent, rechecked, reordered, barrierErrors, held       atomic.Uint64
	retries                                                 [NumRetryKinds]atomic.Uint64
	errors                                                  [NumErrorKinds]atomic.Uint64
}

func (s *stats) snapshot() Stats {
	out := Stats{
		Submitted: s.submitted.Load(), Applied: s.applied.Load(),
		Batches: s.batches.Load(), BytesWritten: s.bytes.Load(),
		Connects: s.connects.Load(), Refreshes: s.refreshes.Load(),
		Resent: s.resent.Load(), Rechecked: s.rechecked.Load(), Reordered: s.reordered.Load(), Held: s.held.Load(),
		BarrierErrors: s.barrierErrors.Load(),
	}
	for i := range s.retries {
		out.Retries[i] = s.retries[i].Load()
	}
	for i := range s.errors {
		out.Errors[i] = s.errors[i].Load()
	}
	return out
}
