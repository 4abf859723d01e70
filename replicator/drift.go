package replicator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/replicator/verify"
)

// Live drift detection (Config.VerifyRate): every second VerifyRate keys picked
// at random on the source (RANDOMKEY) are compared with the destination by
// replicator/verify's comparison. A key that differs may only be in flight: it
// is compared again once every shard's applied offset has reached the source
// offset seen when it differed (the lag covered its writes), up to
// driftAttempts times; a key that still differs then is drift, counted and
// named in Status.Drift, and compared again every driftRecheck to see whether
// it healed. What drift cannot see: keys the destination has and the source does
// not (the sample comes from the source), databases other than 0 (and database 0
// when --dbs maps it under a key prefix); keys left out by --include/--exclude
// are not compared.

const (
	driftAttempts = 3                // comparisons after the lag covered the writes before a key counts as drift
	driftRecheck  = 10 * time.Second // how often keys found drifted are compared again
	driftMaxKeys  = 10000            // keys remembered as pending or drifted at most
	driftSample   = 10               // keys named in Status.Drift.Sample
)

// DriftStatus reports the live comparison of sampled keys (Config.VerifyRate).
type DriftStatus struct {
	Rate    int      // keys per second sampled; 0: off
	Checked int64    // keys compared
	Keys    int64    // keys that still differ after the lag covered their writes
	Sample  []string // some of them, sorted, for INFO and /healthz
}

// driftState is the sampler's state; Status reads it under mu.
type driftState struct {
	mu sync.Mutex
	st DriftStatus
}

// pendingDiff is a key that differed, waiting for the lag to cover its writes.
type pendingDiff struct {
	need     map[int]int64 // per source shard, the source offset when it differed
	attempts int
}

func (r *Replicator) driftStatus(st *Status) {
	r.drift.mu.Lock()
	st.Drift = r.drift.st
	st.Drift.Sample = slices.Clone(r.drift.st.Sample)
	r.drift.mu.Unlock()
	st.Drift.Rate = r.cfg.VerifyRate
}

// verifyLive runs the sampler until ctx ends.
func (r *Replicator) verifyLive(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var kf *translate.KeyFilter
	for kf == nil { // the filters of the sync, from its first shard
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		r.mu.Lock()
		for _, sh := range r.shards {
			kf = sh.kf
			break
		}
		r.mu.Unlock()
	}
	tg, synced := kf.DB(0)
	if !synced || tg.Prefix != "" {
		r.log.Warn("live verify is off: it compares database 0 under the same key names, and this sync maps database 0 elsewhere",
			"synced", synced, "prefix", tg.Prefix)
		return nil
	}
	v, err := verify.New(verify.Config{Source: r.cfg.VerifySource, Target: r.cfg.VerifyTarget,
		ExcludePrefix: r.cfg.Translate.InternalPrefix, DBMap: map[int]int{0: tg.DB}, Logger: r.log.With("component", "verify")})
	if err != nil {
		return err
	}
	defer v.Close()
	pending := map[string]*pendingDiff{}
	drifted := map[string]verify.Diff{}
	lastRecheck := r.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st := r.Status()
		if st.State != StateStream {
			continue // a full sync or a heal is under way: differences are expected
		}
		err := r.driftRound(ctx, v, kf, st, pending, drifted)
		if err == nil && r.cfg.Now().Sub(lastRecheck) >= driftRecheck && len(drifted) > 0 {
			lastRecheck = r.cfg.Now()
			err = r.recheckDrifted(ctx, v, drifted)
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			r.log.Warn("live verify: a comparison failed; trying again in a second", "err", err)
		}
		r.publishDrift(drifted)
	}
}

// driftRound samples new keys and compares again the pending keys whose writes
// the lag covered.
func (r *Replicator) driftRound(ctx context.Context, v *verify.Verifier, kf *translate.KeyFilter, st Status, pending map[string]*pendingDiff, drifted map[string]verify.Diff) error {
	sampled, err := v.RandomKeys(ctx, 0, r.cfg.VerifyRate)
	if err != nil {
		return err
	}
	keys := sampled[:0]
	for _, k := range sampled {
		if kf.Included([]byte(k)) { // --include/--exclude: keys the sync leaves out are not drift
			keys = append(keys, k)
		}
	}
	var due []string
	for k, p := range pending {
		if covered(st, p.need) {
			due = append(due, k)
		}
	}
	if len(keys)+len(due) == 0 {
		return nil
	}
	diffs, err := v.CompareKeys(ctx, 0, append(slices.Clone(keys), due...))
	if err != nil {
		return err
	}
	r.drift.mu.Lock()
	r.drift.st.Checked += int64(len(keys) + len(due))
	r.drift.mu.Unlock()
	differ := map[string]verify.Diff{}
	for _, d := range diffs {
		differ[d.Key] = d
	}
	need := map[int]int64{}
	for _, sh := range st.Shards {
		need[sh.Index] = sh.SourceOffset
	}
	for _, k := range due {
		p := pending[k]
		d, still := differ[k]
		switch {
		case !still:
			delete(pending, k)
		case p.attempts+1 >= driftAttempts:
			delete(pending, k)
			if _, known := drifted[k]; !known && len(drifted) < driftMaxKeys {
				r.log.Warn("live verify: a key differs between source and destination", "key", printable([]byte(k)),
					"kind", d.Kind.String(), "source", d.Source, "target", d.Target)
			}
			if len(drifted) < driftMaxKeys {
				drifted[k] = d
			}
		default:
			p.attempts++
			p.need = need
		}
	}
	for _, k := range keys {
		if _, ok := differ[k]; !ok {
			continue
		}
		if _, known := drifted[k]; known {
			continue
		}
		if _, known := pending[k]; !known && len(pending) < driftMaxKeys {
			pending[k] = &pendingDiff{need: need}
		}
	}
	return nil
}

// recheckDrifted compares the drifted keys again and forgets those now equal.
func (r *Replicator) recheckDrifted(ctx context.Context, v *verify.Verifier, drifted map[string]verify.Diff) error {
	keys := make([]string, 0, len(drifted))
	for k := range drifted {
		keys = append(keys, k)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		diffs, err := v.CompareKeys(ctx, 0, keys[:n])
		if err != nil {
			return err
		}
		still := map[string]bool{}
		for _, d := range diffs {
			still[d.Key] = true
		}
		for _, k := range keys[:n] {
			if !still[k] {
				delete(drifted, k)
			}
		}
		keys = keys[n:]
	}
	return nil
}

func (r *Replicator) publishDrift(drifted map[string]verify.Diff) {
	sample := make([]string, 0, len(drifted))
	for k := range drifted {
		sample = append(sample, k)
	}
	slices.Sort(sample)
	if len(sample) > driftSample {
		sample = sample[:driftSample]
	}
	r.drift.mu.Lock()
	r.drift.st.Keys = int64(len(drifted))
	r.drift.st.Sample = sample
	r.drift.mu.Unlock()
}

// covered reports whether every shard's applied offset reached need.
func covered(st Status, need map[int]int64) bool {
	for _, sh := range st.Shards {
		if n, ok := need[sh.Index]; ok && sh.AppliedOffset < n {
			return false
		}
	}
	return true
}
