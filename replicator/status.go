package replicator

import (
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/scansrc"
)

// State is the progress of one source shard, and of the whole job (the least
// advanced shard).
type State string

// The states, from least to most advanced. Paused and stopped rank lowest: a paused
// job reports paused whatever its shards do.
const (
	StateStopped      State = "stopped"
	StatePaused       State = "paused"
	StateReconnecting State = "reconnecting"
	// StateHealing: the destination lost data and xsync is writing it again
	// (destloss.go); the job is not healthy until it is done.
	StateHealing   State = "healing"
	StateHandshake State = "handshake"
	StateFullSync  State = "fullsync"
	StateStream    State = "stream"
	// StateStandby is not set by the Replicator: an HA standby (sync --ha-lease)
	// reports it while another process leads.
	StateStandby State = "standby"
)

func (s State) rank() int {
	switch s {
	case StateStopped:
		return 0
	case StatePaused:
		return 1
	case StateReconnecting:
		return 2
	case StateHandshake:
		return 3
	case StateFullSync:
		return 4
	case StateStream:
		return 5
	}
	return 0
}

// ShardStatus is a snapshot of one source shard.
type ShardStatus struct {
	Index                int    // stable shard number, as in INFO's shardN lines
	Addr                 string // the source node the link follows
	State                State
	ReplID               string
	SourceOffset         int64   // the source's replication offset, as last seen
	ReceivedOffset       int64   // offset of the last byte received
	AppliedOffset        int64   // offset up to which everything is acknowledged by the destination
	LagBytes             int64   // SourceOffset - AppliedOffset (never negative)
	LagSeconds           float64 // age of the oldest received command not yet applied
	KeysDone             int64   // full sync: keys applied
	KeysTotal            int64   // full sync: estimate from the source's keyspace
	BytesDone            int64   // full sync: snapshot bytes read
	BytesTotal           int64   // full sync: snapshot size, 0 when the master streams it diskless
	OpsSubmitted         int64   // operations handed to the destination (the applier counts acknowledgements for all shards together)
	OpsWithoutCheckpoint int64   // of them, stream assignments sent without their slot's checkpoint (checkpoint.go)
	Errors               int64   // errors counted (skipped commands, link failures)
	FullSyncs            int64   // full syncs done by this shard
	DowngradeDropped     int64   // what the destination's version cannot hold, left out under --downgrade drop (snapshot and stream)
	LastError            string  // the last error, for INFO
}

// Status is a snapshot of the whole job.
type Status struct {
	State State
	// DestServer names the destination's server as it names itself ("Valkey
	// 8.0.1", "Redis 7.4.1"), "" until it was reached.
	DestServer string
	Started    time.Time
	Shards     []ShardStatus
	OpsApplied int64
	OpsPerSec  float64
	KeysDone   int64
	KeysTotal  int64
	BytesDone  int64
	LagBytes   int64
	LagSeconds float64
	Errors     int64
	// DowngradeDropped sums the shards' DowngradeDropped.
	DowngradeDropped int64
	// DestErrors counts destination error replies by kind (oom, wrongtype,
	// busykey, noscript, execabort, other); DestRetries counts retried writes by
	// cause (moved, ask, tryagain, clusterdown, loading, connlost, ...).
	DestErrors  map[string]int64
	DestRetries map[string]int64
	// BarrierErrors counts emulated commands and other barriers that the
	// destination refused (skipped under --on-error skip; counted in DestErrors
	// too).
	BarrierErrors int64
	// DestLoss reports destination data loss: what was detected and re-applied.
	DestLoss DestLossStatus
	// Drift reports the live comparison of sampled keys (--verify-rate).
	Drift DriftStatus
	// SourceMode is how the source is read: "psync" or "scan" ("" while auto
	// has not decided yet); Scan holds scan mode's counters (nil in PSYNC mode).
	SourceMode string
	Scan       *scansrc.Stats
	// Collisions counts writes (snapshot keys and stream commands) to keys that
	// another job on a shared destination declared as its own.
	Collisions int64
}

// summarize fills the job-wide fields of st from its shards.
func (st *Status) summarize() {
	if len(st.Shards) == 0 {
		if st.State == "" {
			st.State = StateHandshake
		}
		return
	}
	least := StateStream
	for _, sh := range st.Shards {
		if sh.State.rank() < least.rank() {
			least = sh.State
		}
		st.KeysDone += sh.KeysDone
		st.KeysTotal += sh.KeysTotal
		st.BytesDone += sh.BytesDone
		st.LagBytes += sh.LagBytes
		st.Errors += sh.Errors
		st.DowngradeDropped += sh.DowngradeDropped
		st.LagSeconds = max(st.LagSeconds, sh.LagSeconds)
	}
	if st.State == "" || least.rank() < st.State.rank() {
		st.State = least
	}
}

// lagClock remembers when offsets were received, to tell how old the oldest
// unapplied command is. It keeps a bounded ring of (offset, time) samples, one per
// sampling interval at most, so its memory does not grow with the write rate.
type lagClock struct {
	mu      sync.Mutex
	samples []lagSample // ring, oldest first from head
	head, n int
	every   time.Duration
}

type lagSample struct {
	offset int64
	at     time.Time
}

func newLagClock(size int, every time.Duration) *lagClock {
	return &lagClock{samples: make([]lagSample, size), every: every}
}

// received records that offset arrived at time now.
func (l *lagClock) received(offset int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		last := l.samples[(l.head+l.n-1)%len(l.samples)]
		if now.Sub(last.at) < l.every {
			return
		}
	}
	if l.n == len(l.samples) { // full: drop the oldest
		l.head = (l.head + 1) % len(l.samples)
		l.n--
	}
	l.samples[(l.head+l.n)%len(l.samples)] = lagSample{offset, now}
	l.n++
}

// lag returns how long ago the first command past applied was received, given the
// newest received offset; zero when everything received is applied.
func (l *lagClock) lag(applied, received int64, now time.Time) time.Duration {
	if applied >= received {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.n > 0 && l.samples[l.head].offset <= applied {
		l.head = (l.head + 1) % len(l.samples)
		l.n--
	}
	if l.n == 0 {
		return l.every // applied is behind by less than one sample
	}
	return now.Sub(l.samples[l.head].at)
}
