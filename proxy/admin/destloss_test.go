package admin

import (
	"strings"
	"testing"

	"github.com/xsync/xsync/replicator"
)

// TestDestLossReported: a heal in progress and drifted keys show in INFO
// xsync (proxy/metrics checks /metrics and /healthz).
func TestDestLossReported(t *testing.T) {
	cases := []struct {
		name     string
		st       func(*replicator.Status)
		info     []string
		metrics  []string
		healthz  int
		healthzS string
	}{
		{"clean", func(*replicator.Status) {}, []string{"dest_loss_events:0", "drift_keys:0"}, []string{"xsync_dest_loss_healing 0", "xsync_drift_keys 0"}, 200, "ok"},
		{"healing", func(st *replicator.Status) {
			st.State = replicator.StateHealing
			st.DestLoss = replicator.DestLossStatus{Policy: "heal", Events: 1, Healing: true, LastCause: "127.0.0.1:7001: a master not seen before", LastSlots: 5461, LastMode: "fullsync", SlotsLost: 5461}
		}, []string{"state:healing", "dest_loss_events:1", "dest_loss_healing:1", "dest_loss_slots:5461", "dest_loss_last_mode:fullsync"},
			[]string{"xsync_dest_loss_healing 1", "xsync_dest_loss_slots_total 5461", "xsync_dest_loss_events_total 1"}, 503, "5461 slots"},
		{"drift", func(st *replicator.Status) {
			st.Drift = replicator.DriftStatus{Rate: 20, Checked: 300, Keys: 2, Sample: []string{"a", "b"}}
		}, []string{"verify_rate:20", "verify_checked:300", "drift_keys:2", "drift_sample:a,b"}, []string{"xsync_drift_keys 2", "xsync_verify_checked_total 300"}, 503, "a, b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := testStatus()
			st.LagBytes, st.Shards[0].LagBytes = 0, 0
			c.st(&st)
			var b strings.Builder
			writeXsyncInfo(&b, st)
			for _, want := range c.info {
				if !strings.Contains(b.String(), want+"\r\n") {
					t.Errorf("INFO xsync lacks %q:\n%s", want, b.String())
				}
			}
		})
	}
}
