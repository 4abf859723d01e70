package admin

import (
	"strconv"

	"github.com/xsync/xsync/replicator"
)

// writeScanInfo adds source_mode and, in scan mode (SCAN + DUMP and keyspace
// notifications, replicator/scansrc), the scan_* fields to INFO xsync.
func writeScanInfo(field func(k, v string), st replicator.Status) {
	if st.SourceMode != "" {
		field("source_mode", st.SourceMode)
	}
	sc := st.Scan
	if sc == nil {
		return
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	field("scan_masters", strconv.Itoa(sc.Masters))
	field("scan_scanning", strconv.Itoa(sc.Scanning))
	field("scan_keys_scanned", i64(sc.KeysScanned))
	field("scan_first_scan_seconds", strconv.FormatFloat(sc.FirstScanSecs, 'f', 3, 64))
	field("scan_scans_done", i64(sc.ScansDone))
	field("scan_rescans", i64(sc.Rescans))
	field("scan_dirty_keys", i64(sc.DirtyKeys))
	field("scan_copies", i64(sc.Copies))
	field("scan_deletes", i64(sc.Deletes))
	field("scan_compared", i64(sc.Compared))
	field("scan_copies_per_sec", strconv.FormatFloat(sc.CopiesPerSec, 'f', 0, 64))
	field("scan_notifications", i64(sc.Notifications))
}
