package apply

import "context"

// Ready blocks until Run has connected to the destination (its version, kind and
// slot table are known), Run failed (its error is returned), or ctx is done.
func (a *Applier) Ready(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.waitLocked(ctx, false, func() bool { return a.ready })
}
