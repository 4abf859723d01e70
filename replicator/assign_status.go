package replicator

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

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
