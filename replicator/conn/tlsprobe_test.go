package conn

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/redistest"
)

// TestTLSToPlainPort: rediss:// to a port that serves plain RESP fails with
// "does not speak TLS" after the probe's wait, not after the dial timeout.
func TestTLSToPlainPort(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	o := Options{Addr: srv.Addr(), TLS: &tls.Config{InsecureSkipVerify: true}, DialTimeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	_, err := Dial(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Fatalf("Dial = %v, want 'does not speak TLS'", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the dial waited for its timeout")
	}
}
