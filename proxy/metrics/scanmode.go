package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xsync/xsync/replicator"
)

// Scan mode (SCAN + DUMP and keyspace notifications, replicator/scansrc).

var (
	descScanMode    = prometheus.NewDesc("xsync_source_mode", "How the source is read: 1 for the mode in use (psync or scan).", []string{"mode"}, nil)
	descScanDirty   = prometheus.NewDesc("xsync_scan_dirty_keys", "Scan mode: changed keys waiting to be copied again.", nil, nil)
	descScanCopies  = prometheus.NewDesc("xsync_scan_copies_total", "Scan mode: keys copied (RESTORE or commands).", nil, nil)
	descScanDeletes = prometheus.NewDesc("xsync_scan_deletes_total", "Scan mode: keys deleted on the destination because they were gone on the source.", nil, nil)
	descScanRate    = prometheus.NewDesc("xsync_scan_copies_per_second", "Scan mode: copies and deletes in the last second.", nil, nil)
	descScanRescans = prometheus.NewDesc("xsync_scan_rescans_total", "Scan mode: scans started again after a lost notification connection or too many dirty keys.", nil, nil)
	descScanScanned = prometheus.NewDesc("xsync_scan_keys_scanned_total", "Scan mode: keys returned by SCAN.", nil, nil)
	descScanNotes   = prometheus.NewDesc("xsync_scan_notifications_total", "Scan mode: keyspace notifications received.", nil, nil)
)

func describeScan(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descScanMode, descScanDirty, descScanCopies, descScanDeletes, descScanRate, descScanRescans, descScanScanned, descScanNotes} {
		ch <- d
	}
}

func collectScan(ch chan<- prometheus.Metric, st replicator.Status) {
	if st.SourceMode != "" {
		ch <- prometheus.MustNewConstMetric(descScanMode, prometheus.GaugeValue, 1, st.SourceMode)
	}
	sc := st.Scan
	if sc == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descScanDirty, prometheus.GaugeValue, float64(sc.DirtyKeys))
	ch <- prometheus.MustNewConstMetric(descScanCopies, prometheus.CounterValue, float64(sc.Copies))
	ch <- prometheus.MustNewConstMetric(descScanDeletes, prometheus.CounterValue, float64(sc.Deletes))
	ch <- prometheus.MustNewConstMetric(descScanRate, prometheus.GaugeValue, sc.CopiesPerSec)
	ch <- prometheus.MustNewConstMetric(descScanRescans, prometheus.CounterValue, float64(sc.Rescans))
	ch <- prometheus.MustNewConstMetric(descScanScanned, prometheus.CounterValue, float64(sc.KeysScanned))
	ch <- prometheus.MustNewConstMetric(descScanNotes, prometheus.CounterValue, float64(sc.Notifications))
}
