package fidelity

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/xsync/xsync/slots"
)

// Options configure a run. Zero fields take their defaults.
type Options struct {
	Setup Setup
	// Seed makes the run reproducible. Default 1.
	Seed uint64
	// Duration bounds the run; Units bounds it in units (the first reached
	// ends it). Default: 500 units.
	Duration time.Duration
	Units    int
	// Batch is the number of units between two comparisons. Default 100.
	Batch int
	// SourceBinary and TargetBinary are the redis-server of each side
	// (default: redistest's, $XSYNC_REDIS_SERVER then $PATH).
	SourceBinary, TargetBinary string
	// Shrink bounds the replays spent shrinking a difference. Default 24.
	Shrink int
	// TTLTolerance is how far TTLs may differ. Default 3s.
	TTLTolerance time.Duration
	// Log receives progress lines (default: none).
	Log io.Writer
	// Debug logs more (dbsizes, every unit).
	Debug bool
}

func (o *Options) defaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Units == 0 && o.Duration == 0 {
		o.Units = 500
	}
	if o.Batch == 0 {
		o.Batch = 100
	}
	if o.Shrink == 0 {
		o.Shrink = 24
	}
	if o.TTLTolerance == 0 {
		o.TTLTolerance = 3 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Report is what a run found.
type Report struct {
	Setup        Setup
	Seed         uint64
	Units        int // units sent
	Commands     int // commands sent (a MULTI group counts each command)
	Batches      int // comparisons made
	Keys         int // keys compared, summed over the comparisons
	Unreplicated int // keys where the source differed from its own replica
	Elapsed      time.Duration
	Coverage     *Coverage
	Differences  []Difference
}

// CommandsPerSec is the rate of commands sent.
func (r *Report) CommandsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Commands) / r.Elapsed.Seconds()
}

// Print writes the summary.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "setup %s seed %d: %d commands (%d units) in %v, %.0f commands/s, %d comparisons of %d keys, %d keys where the source differed from its replica\n",
		r.Setup, r.Seed, r.Commands, r.Units, r.Elapsed.Round(time.Second), r.CommandsPerSec(), r.Batches, r.Keys, r.Unreplicated)
	fmt.Fprintf(w, "coverage: %d commands, %d distinct option combinations\n", r.Coverage.Commands(), r.Coverage.Combinations())
	fmt.Fprintf(w, "differences: %d\n", len(r.Differences))
	for _, d := range r.Differences {
		fmt.Fprintln(w, d.String())
	}
}

// Run fuzzes one setup: it stops at the first difference (shrunk) or when
// the run's bound is reached.
func Run(t testing.TB, opts Options) *Report {
	t.Helper()
	opts.defaults()
	e := newEnv(t, opts)
	g, err := e.grammar()
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{Setup: opts.Setup, Seed: opts.Seed, Coverage: newCoverage()}
	gen := newGenerator(g, e.genConfig(g), opts.Seed, rep.Coverage)
	gen.dumps = e.dump
	ctx := context.Background()
	start := time.Now()
	var log []Unit
	for {
		if opts.Units > 0 && rep.Units >= opts.Units || opts.Duration > 0 && time.Since(start) >= opts.Duration {
			break
		}
		for i := 0; i < opts.Batch; i++ {
			u := gen.Next()
			if err := e.exec(ctx, u); err != nil {
				t.Fatalf("seed %d: %v", opts.Seed, err)
			}
			log = append(log, u)
			if opts.Debug {
				fmt.Fprintf(opts.Log, "%d: %s\n", rep.Units, u)
			}
			rep.Units++
			rep.Commands += len(u.Cmds)
		}
		diffs, err := e.check(ctx)
		rep.Batches++
		rep.Keys += err.keys
		rep.Unreplicated += err.unreplicated
		if err.fatal != nil {
			t.Fatalf("seed %d: %v", opts.Seed, err.fatal)
		}
		if len(diffs) > 0 {
			rep.Elapsed = time.Since(start)
			fmt.Fprintf(opts.Log, "seed %d: %d differences after %d units (%d commands, %v); shrinking. First, unshrunk (last 5 units: %v):\n%s",
				opts.Seed, len(diffs), len(log), rep.Commands, rep.Elapsed.Round(time.Second), log[max(len(log)-5, 0):], diffs[0])
			d := e.shrink(ctx, log, diffs[0])
			d.Seed = opts.Seed
			rep.Differences = append(rep.Differences, d)
			return rep
		}
		fmt.Fprintf(opts.Log, "%s: %d units, %d commands, %.0f/s, clean\n", opts.Setup, rep.Units, rep.Commands, float64(rep.Commands)/time.Since(start).Seconds())
	}
	rep.Elapsed = time.Since(start)
	return rep
}

// checkResult is what check measured besides the differences.
type checkResult struct {
	keys, unreplicated int
	fatal              error
}

// check syncs and compares; a stopped replicator is a difference.
func (e *env) check(ctx context.Context) ([]Difference, checkResult) {
	if err := e.sync(); err != nil {
		return []Difference{{Err: err.Error() + "\n" + e.logs.tail(6)}}, checkResult{}
	}
	diffs, unrep, n, err := e.compare(ctx)
	return diffs, checkResult{keys: n, unreplicated: unrep, fatal: err}
}

// stillDiffers replays units on emptied servers and reports whether the
// difference shows again (the same key differing, or the replicator
// stopping again).
func (e *env) stillDiffers(ctx context.Context, units []Unit, want Difference) (Difference, bool) {
	e.reset()
	for _, u := range units {
		if err := e.exec(ctx, u); err != nil {
			return Difference{}, false
		}
	}
	diffs, res := e.check(ctx)
	if res.fatal != nil {
		return Difference{}, false
	}
	for _, d := range diffs {
		if want.Err != "" && d.Err != "" || want.Err == "" && d.DB == want.DB && d.Key == want.Key {
			return d, true
		}
	}
	return Difference{}, false
}

// shrink finds a short sequence of units that still shows d: first the
// units that touch d's key (by name or hash tag), then delta debugging
// (removing chunks), within Options.Shrink replays.
func (e *env) shrink(ctx context.Context, log []Unit, d Difference) Difference {
	best := d
	best.Sequence = log
	budget := e.opts.Shrink
	try := func(units []Unit) bool {
		if budget <= 0 {
			return false
		}
		budget--
		got, ok := e.stillDiffers(ctx, units, d)
		if ok {
			got.Sequence = slices.Clone(units)
			best = got
		}
		return ok
	}
	if d.Key != "" {
		var related []Unit
		for _, u := range log {
			if touches(u, d.Key) {
				related = append(related, u)
			}
		}
		if len(related) < len(log) && len(related) > 0 {
			try(related)
		}
	}
	cur := best.Sequence
	for n := 2; len(cur) > 1 && budget > 0; {
		chunk := (len(cur) + n - 1) / n
		removed := false
		for i := 0; i < len(cur) && budget > 0; i += chunk {
			cand := append(slices.Clone(cur[:i]), cur[min(i+chunk, len(cur)):]...)
			if len(cand) > 0 && try(cand) {
				cur = cand
				n = max(n-1, 2)
				removed = true
				break
			}
		}
		if !removed {
			if chunk == 1 {
				break
			}
			n = min(n*2, len(cur))
		}
	}
	return best
}

// touches reports whether a unit names key, or a key with the same slot
// hash (a hash tag), or is keyless (it may touch anything).
func touches(u Unit, key string) bool {
	slot := slots.SlotString(key)
	for _, c := range u.Cmds {
		args := make([][]byte, len(c))
		for i, a := range c {
			args[i] = []byte(a)
		}
		idx, err := slots.KeyIndexes(args, nil)
		if err != nil || len(idx) == 0 {
			return true
		}
		for _, i := range idx {
			if c[i] == key || slots.SlotString(c[i]) == slot {
				return true
			}
		}
		if c[0] == "SORT" {
			return true // its patterns read keys it does not name
		}
	}
	return false
}
