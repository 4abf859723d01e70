package cutover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/resp"
)

// State is where a cutover stands, as INFO xsync reports it (cutover_state).
type State string

// Cutover states. Followers (gateways of other processes) hold in StateHold,
// switch in StateDone and release to the source in StateRolledBack.
const (
	StateIdle       State = "idle"       // none yet
	StateHold       State = "hold"       // writes held; waiting for the destination to catch up
	StateDone       State = "done"       // the destination is the backend
	StateRolledBack State = "rolledback" // the last attempt failed; the source is still the backend
)

// ErrNotHolding is what a Gate returns from Switch or Rollback without a Hold.
var ErrNotHolding = errors.New("xsync/cutover: the gateway is not holding writes")

// Gate is what a cutover steers: a gateway (gateway.Server implements it).
type Gate interface {
	// Hold holds new writes and returns when no write is in flight any more.
	Hold(ctx context.Context) error
	// Switch makes the destination the backend and releases the held writes to it.
	Switch() error
	// Rollback releases the held writes to the source.
	Rollback() error
}

// Preparer is a Gate that can get ready before the hold (open connections to
// the destination), so that the pause does not include it.
type Preparer interface {
	Prepare(ctx context.Context) error
}

// Config configures a Coordinator.
type Config struct {
	// Status is the replicator's status (per shard: the source node followed and
	// the applied offset). Required.
	Status func() replicator.Status
	// Gate is the gateway of this process. Default none: only followers hold.
	Gate Gate
	// Timeout bounds a cutover when XSYNC CUTOVER gives none. Default 30s.
	Timeout time.Duration
	// SourceConn holds the source's credentials and TLS, to read the masters'
	// offsets. Addr is set per node.
	SourceConn conn.Options
	// SourceOffset reads a source node's master_repl_offset (from its master when
	// the node is a replica). Default: INFO replication over SourceConn.
	SourceOffset func(ctx context.Context, addr string) (int64, error)
	// Mark, when set, runs just before the switch (e.g. writes a cutover marker in
	// the destination); its failure rolls the cutover back. Default none.
	Mark func(ctx context.Context, at time.Time) error
	// OnSwitch, when set, runs once the destination has caught up, just before
	// the switch: xsync sync pauses the replicator there, so that what the source
	// still sends (its own expirations, as DEL) cannot overwrite the clients' new
	// writes on the destination. Its error is logged. Default none.
	OnSwitch func() error
	// FollowerTTL is how long a follower counts after its last poll. Default 3s.
	FollowerTTL time.Duration
	// Poll is how often the applied offsets and the followers are checked.
	// Default 2ms.
	Poll time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time

	offsets *offsetReader // the default SourceOffset
}

func (c *Config) validate() error {
	if c.Status == nil {
		return errors.New("xsync/cutover: cutover: no replicator status")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.SourceOffset == nil {
		c.offsets = &offsetReader{o: c.SourceConn, conns: map[string]*conn.Conn{}}
		c.SourceOffset = c.offsets.read
	}
	if c.FollowerTTL <= 0 {
		c.FollowerTTL = 3 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Coordinator moves the clients of the gateways from the source to the destination
// without losing or reordering a write: hold writes, note each source master's
// offset, wait until the replicator has applied it, switch, release.
type Coordinator struct {
	cfg Config

	mu        sync.Mutex
	state     State
	epoch     int64 // attempt number; followers report the epoch they hold for
	running   bool
	pause     time.Duration
	lastErr   string
	heldAt    time.Time
	followers map[string]*followerSeen
}

type followerSeen struct {
	state FollowerState
	epoch int64
	seen  time.Time
}

// New checks cfg.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Coordinator{cfg: cfg, state: StateIdle, followers: map[string]*followerSeen{}}, nil
}

// Result says how a cutover went.
type Result struct {
	Pause   time.Duration    // from the hold to the release: the longest write pause a client saw
	Offsets map[int]int64    // per source shard: the master offset waited for
	Waits   map[string]int64 // per phase, in ms: hold, followers, offsets, catchup, switch
}

// ErrNothingToCut is returned by Run when no gateway would move: this process
// serves none and no follower polls. RunForced cuts over even so.
var ErrNothingToCut = errors.New("xsync/cutover: no gateway to cut over: this process serves none (--gateway) and no follower ('xsync gateway --control') polls its admin port; " +
	"the replicator would stop and the destination be marked live with no client moved to it (XSYNC CUTOVER FORCE does it anyway)")

// Run performs one cutover within timeout (0: the configured one). On failure
// the held writes go to the source and the error says why. Without a Gate and
// without a live follower it refuses with ErrNothingToCut.
func (c *Coordinator) Run(ctx context.Context, timeout time.Duration) (Result, error) {
	return c.run0(ctx, timeout, false)
}

// RunForced is Run that cuts over without a gateway or a follower too: the
// clients are moved by other means (a DNS change, a restart).
func (c *Coordinator) RunForced(ctx context.Context, timeout time.Duration) (Result, error) {
	return c.run0(ctx, timeout, true)
}

func (c *Coordinator) run0(ctx context.Context, timeout time.Duration, force bool) (Result, error) {
	if timeout <= 0 {
		timeout = c.cfg.Timeout
	}
	if c.cfg.Gate == nil && !force && len(c.liveFollowers()) == 0 {
		return Result{}, ErrNothingToCut
	}
	c.mu.Lock()
	switch {
	case c.running:
		c.mu.Unlock()
		return Result{}, errors.New("xsync/cutover: a cutover is already running")
	case c.state == StateDone:
		c.mu.Unlock()
		return Result{}, errors.New("xsync/cutover: the cutover is already done")
	}
	c.running = true
	epoch := c.epoch + 1 // published with the hold: followers hold from then on
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()

	log := c.cfg.Logger.With("epoch", epoch)
	if p, ok := c.cfg.Gate.(Preparer); ok {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := p.Prepare(pctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("xsync/cutover: cutover: preparing the gateway: %w", err)
			c.rollback(err, c.cfg.Now())
			return Result{}, err
		}
	}
	if c.cfg.offsets != nil {
		// Connect to the source masters now: after the hold only INFO is sent.
		_, _ = c.sourceOffsets(ctx, c.cfg.Status().Shards)
	}
	start := c.cfg.Now()
	c.mu.Lock()
	c.heldAt, c.state, c.epoch = start, StateHold, epoch
	c.mu.Unlock()
	log.Info("cutover: holding writes", "timeout", timeout)
	res, err := c.run(ctx, timeout, epoch, start)
	if err != nil {
		c.rollback(err, start)
		log.Warn("cutover rolled back: writes released to the source", "err", err, "pause", c.cfg.Now().Sub(start))
		return res, err
	}
	log.Info("cutover done: the destination serves the clients", "pause", res.Pause, "phases_ms", res.Waits)
	return res, nil
}

func (c *Coordinator) run(ctx context.Context, timeout time.Duration, epoch int64, start time.Time) (Result, error) {
	res := Result{Offsets: map[int]int64{}, Waits: map[string]int64{}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	phase := start
	mark := func(name string) {
		now := c.cfg.Now()
		res.Waits[name] = now.Sub(phase).Milliseconds()
		phase = now
	}
	why := func(what string, err error) error {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("xsync/cutover: cutover timed out after %v %s: %w", timeout, what, err)
		}
		return fmt.Errorf("xsync/cutover: cutover: %s: %w", what, err)
	}
	if c.cfg.Gate != nil {
		if err := c.cfg.Gate.Hold(ctx); err != nil {
			return res, why("holding the gateway's writes", err)
		}
	}
	mark("hold")
	if err := c.waitFollowers(ctx, epoch); err != nil {
		return res, why("waiting for the followers to hold", err)
	}
	mark("followers")
	st := c.cfg.Status()
	if st.SourceMode == "scan" {
		return res, why("reading the source offsets", errors.New("the exact cutover is not available in scan mode (no replication offsets to wait for): stop the writes, wait for INFO xsync scan_dirty_keys:0, run xsync verify, then switch"))
	}
	if len(st.Shards) == 0 {
		return res, why("reading the source offsets", errors.New("the replicator follows no source shard yet"))
	}
	for _, sh := range st.Shards {
		if sh.State != replicator.StateStream {
			return res, why("reading the source offsets", fmt.Errorf("shard %d (%s) is in state %s, not streaming", sh.Index, sh.Addr, sh.State))
		}
	}
	offs, err := c.sourceOffsets(ctx, st.Shards)
	if err != nil {
		return res, why("reading the source offsets", err)
	}
	res.Offsets = offs
	mark("offsets")
	if err := c.waitApplied(ctx, res.Offsets); err != nil {
		return res, why("waiting for the destination to catch up", err)
	}
	mark("catchup")
	if c.cfg.Mark != nil {
		if err := c.cfg.Mark(ctx, c.cfg.Now()); err != nil {
			return res, why("writing the cutover marker", err)
		}
	}
	if c.cfg.OnSwitch != nil {
		if err := c.cfg.OnSwitch(); err != nil {
			c.cfg.Logger.Error("cutover: before the switch", "err", err)
		}
	}
	c.mu.Lock()
	c.state = StateDone // followers switch from their next poll on
	c.mu.Unlock()
	if c.cfg.Gate != nil {
		if err := c.cfg.Gate.Switch(); err != nil {
			// Nothing can be written to the source any more: followers switch.
			c.cfg.Logger.Error("cutover: the local gateway failed to switch", "err", err)
		}
	}
	mark("switch")
	res.Pause = c.cfg.Now().Sub(start)
	c.mu.Lock()
	c.pause, c.lastErr = res.Pause, ""
	c.mu.Unlock()
	return res, nil
}

// sourceOffsets reads every shard's master offset, in parallel.
func (c *Coordinator) sourceOffsets(ctx context.Context, shards []replicator.ShardStatus) (map[int]int64, error) {
	out := make(map[int]int64, len(shards))
	errs := make([]error, len(shards))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off, err := c.cfg.SourceOffset(ctx, sh.Addr)
			mu.Lock()
			defer mu.Unlock()
			out[sh.Index], errs[i] = off, err
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// waitFollowers returns when every live follower holds for epoch.
func (c *Coordinator) waitFollowers(ctx context.Context, epoch int64) error {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		pending := c.pendingFollowers(epoch)
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("followers not holding: %s: %w", strings.Join(pending, ", "), ctx.Err())
		case <-t.C:
		}
	}
}

// liveFollowers returns the followers seen within FollowerTTL.
func (c *Coordinator) liveFollowers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	var out []string
	for id, f := range c.followers {
		if now.Sub(f.seen) <= c.cfg.FollowerTTL {
			out = append(out, id)
		}
	}
	return out
}

func (c *Coordinator) pendingFollowers(epoch int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	var out []string
	for id, f := range c.followers {
		if now.Sub(f.seen) > c.cfg.FollowerTTL {
			delete(c.followers, id)
			continue
		}
		if f.state != FollowerHeld || f.epoch != epoch {
			out = append(out, id+"="+string(f.state))
		}
	}
	sort.Strings(out)
	return out
}

// waitApplied returns when every shard's applied offset reached want.
func (c *Coordinator) waitApplied(ctx context.Context, want map[int]int64) error {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		st := c.cfg.Status()
		var behind []string
		seen := map[int]bool{}
		for _, sh := range st.Shards {
			seen[sh.Index] = true
			if w, ok := want[sh.Index]; ok && sh.AppliedOffset < w {
				behind = append(behind, fmt.Sprintf("shard %d (%s) applied %d < %d", sh.Index, sh.Addr, sh.AppliedOffset, w))
			}
		}
		for i := range want {
			if !seen[i] {
				behind = append(behind, fmt.Sprintf("shard %d is gone", i))
			}
		}
		if len(behind) == 0 {
			return nil
		}
		sort.Strings(behind)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", strings.Join(behind, "; "), ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Coordinator) rollback(err error, start time.Time) {
	c.mu.Lock()
	c.state, c.lastErr = StateRolledBack, err.Error()
	c.pause = c.cfg.Now().Sub(start)
	c.mu.Unlock()
	if c.cfg.Gate != nil {
		if rerr := c.cfg.Gate.Rollback(); rerr != nil && !errors.Is(rerr, ErrNotHolding) {
			c.cfg.Logger.Error("cutover: releasing the gateway's writes failed", "err", rerr)
		}
	}
}

// Report records a follower's poll and returns the state it must follow and the
// epoch of the attempt.
func (c *Coordinator) Report(id string, st FollowerState, epoch int64) (State, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.followers[id] = &followerSeen{state: st, epoch: epoch, seen: c.cfg.Now()}
	return c.state, c.epoch
}

// Info is the cutover's part of INFO xsync.
type Info struct {
	State     State
	Epoch     int64
	Pause     time.Duration
	Error     string
	Followers int
	// HeldAt and ReleasedAt bound the last attempt's hold (zero before one).
	HeldAt, ReleasedAt time.Time
}

// Info returns the cutover's state for INFO.
func (c *Coordinator) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Info{State: c.state, Epoch: c.epoch, Pause: c.pause, Error: c.lastErr, Followers: len(c.followers),
		HeldAt: c.heldAt, ReleasedAt: c.heldAt.Add(c.pause)}
}

// offsetReader reads master offsets over connections it keeps for the life of
// the process (one per source master; a dial under load would lengthen the pause).
type offsetReader struct {
	o     conn.Options
	mu    sync.Mutex
	conns map[string]*conn.Conn
}

func (r *offsetReader) do(ctx context.Context, addr string) (resp.Value, error) {
	r.mu.Lock()
	c := r.conns[addr]
	delete(r.conns, addr) // owned by this call meanwhile
	r.mu.Unlock()
	var v resp.Value
	var err error
	if c != nil { // kept from an earlier call: it may have been closed since
		if v, err = c.Do(ctx, "INFO", "replication"); err != nil {
			c.Close()
			c = nil
		}
	}
	if c == nil {
		o := r.o
		o.Addr = addr
		if c, err = conn.Dial(ctx, o); err != nil {
			return resp.Value{}, err
		}
		if v, err = c.Do(ctx, "INFO", "replication"); err != nil {
			c.Close()
			return v, err
		}
	}
	r.mu.Lock()
	if old := r.conns[addr]; old != nil {
		old.Close()
	}
	r.conns[addr] = c
	r.mu.Unlock()
	return v, nil
}

// read returns master_repl_offset of addr, or of its master when addr is a
// replica.
func (r *offsetReader) read(ctx context.Context, addr string) (int64, error) {
	for range 2 {
		v, err := r.do(ctx, addr)
		if err != nil {
			return 0, fmt.Errorf("xsync/cutover: INFO replication on %s: %w", addr, err)
		}
		f := redisver.InfoFields(string(v.Str))
		if f["role"] == "slave" && f["master_host"] != "" {
			addr = net.JoinHostPort(f["master_host"], f["master_port"])
			continue
		}
		off, err := strconv.ParseInt(f["master_repl_offset"], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("xsync/cutover: %s: no master_repl_offset in INFO replication", addr)
		}
		return off, nil
	}
	return 0, fmt.Errorf("xsync/cutover: %s: cannot find the master", addr)
}
