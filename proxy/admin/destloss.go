package admin

import (
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator"
)

// Destination data loss and live drift, in INFO, /metrics and /healthz.

// writeDestLossInfo adds the dest_loss_* and drift_* fields to INFO xsync.
func writeDestLossInfo(field func(k, v string), st replicator.Status) {
	d := st.DestLoss
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	field("dest_loss_policy", d.Policy)
	field("dest_loss_events", i64(d.Events))
	field("dest_loss_suspects", i64(d.Suspects))
	field("dest_loss_healing", boolInt(d.Healing))
	field("dest_loss_slots", i64(d.SlotsLost))
	field("dest_loss_keys_reapplied", i64(d.KeysReapplied))
	field("dest_loss_last_slots", strconv.Itoa(d.LastSlots))
	field("dest_loss_last_mode", d.LastMode)
	field("dest_loss_last_seconds", strconv.FormatFloat(d.LastSeconds, 'f', 3, 64))
	field("dest_loss_last_cause", oneLine(d.LastCause))
	field("dest_loss_errors_explained", i64(d.ErrorsExplained))
	field("dest_loss_errors_held", strconv.Itoa(d.ErrorsHeld))
	dr := st.Drift
	field("verify_rate", strconv.Itoa(dr.Rate))
	field("verify_checked", i64(dr.Checked))
	field("drift_keys", i64(dr.Keys))
	field("drift_sample", oneLine(strings.Join(dr.Sample, ",")))
}

func boolInt(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
