package metrics

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xsync/xsync/replicator"
)

// Destination data loss and live drift, in INFO, /metrics and /healthz.

// destLossUnhealthy is why /healthz fails for a destination that lost data or
// drifted; "" when neither.
func destLossUnhealthy(st replicator.Status) string {
	if st.DestLoss.Healing {
		return fmt.Sprintf("healing: the destination lost data (%s); %d slots being re-applied (%s)",
			st.DestLoss.LastCause, st.DestLoss.LastSlots, st.DestLoss.LastMode)
	}
	if st.Drift.Keys > 0 {
		return fmt.Sprintf("drift: %d sampled keys differ between source and destination, e.g. %s",
			st.Drift.Keys, strings.Join(st.Drift.Sample, ", "))
	}
	return ""
}

var (
	descLossEvents    = prometheus.NewDesc("xsync_dest_loss_events_total", "Destination data losses detected (slots that lost acknowledged writes).", nil, nil)
	descLossHealing   = prometheus.NewDesc("xsync_dest_loss_healing", "1 while slots that lost writes are being re-applied.", nil, nil)
	descLossSlots     = prometheus.NewDesc("xsync_dest_loss_slots_total", "Destination slots that lost writes, all events.", nil, nil)
	descLossKeys      = prometheus.NewDesc("xsync_dest_loss_keys_reapplied_total", "Keys written again by full syncs and stream ops replayed to heal destination losses.", nil, nil)
	descLossExplained = prometheus.NewDesc("xsync_dest_loss_errors_explained_total", "Destination error replies that a data loss explained (re-applied by its heal instead of stopping the sync).", nil, nil)
	descVerifyChecked = prometheus.NewDesc("xsync_verify_checked_total", "Sampled keys compared with the destination (--verify-rate).", nil, nil)
	descDriftKeys     = prometheus.NewDesc("xsync_drift_keys", "Sampled keys that still differ after the lag covered their writes.", nil, nil)
)

func describeDestLoss(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLossEvents, descLossHealing, descLossSlots, descLossKeys, descLossExplained, descVerifyChecked, descDriftKeys} {
		ch <- d
	}
}

func collectDestLoss(ch chan<- prometheus.Metric, st replicator.Status) {
	d := st.DestLoss
	healing := 0.0
	if d.Healing {
		healing = 1
	}
	ch <- prometheus.MustNewConstMetric(descLossEvents, prometheus.CounterValue, float64(d.Events))
	ch <- prometheus.MustNewConstMetric(descLossHealing, prometheus.GaugeValue, healing)
	ch <- prometheus.MustNewConstMetric(descLossSlots, prometheus.CounterValue, float64(d.SlotsLost))
	ch <- prometheus.MustNewConstMetric(descLossKeys, prometheus.CounterValue, float64(d.KeysReapplied))
	ch <- prometheus.MustNewConstMetric(descLossExplained, prometheus.CounterValue, float64(d.ErrorsExplained))
	ch <- prometheus.MustNewConstMetric(descVerifyChecked, prometheus.CounterValue, float64(st.Drift.Checked))
	ch <- prometheus.MustNewConstMetric(descDriftKeys, prometheus.GaugeValue, float64(st.Drift.Keys))
}
