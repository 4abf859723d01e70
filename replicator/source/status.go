package source

import (
	"sync/atomic"
	"time"
)

// State is the phase of a Link.
type State int32

// States of a Link.
const (
	StateIdle         State = iota // not started
	StateHandshake                 // connecting, AUTH, REPLCONF, PSYNC
	StateFullSync                  // receiving the snapshot
	StateStream                    // following the command stream
	StateReconnecting              // waiting before the next attempt
	StateStopped                   // Run returned
)

var stateNames = [...]string{"idle", "handshake", "fullsync", "stream", "reconnecting", "stopped"}

// String returns the name used in INFO: handshake, fullsync, stream, reconnecting...
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Status is a snapshot of a Link's progress, for INFO and metrics.
type Status struct {
	Addr          string    // node followed
	State         State     // current phase
	ReplID        string    // replication id of the stream ("" until a sync completed)
	DB            int       // database selected at Offset
	Offset        int64     // master offset of the last byte handled (resume with Offset+1)
	Received      int64     // master offset of the last byte read (>= Offset)
	SnapshotBytes int64     // bytes of the current or last snapshot received
	SnapshotSize  int64     // its size; -1 while unknown (diskless transfer)
	LastIO        time.Time // last time a byte was read or written; zero before
	FullSyncs     int64     // +FULLRESYNC answers received
	PartialSyncs  int64     // +CONTINUE answers received
	Reconnects    int64     // sessions that ended and were retried
	LastError     string    // last session error ("" none)
}

// linkStatus holds the live counters; every field is safe to read from any goroutine.
type linkStatus struct {
	state        atomic.Int32
	replID       atomic.Pointer[string]
	db           atomic.Int64
	offset       atomic.Int64
	received     atomic.Int64
	snapBytes    atomic.Int64
	snapSize     atomic.Int64
	lastIO       atomic.Int64 // unix nanoseconds
	fullSyncs    atomic.Int64
	partialSyncs atomic.Int64
	reconnects   atomic.Int64
	lastErr      atomic.Pointer[string]
}

func (s *linkStatus) setReplID(id string) { s.replID.Store(&id) }

func (s *linkStatus) getReplID() string {
	if p := s.replID.Load(); p != nil {
		return *p
	}
	return ""
}

func (s *linkStatus) snapshot(addr string) Status {
	st := Status{
		Addr:          addr,
		State:         State(s.state.Load()),
		ReplID:        s.getReplID(),
		DB:            int(s.db.Load()),
		Offset:        s.offset.Load(),
		Received:      s.received.Load(),
		SnapshotBytes: s.snapBytes.Load(),
		SnapshotSize:  s.snapSize.Load(),
		FullSyncs:     s.fullSyncs.Load(),
		PartialSyncs:  s.partialSyncs.Load(),
		Reconnects:    s.reconnects.Load(),
	}
	if ns := s.lastIO.Load(); ns != 0 {
		st.LastIO = time.Unix(0, ns)
	}
	if p := s.lastErr.Load(); p != nil {
		st.LastError = *p
	}
	return st
}
