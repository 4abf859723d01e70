package replicator

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/slots"
)

// Scale-out status: every process of an Assignment writes a one-line summary of
// itself into the destination every statusInterval, under
//
//	<internal-prefix>status:{status}:<index>   (all in the slot of the tag "status")
//
// with a time to live of statusTTL, and reads the lines of all the processes back
// with one MGET. The admin port of any process then shows every process
// (ProcessStatus), and a process that died shows as absent once its key expired.
const (
	statusInterval = 2 * time.Second
	statusTTL      = 10 * time.Second
)

// ProcessStatus is the last summary one process of a scale-out wrote.
type ProcessStatus struct {
	Index int
	// Summary is "state=...,shards=N,lag_bytes=...,...,host=..." as written by
	// the process, or "state=absent" when its key expired (the process is down or
	// cannot reach the destination).
	Summary string
}

// statusKey is the key of process i's summary.
func statusKey(prefix string, i int) string {
	return prefix + "status:{status}:" + strconv.Itoa(i)
}

// Processes returns the summaries of every process of the scale-out as last read
// from the destination (at most statusInterval old); nil without a scale-out or
// before the first read.
func (r *Replicator) Processes() []ProcessStatus {
	if p := r.procs.Load(); p != nil {
		return *p
	}
	return nil
}

// summary renders this process's status line.
func (r *Replicator) summary(st Status, now time.Time) string {
	host, _ := os.Hostname()
	var addrs []string
	for _, sh := range st.Shards {
		addrs = append(addrs, sh.Addr)
	}
	state := string(st.State)
	if len(st.Shards) == 0 && st.State != StateStopped && st.State != StatePaused {
		state = "idle" // every source shard belongs to other processes
	}
	return fmt.Sprintf("state=%s,shards=%d,lag_bytes=%d,lag_seconds=%.3f,ops_per_sec=%.0f,errors=%d,keys_done=%d,keys_total=%d,nodes=%s,host=%s,updated=%d",
		state, len(st.Shards), st.LagBytes, st.LagSeconds, st.OpsPerSec, st.Errors, st.KeysDone, st.KeysTotal,
		strings.Join(addrs, "|"), host, now.Unix())
}

// publishStatus writes this process's summary and reads everyone's, every
// statusInterval, until ctx ends. Failures are logged: the status is informative.
func (r *Replicator) publishStatus(ctx context.Context) error {
	if err := r.applier.Ready(ctx); err != nil {
		return nil // Run reports the applier's error
	}
	prefix, n := r.cfg.Translate.InternalPrefix, r.cfg.Assign.Count
	slot := slots.SlotString(statusKey(prefix, 0))
	mget := [][]byte{[]byte("MGET")}
	for i := 0; i < n; i++ {
		mget = append(mget, []byte(statusKey(prefix, i)))
	}
	me := []byte(statusKey(prefix, r.cfg.Assign.Index))
	ttl := []byte(strconv.FormatInt(statusTTL.Milliseconds(), 10))
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	warned := false
	for {
		line := r.summary(r.Status(), r.cfg.Now())
		_, err := r.applier.Do(ctx, slot, []byte("SET"), me, []byte(line), []byte("PX"), ttl)
		if err == nil {
			err = r.readProcesses(ctx, slot, mget)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !warned:
			r.log.Warn("cannot publish or read the scale-out status in the destination; retrying", "err", err)
			warned = true
		case err == nil:
			warned = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// readProcesses reads every process's summary with one MGET (all keys share a slot).
func (r *Replicator) readProcesses(ctx context.Context, slot int, mget [][]byte) error {
	v, err := r.applier.Do(ctx, slot, mget...)
	if err != nil {
		return err
	}
	if v.IsError() {
		return fmt.Errorf("xsync/replicator: MGET of the status keys: %s", v.Str)
	}
	if len(v.Elems) != len(mget)-1 {
		return fmt.Errorf("xsync/replicator: MGET of %d status keys answered %d values", len(mget)-1, len(v.Elems))
	}
	out := make([]ProcessStatus, len(v.Elems))
	for i, e := range v.Elems {
		out[i] = ProcessStatus{Index: i, Summary: "state=absent"}
		if !e.Null {
			out[i].Summary = string(e.Str)
		}
	}
	r.procs.Store(&out)
	return nil
}

// claim is what another process's summary says about it.
type claim struct {
	updated string // the summary's updated= field: changes while the process lives
}

// owns reports whether this process follows the shard described by info: the rule
// of Owner gives it the shard, and no other live process already follows the
// shard's node. The second part matters after a reshard moved a shard's lowest slot
// into this process's band: the process that followed the shard keeps it (a link
// keeps its Handler), so this one, restarted alone, must not take it too.
func (r *Replicator) owns(ctx context.Context, info source.ShardInfo) bool {
	if !r.cfg.Assign.Owns(info) {
		return false
	}
	if r.cfg.Assign.Count <= 1 {
		return true
	}
	live, err := r.claimedElsewhere(ctx, info)
	if err != nil {
		r.log.Warn("cannot read the other processes' status; following the assignment rule", "shard", info.Index, "err", err)
		return true
	}
	if live {
		r.log.Warn("another live xsync process already follows this source shard (a reshard since it started); "+
			"leaving it there until the processes restart together",
			"shard", info.Index, "node", info.Node.Addr, "assignment", r.cfg.Assign.String())
		return false
	}
	return true
}

// claimedElsewhere reports whether another process's status lists the shard's
// node, and that process is alive: its summary is rewritten (updated= changes)
// within the status key's time to live. A summary left by a process that just
// stopped expires instead, and then the shard is not claimed.
func (r *Replicator) claimedElsewhere(ctx context.Context, info source.ShardInfo) (bool, error) {
	first, err := r.claims(ctx, info)
	if err != nil || len(first) == 0 {
		return false, err
	}
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	deadline := r.cfg.Now().Add(statusTTL + 2*statusInterval)
	for r.cfg.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
		cur, err := r.claims(ctx, info)
		if err != nil {
			return false, err
		}
		if len(cur) == 0 {
			return false, nil
		}
		for j, c := range cur {
			if f, ok := first[j]; ok && f.updated != c.updated {
				return true, nil
			}
		}
	}
	return true, nil // still claimed after the time to live: the claim is real
}

// claims reads the status of the other processes and returns those that follow
// the node (or master) of info, by index.
func (r *Replicator) claims(ctx context.Context, info source.ShardInfo) (map[int]claim, error) {
	prefix := r.cfg.Translate.InternalPrefix
	mget := [][]byte{[]byte("MGET")}
	for i := 0; i < r.cfg.Assign.Count; i++ {
		mget = append(mget, []byte(statusKey(prefix, i)))
	}
	v, err := r.applier.Do(ctx, slots.SlotString(statusKey(prefix, 0)), mget...)
	if err != nil {
		return nil, err
	}
	if v.IsError() || len(v.Elems) != r.cfg.Assign.Count {
		return nil, fmt.Errorf("xsync/replicator: MGET of the status keys: %s", v.String())
	}
	out := map[int]claim{}
	for j, e := range v.Elems {
		if j == r.cfg.Assign.Index || e.Null {
			continue // this process's own summary is from its previous life
		}
		f := summaryFields(string(e.Str))
		if f["state"] == string(StateStopped) {
			continue
		}
		for _, n := range strings.Split(f["nodes"], "|") {
			if n != "" && (n == info.Node.Addr || n == info.Master.Addr) {
				out[j] = claim{updated: f["updated"]}
			}
		}
	}
	return out, nil
}

// summaryFields splits a summary "k=v,k=v" into its fields.
func summaryFields(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
