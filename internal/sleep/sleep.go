// Package sleep holds the one context-aware sleep of the module.
package sleep

import (
	"context"
	"time"
)

// For waits d, or until ctx is done, and then returns ctx.Err() (nil when d passed
// first). A d of zero or less does not wait.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
