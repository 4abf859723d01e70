package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator"
)

// TestDestLossReported: a heal in progress and drifted keys show in /metrics
// and make /healthz fail (proxy/admin checks the same cases in INFO xsync).
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
			m, err := New(Config{Addr: "127.0.0.1:0", StuckAfter: time.Hour}, fixedStatus(st))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go m.Serve(ctx)
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := http.Get("http://" + m.Addr() + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			_, body := get("/metrics")
			for _, want := range c.metrics {
				if !strings.Contains(body, want+"\n") {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			if code, body := get("/healthz"); code != c.healthz || !strings.Contains(body, c.healthzS) {
				t.Errorf("/healthz = %d %q, want %d with %q", code, body, c.healthz, c.healthzS)
			}
		})
	}
}
