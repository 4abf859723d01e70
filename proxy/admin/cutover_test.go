package admin

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/replicator"
)

// TestAdminCutoverRefusals: without a gateway and without followers XSYNC
// CUTOVER is refused unless FORCE; after a cutover XSYNC RESUME is refused.
func TestAdminCutoverRefusals(t *testing.T) {
	ctl := &fakeCtl{st: testStatus()}
	paused := false
	co, err := cutover.New(cutover.Config{
		Status:       ctl.Status,
		SourceOffset: func(context.Context, string) (int64, error) { return 0, nil },
		OnSwitch:     func() error { paused = true; return ctl.Pause() },
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := startAdmin(t, Config{Cutover: co}, ctl)
	c := redis.NewClient(&redis.Options{Addr: a.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	if err := c.Do(ctx, "XSYNC", "CUTOVER").Err(); err == nil || !strings.Contains(err.Error(), "no gateway to cut over") {
		t.Fatalf("XSYNC CUTOVER without a gateway: %v", err)
	}
	if paused || co.Info().State != cutover.StateIdle {
		t.Fatalf("the refused cutover changed something: paused %v, state %s", paused, co.Info().State)
	}
	if s, err := c.Do(ctx, "XSYNC", "CUTOVER", "5", "FORCE").Text(); err != nil || !strings.HasPrefix(s, "OK cutover done") {
		t.Fatalf("XSYNC CUTOVER 5 FORCE: %q, %v", s, err)
	}
	if err := c.Do(ctx, "XSYNC", "RESUME").Err(); err == nil || !strings.Contains(err.Error(), "the cutover is done") {
		t.Fatalf("XSYNC RESUME after the cutover: %v", err)
	}
	if ctl.Status().State != replicator.StatePaused {
		t.Errorf("the replicator was resumed")
	}
}
