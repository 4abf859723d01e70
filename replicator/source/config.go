package source

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// Defaults of Config.
const (
	DefaultReadTimeout          = 60 * time.Second
	DefaultAckInterval          = time.Second
	DefaultBackoffMin           = 100 * time.Millisecond
	DefaultBackoffMax           = 30 * time.Second
	DefaultExpectedSnapshotRate = 50 << 20 // bytes/s assumed for a transfer without rate limit
)

// LinkConfig configures one Link.
type LinkConfig struct {
	// Addr is the node to replicate from, host:port. Required.
	Addr string
	// Conn holds credentials, TLS and dial settings; its Addr is ignored.
	Conn conn.Options
	// ListeningPort is sent as REPLCONF listening-port (the master shows it in INFO
	// replication). Default 0.
	ListeningPort int
	// ReplID and Offset say where to resume: PSYNC ReplID Offset+1, where Offset is
	// the master offset of the last byte already handled. Empty ReplID: full sync
	// (PSYNC ? -1).
	ReplID string
	Offset int64
	// DB is the database selected in the stream at Offset (a resumed stream need not
	// start with SELECT). Default 0.
	DB int
	// Logger receives the link's logs. Default: discard.
	Logger *slog.Logger
	// Backoff spaces reconnection attempts. Defaults: 100ms to 30s, factor 2, jittered.
	Backoff Backoff
	// ReadTimeout declares the link dead when no byte arrived for that long (like
	// Redis repl-timeout). Default 60s.
	ReadTimeout time.Duration
	// AckInterval is the period of REPLCONF ACK once the snapshot is received. Default 1s.
	AckInterval time.Duration
	// SpoolDir, when set, receives the snapshot in a temporary file at network speed
	// before the Handler reads it from there (relieves the master's output buffer when
	// the Handler is slow). Default "": the Handler reads from the network.
	SpoolDir string
	// SnapshotRateLimit caps snapshot bytes read per second. Default 0: no cap.
	SnapshotRateLimit int64
	// ExpectedSnapshotRate (bytes/s) estimates the transfer time in the buffer check
	// made before a full sync when there is no SnapshotRateLimit. Default 50 MiB/s.
	ExpectedSnapshotRate int64
	// Clock measures time for rate limiting and backoff. Default: the system clock.
	Clock Clock
	// OnError, when set, is called after a session failed with an error that will be
	// retried (the Source uses it to re-read the topology). It must not block.
	OnError func(err error)
}

func (c *LinkConfig) validate() error {
	if c.Addr == "" {
		return errors.New("xsync/source: Config.Addr is empty: give the node as host:port")
	}
	if c.Offset < 0 || c.DB < 0 {
		return fmt.Errorf("xsync/source: %s: negative resume offset %d or db %d", c.Addr, c.Offset, c.DB)
	}
	if c.ListeningPort < 0 || c.ListeningPort > 65535 {
		return fmt.Errorf("xsync/source: %s: listening port %d out of range", c.Addr, c.ListeningPort)
	}
	if c.SnapshotRateLimit < 0 {
		return fmt.Errorf("xsync/source: %s: negative SnapshotRateLimit", c.Addr)
	}
	if c.SpoolDir != "" {
		if st, err := os.Stat(c.SpoolDir); err != nil || !st.IsDir() {
			return fmt.Errorf("xsync/source: SpoolDir %q is not a directory: create it or leave it empty", c.SpoolDir)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.AckInterval <= 0 {
		c.AckInterval = DefaultAckInterval
	}
	if c.ExpectedSnapshotRate <= 0 {
		c.ExpectedSnapshotRate = DefaultExpectedSnapshotRate
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	c.Backoff.fill()
	return nil
}

// Backoff is a capped exponential backoff with jitter.
type Backoff struct {
	Min    time.Duration // first delay; default 100ms
	Max    time.Duration // cap; default 30s
	Factor float64       // growth per attempt; default 2
}

func (b *Backoff) fill() {
	if b.Min <= 0 {
		b.Min = DefaultBackoffMin
	}
	if b.Max < b.Min {
		b.Max = max(DefaultBackoffMax, b.Min)
	}
	if b.Factor < 1 {
		b.Factor = 2
	}
}

// Delay returns the wait before attempt n (0-based): a random value in [d/2, d]
// where d = min(Max, Min*Factor^n).
func (b Backoff) Delay(n int) time.Duration {
	b.fill()
	d := float64(b.Min)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	d = min(d, float64(b.Max))
	return time.Duration(d/2 + rand.Float64()*d/2)
}

// Clock is the time source of a Link (a fake one makes rate limits testable).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
