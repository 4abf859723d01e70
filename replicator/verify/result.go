package verify

import (
	"fmt"
	"time"
)

// Kind is a kind of difference.
type Kind int

// Kinds of difference, in the order a key is checked.
const (
	Missing Kind = iota // on the source, not on the target
	Extra               // on the target, not on the source
	Type                // different types
	Value               // same type, different content
	TTL                 // same value, TTLs further apart than the tolerance
	numKinds
)

// String returns "missing", "extra", "type", "value" or "ttl".
func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Extra:
		return "extra"
	case Type:
		return "type"
	case Value:
		return "value"
	case TTL:
		return "ttl"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Kinds returns every Kind, in order.
func Kinds() []Kind { return []Kind{Missing, Extra, Type, Value, TTL} }

// Diff is one key that differs.
type Diff struct {
	Kind Kind
	// DB is the source database; for Extra, the target database.
	DB  int
	Key string
	// Source and Target describe the key on each side: its type, its value digest
	// ("len 3 sha256:1a2b3c4d") or its TTL.
	Source, Target string
}

// Result is the outcome of a run.
type Result struct {
	// Rounds is the number of rounds run (fewer than asked when nothing differed).
	Rounds int
	// SourceKeys and TargetKeys are the keys read by the round 1 scans (after the
	// exclusion and the sample).
	SourceKeys, TargetKeys int64
	// Excluded is the number of keys skipped for ExcludePrefix.
	Excluded int64
	// Skipped is the number of keys whose value was too big to compare.
	Skipped int64
	// Counts holds the number of differing keys by Kind after the last round.
	Counts [numKinds]int64
	// PerRound is the number of differing keys after each round.
	PerRound []int64
	// Diffs lists up to MaxReport differing keys of each kind, sorted.
	Diffs []Diff
	// Duration is the time the run took.
	Duration time.Duration
}

// Count returns the number of differing keys of kind k.
func (r *Result) Count(k Kind) int64 {
	if k < 0 || k >= numKinds {
		return 0
	}
	return r.Counts[k]
}

// Total returns the number of differing keys.
func (r *Result) Total() int64 {
	var t int64
	for _, n := range r.Counts {
		t += n
	}
	return t
}

// Equal reports whether no key differs.
func (r *Result) Equal() bool { return r.Total() == 0 }
