// Package gateway is the client gateway: a RESP endpoint on gnet that looks like
// one non-cluster Redis to its clients and forwards their commands by hash slot
// to the current backend (the source until the cutover, the destination after).
// It follows MOVED/ASK, fans multi-key and keyless commands out, runs blocking
// commands and pub/sub on dedicated connections, and holds writes during a
// cutover.
//
// The cutover steers it through interfaces that package cutover defines:
// Server implements cutover.Gate, cutover.Preparer, cutover.FollowerGate and
// cutover.InfoFielder. The dependency therefore runs gateway → cutover (for
// cutover.ErrNotHolding only) and never back: cutover does not import gateway,
// and admin, which runs XSYNC CUTOVER, imports cutover but not gateway. The
// command wires a Server into a cutover.Config.
package gateway
