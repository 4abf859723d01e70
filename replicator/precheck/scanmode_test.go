package precheck

import (
	"context"
	"strings"
	"testing"

	"github.com/xsync/xsync/internal/redistest"
)

// TestScanModeChecks: against the stand-in of a managed service, auto turns the
// missing replication commands into a warning (sync falls back to scan mode)
// and checks notify-keyspace-events, with what to set and where; psync keeps
// the failure.
func TestScanModeChecks(t *testing.T) {
	src := redistest.Start(t, redistest.Options{NoReplication: true})
	dst := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	for i := range 100 {
		src.Client().Set(ctx, "k"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+strings.Repeat("y", i), "v", 0)
	}
	cfg := Config{Source: endpoint(src.Addr()), Target: endpoint(dst.Addr())}
	rs := run(t, cfg)
	if r := find(t, rs, "source-replication-permission"); r.Level != Warn {
		t.Errorf("auto: replication permission %v, want WARN (falls back to scan)", r.Level)
	}
	r := find(t, rs, "scan-notifications")
	if r.Level != Fail || !strings.Contains(r.Fix, "CONFIG SET notify-keyspace-events KEA") || !strings.Contains(r.Fix, "parameter group") {
		t.Errorf("scan-notifications without keyspace events: %+v", r)
	}
	if r := find(t, rs, "scan-estimate"); !strings.Contains(r.Found, "100 keys") {
		t.Errorf("scan-estimate: %+v, want the DBSIZE of 100 keys", r)
	}
	if err := src.Client().ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	if r := find(t, run(t, cfg), "scan-notifications"); r.Level != Pass {
		t.Errorf("scan-notifications with KEA: %+v", r)
	}
	cfg.SourceMode = "psync"
	rs = run(t, cfg)
	if r := find(t, rs, "source-replication-permission"); r.Level != Fail {
		t.Errorf("psync: replication permission %v, want FAIL", r.Level)
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Name, "scan-") {
			t.Errorf("psync mode ran %s", r.Name)
		}
	}
}
