package cutover

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/replicator"
)

// TestCutoverRefusesScanMode: scan mode has no replication offsets to wait for,
// so the exact cutover is refused (and rolled back) with what to do instead.
func TestCutoverRefusesScanMode(t *testing.T) {
	co, err := New(Config{Status: func() replicator.Status { return replicator.Status{SourceMode: "scan", State: replicator.StateStream} }, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = co.RunForced(context.Background(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "not available in scan mode") {
		t.Fatalf("Run in scan mode: %v", err)
	}
}
