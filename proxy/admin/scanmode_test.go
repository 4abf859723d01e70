package admin

import (
	"strings"
	"testing"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/scansrc"
)

func TestScanInfo(t *testing.T) {
	var b strings.Builder
	writeXsyncInfo(&b, replicator.Status{State: replicator.StateStream, SourceMode: "scan",
		Scan: &scansrc.Stats{Masters: 3, DirtyKeys: 7, Copies: 100, Rescans: 2, CopiesPerSec: 40}})
	for _, want := range []string{"source_mode:scan\r\n", "scan_masters:3\r\n", "scan_dirty_keys:7\r\n", "scan_copies:100\r\n", "scan_rescans:2\r\n", "scan_copies_per_sec:40\r\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("INFO xsync lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	writeXsyncInfo(&b, replicator.Status{State: replicator.StateStream, SourceMode: "psync"})
	if !strings.Contains(b.String(), "source_mode:psync\r\n") || strings.Contains(b.String(), "scan_") {
		t.Errorf("INFO xsync in PSYNC mode:\n%s", b.String())
	}
}
