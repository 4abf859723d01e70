package admin

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator"
)

// info renders INFO in Redis's format: "# Section" headers, "field:value" lines,
// CRLF line ends, a blank line between sections.
func (a *Server) info(section string) string {
	st := a.ctl.Status()
	var b strings.Builder
	all := section == "default" || section == "all" || section == "everything"
	if all || section == "server" {
		a.infoServer(&b, st)
	}
	if all || section == "xsync" {
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		writeXsyncInfo(&b, st)
		if a.cfg.Extra != nil {
			for _, kv := range a.cfg.Extra() {
				fmt.Fprintf(&b, "%s:%s\r\n", kv[0], kv[1])
			}
		}
		if p, ok := a.ctl.(processLister); ok {
			// Scale-out: every process, as each last wrote itself into the destination.
			for _, ps := range p.Processes() {
				fmt.Fprintf(&b, "process%d:%s\r\n", ps.Index, ps.Summary)
			}
		}
	}
	return b.String()
}

func (a *Server) infoServer(b *strings.Builder, st replicator.Status) {
	up := time.Duration(0)
	if !st.Started.IsZero() {
		up = time.Since(st.Started)
	}
	fmt.Fprintf(b, "# Server\r\n")
	fmt.Fprintf(b, "xsync_version:%s\r\n", a.cfg.Version)
	fmt.Fprintf(b, "go_version:%s\r\n", runtime.Version())
	fmt.Fprintf(b, "process_id:%d\r\n", os.Getpid())
	fmt.Fprintf(b, "tcp_port:%s\r\n", portOf(a.Addr()))
	fmt.Fprintf(b, "uptime_in_seconds:%d\r\n", int64(up.Seconds()))
	fmt.Fprintf(b, "admin_rejected_maxclients:%d\r\n", a.rejectedMaxClients.Load())
	fmt.Fprintf(b, "admin_protocol_errors:%d\r\n", a.protocolErrors.Load())
}

// processLister is a Controller that knows the other processes of a scale-out.
type processLister interface {
	Processes() []replicator.ProcessStatus
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

// writeXsyncInfo writes the "# Xsync" section. Tools parse these names: keep them.
func writeXsyncInfo(b *strings.Builder, st replicator.Status) {
	b.WriteString("# Xsync\r\n")
	field := func(k, v string) { b.WriteString(k + ":" + v + "\r\n") }
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f3 := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	field("state", string(st.State))
	if st.DestServer != "" {
		field("dest_server", oneLine(st.DestServer))
	}
	field("shards", strconv.Itoa(len(st.Shards)))
	field("fullsync_keys_done", i64(st.KeysDone))
	field("fullsync_keys_total", i64(st.KeysTotal))
	field("fullsync_bytes_done", i64(st.BytesDone))
	field("ops_applied", i64(st.OpsApplied))
	field("ops_per_sec", strconv.FormatFloat(st.OpsPerSec, 'f', 0, 64))
	field("lag_bytes", i64(st.LagBytes))
	field("lag_seconds", f3(st.LagSeconds))
	field("errors", i64(st.Errors))
	field("barrier_errors", i64(st.BarrierErrors))
	writeDestLossInfo(field, st)
	writeScanInfo(field, st)
	field("downgrade_dropped", i64(st.DowngradeDropped))
	for _, sh := range st.Shards {
		fmt.Fprintf(b, "shard%d:addr=%s,state=%s,received_offset=%d,applied_offset=%d,lag_bytes=%d,lag_seconds=%s,keys_done=%d,keys_total=%d,bytes_done=%d,full_syncs=%d,errors=%d\r\n",
			sh.Index, sh.Addr, sh.State, sh.ReceivedOffset, sh.AppliedOffset, sh.LagBytes, f3(sh.LagSeconds),
			sh.KeysDone, sh.KeysTotal, sh.BytesDone, sh.FullSyncs, sh.Errors)
	}
}
