package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// Config configures an Applier. The zero value of every field but Addrs means its
// default, filled in by validate.
type Config struct {
	// Addrs are seed addresses (host:port) of the destination: any node of a
	// cluster, or the one server of a standalone destination. Required.
	Addrs []string
	// Conn holds the credentials, TLS and timeouts used for every destination
	// connection; its Addr is ignored. Defaults are those of conn.Options.
	Conn conn.Options
	// ConnsPerNode is the number of pipelined connections per destination master.
	// A slot always uses the same one (slot modulo ConnsPerNode), so per-key order
	// holds. Default 1.
	ConnsPerNode int
	// BatchCommands is the most ops written in one batch (one write call). A batch
	// is written when it is full or when the node's queue is empty. Default 512.
	BatchCommands int
	// BatchBytes is the most bytes written in one batch. Default 256 KiB.
	BatchBytes int
	// InflightCommands bounds the ops written to one connection and not yet
	// answered. Default 4096.
	InflightCommands int
	// InflightBytes bounds the bytes written to one connection and not yet
	// answered. Default 16 MiB.
	InflightBytes int
	// MaxPendingOps bounds the ops submitted and not yet acknowledged, over all
	// nodes; Submit blocks beyond it. Default 65536.
	MaxPendingOps int
	// MaxPendingBytes bounds the bytes of the ops submitted and not yet
	// acknowledged; Submit blocks beyond it. Default 256 MiB.
	MaxPendingBytes int64
	// OnError is the policy for error replies that a retry cannot fix (OOM,
	// WRONGTYPE, BUSYKEY, NOSCRIPT without a known body, EXECABORT, ERR ...).
	// Default PolicyStop.
	OnError ErrorPolicy
	// Policies overrides OnError per kind of error (for example skip WRONGTYPE
	// but stop on OOM). Default empty.
	Policies map[ErrorKind]ErrorPolicy
	// Hold, when set, is asked about every error reply that PolicyStop would
	// end Run with, OOM aside. When it returns true the error is held instead:
	// counted (Stats.Errors, Stats.Held), logged, and the op taken as applied;
	// the caller decides later whether it ends the sync. It is the hook of the
	// destination-loss guard: a write that failed because the destination lost
	// the key it needed (NOGROUP, "no such key") is re-applied by the heal that
	// follows the loss. It is called with the applier's lock held and must not
	// block. Default nil.
	Hold func(HeldError) bool
	// BackoffMin is the first delay before a retry of TRYAGAIN, CLUSTERDOWN,
	// LOADING, MASTERDOWN, BUSY, READONLY and lost connections; it doubles per
	// attempt. Default 10ms.
	BackoffMin time.Duration
	// BackoffMax caps the retry delay. Default 1s.
	BackoffMax time.Duration
	// RetryTimeout ends Run with an error when one op has been retried for this
	// long without success. Default 5m; negative means retry forever.
	RetryTimeout time.Duration
	// ReplyTimeout is how long a connection with ops in flight may stay silent
	// before it is considered lost. Default 30s.
	ReplyTimeout time.Duration
	// DrainTimeout is how long Run waits, once its context is cancelled, for the
	// ops already submitted to be acknowledged. Default 10s.
	DrainTimeout time.Duration
	// Recheck, when set, is called before an op whose reply was lost (the
	// connection broke after it was written) is sent again; it reports whether
	// the op was already applied, in which case it is not re-sent. It is the hook
	// for checkpoints. When nil such ops are re-sent: delivery is at-least-once
	// for them, and Stats.Resent counts them. A lost op that precedes, in its
	// (Source, Slot) order, an op Recheck found applied is taken as applied
	// without asking (the destination ran them in order). When Recheck fails,
	// its lane waits a backoff and asks again (bounded by RetryTimeout): the op
	// is never re-sent without an answer. Default nil.
	Recheck func(ctx context.Context, d Dest, op Op) (applied bool, err error)
	// OnReply, when set, is called from a connection's reader for every op
	// acknowledged, with the destination node and the time from the write of its
	// batch to its (last) reply. It must be fast and must not block (a histogram's
	// Observe). Default nil.
	OnReply func(node string, latency time.Duration)
	// Logger receives warnings (skipped errors, retries, topology changes).
	// Default slog.Default() with attribute component=apply.
	Logger *slog.Logger
}

// ErrorPolicy says what to do with an error reply that a retry cannot fix.
type ErrorPolicy uint8

const (
	// PolicyStop ends Run with an error naming the key, the command and the
	// reply; the op is not acknowledged.
	PolicyStop ErrorPolicy = iota
	// PolicySkip logs the error with the key and the command name (the first
	// 100 of each kind, then every 1000th, with the count), counts it per kind
	// in Stats, and goes on; the op counts as applied.
	PolicySkip
)

func (p ErrorPolicy) String() string {
	switch p {
	case PolicyStop:
		return "stop"
	case PolicySkip:
		return "skip"
	}
	return fmt.Sprintf("ErrorPolicy(%d)", uint8(p))
}

func (c *Config) validate() error {
	if len(c.Addrs) == 0 {
		return errors.New("xsync/apply: Config.Addrs is empty: give at least one destination node address")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.ConnsPerNode, 1)
	def(&c.BatchCommands, 512)
	def(&c.BatchBytes, 256<<10)
	def(&c.InflightCommands, 4096)
	def(&c.InflightBytes, 16<<20)
	def(&c.MaxPendingOps, 16384)
	if c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = 16 << 20
	}
	durs := []struct {
		v *time.Duration
		d time.Duration
	}{{&c.BackoffMin, 10 * time.Millisecond}, {&c.BackoffMax, time.Second},
		{&c.RetryTimeout, 5 * time.Minute}, {&c.ReplyTimeout, 30 * time.Second},
		{&c.DrainTimeout, 10 * time.Second}}
	for _, x := range durs {
		if *x.v == 0 {
			*x.v = x.d
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default().With("component", "apply")
	}
	switch {
	case c.ConnsPerNode < 0 || c.ConnsPerNode > 64:
		return fmt.Errorf("xsync/apply: Config.ConnsPerNode %d out of range 1..64", c.ConnsPerNode)
	case c.BatchCommands < 0 || c.BatchBytes < 0 || c.InflightCommands < 0 || c.InflightBytes < 0 ||
		c.MaxPendingOps < 0 || c.MaxPendingBytes < 0:
		return errors.New("xsync/apply: Config batch, inflight and pending limits must not be negative")
	case c.InflightCommands < c.BatchCommands:
		return fmt.Errorf("xsync/apply: Config.InflightCommands (%d) is smaller than BatchCommands (%d)", c.InflightCommands, c.BatchCommands)
	case c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("xsync/apply: Config.BackoffMax (%v) must be at least BackoffMin (%v)", c.BackoffMax, c.BackoffMin)
	case c.OnError > PolicySkip:
		return fmt.Errorf("xsync/apply: Config.OnError: unknown policy %d", c.OnError)
	}
	for k, p := range c.Policies {
		if p > PolicySkip || k >= numErrorKinds {
			return fmt.Errorf("xsync/apply: Config.Policies: bad entry %v=%v", k, p)
		}
	}
	return nil
}

func (c *Config) policy(k ErrorKind) ErrorPolicy {
	if p, ok := c.Policies[k]; ok {
		return p
	}
	return c.OnError
}
