package cutover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// FollowerState is what a following gateway reports to the replicating xsync.
type FollowerState string

// Follower states.
const (
	FollowerOpen     FollowerState = "open"     // forwarding to the source
	FollowerHolding  FollowerState = "holding"  // holding writes, some still in flight
	FollowerHeld     FollowerState = "held"     // holding, nothing in flight: the source gets no write from it
	FollowerSwitched FollowerState = "switched" // forwarding to the destination
)

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Control is the admin address of the replicating xsync. Required.
	Control string
	// Conn holds the admin port's password (and TLS); Addr is set from Control.
	Conn conn.Options
	// ID names this gateway to the replicating xsync. Default host-pid.
	ID string
	// Poll is the interval between two polls. Default 20ms.
	Poll time.Duration
	// HoldTimeout bounds waiting for this gateway's writes in flight. Default 30s.
	HoldTimeout time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// FollowerGate is the gateway a Follower steers (gateway.Server implements it).
type FollowerGate interface {
	Gate
	// SwitchNow holds (unless holding already) and switches at once, for a
	// gateway that missed the hold or started after the cutover.
	SwitchNow(ctx context.Context) error
	// Addr is where the gateway listens (part of the default ID).
	Addr() string
}

// Follower makes a gateway of another process follow the cutover decided by a
// replicating xsync: it polls that xsync's admin port (XSYNC CUTOVER STATE) and
// holds, switches or releases as told; the replicating xsync waits, in its hold
// phase, until every follower polling it reports held.
type Follower struct {
	cfg FollowerConfig
	g   FollowerGate

	mu    sync.Mutex
	state FollowerState
	epoch int64
	busy  bool // a Hold runs
	c     *conn.Conn
	wg    sync.WaitGroup
	kick  chan struct{} // cap 1: poll now (a Hold finished)
}

// NewFollower checks cfg.
func NewFollower(cfg FollowerConfig, g FollowerGate) (*Follower, error) {
	if cfg.Control == "" {
		return nil, errors.New("xsync/cutover: follower: no control address (--control)")
	}
	if cfg.ID == "" {
		h, _ := os.Hostname()
		cfg.ID = h + "-" + strconv.Itoa(os.Getpid()) + "-" + g.Addr()
	}
	cfg.ID = strings.Map(func(r rune) rune {
		if r <= ' ' {
			return '_'
		}
		return r
	}, cfg.ID)
	if cfg.Poll <= 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Conn.Addr = cfg.Control
	cfg.Conn.ReadTimeout = 5 * time.Second
	return &Follower{cfg: cfg, g: g, state: FollowerOpen, kick: make(chan struct{}, 1)}, nil
}

// State returns the follower's state.
func (f *Follower) State() FollowerState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Run polls until ctx ends. An unreachable control port changes nothing: a
// holding gateway keeps holding (releasing to the source could lose writes once
// the cutover is done).
func (f *Follower) Run(ctx context.Context) error {
	defer f.wg.Wait()
	defer f.closeConn()
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	var lastErr string
	for {
		if err := f.Poll(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr {
				f.cfg.Logger.Warn("gateway: cannot poll the replicating xsync", "control", f.cfg.Control, "state", f.State(), "err", err)
				lastErr = err.Error()
			}
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-f.kick: // report "held" at once: the cutover waits for it
		}
	}
}

// Poll reports the local state once and acts on the answer.
func (f *Follower) Poll(ctx context.Context) error {
	f.mu.Lock()
	st, epoch := f.state, f.epoch
	f.mu.Unlock()
	if f.c == nil {
		c, err := conn.Dial(ctx, f.cfg.Conn)
		if err != nil {
			return err
		}
		f.c = c
	}
	v, err := f.c.Do(ctx, "XSYNC", "CUTOVER", "STATE", f.cfg.ID, string(st), strconv.FormatInt(epoch, 10))
	if err != nil {
		var re *conn.ReplyError
		if !errors.As(err, &re) {
			f.closeConn()
		}
		return err
	}
	state, n, err := parseStateReply(v.Str)
	if err != nil {
		return err
	}
	f.act(ctx, state, n)
	return nil
}

// parseStateReply reads the reply to XSYNC CUTOVER STATE: "<state> <epoch>".
func parseStateReply(b []byte) (State, int64, error) {
	state, e, ok := strings.Cut(string(b), " ")
	n, err := strconv.ParseInt(e, 10, 64)
	if !ok || err != nil || n < 0 {
		return "", 0, fmt.Errorf("xsync/cutover: follower: unexpected reply %q to XSYNC CUTOVER STATE", b)
	}
	switch s := State(state); s {
	case StateIdle, StateHold, StateDone, StateRolledBack:
		return s, n, nil
	}
	return "", 0, fmt.Errorf("xsync/cutover: follower: unknown cutover state %q in the reply to XSYNC CUTOVER STATE", state)
}

func (f *Follower) act(ctx context.Context, main State, epoch int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return // a Hold is draining: decide at the next poll
	}
	switch main {
	case StateHold:
		f.epoch = epoch
		if f.state != FollowerOpen {
			return
		}
		f.state, f.busy = FollowerHolding, true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			hctx, cancel := context.WithTimeout(ctx, f.cfg.HoldTimeout)
			err := f.g.Hold(hctx)
			cancel()
			f.mu.Lock()
			defer f.mu.Unlock()
			f.busy = false
			if err != nil {
				f.cfg.Logger.Warn("gateway: hold failed; writes go to the source again", "err", err)
				_ = f.g.Rollback()
				f.state = FollowerOpen
				return
			}
			f.state = FollowerHeld
			select {
			case f.kick <- struct{}{}:
			default:
			}
		}()
	case StateDone:
		f.epoch = epoch
		switch f.state {
		case FollowerHeld:
			if err := f.g.Switch(); err != nil {
				f.cfg.Logger.Error("gateway: switch failed", "err", err)
				return
			}
		case FollowerOpen:
			// Started after the cutover, or missed the hold: nothing of ours can be
			// in flight to the source once Hold returns.
			if err := f.g.SwitchNow(ctx); err != nil {
				f.cfg.Logger.Error("gateway: switch failed", "err", err)
				return
			}
		default:
			return
		}
		f.state = FollowerSwitched
		f.cfg.Logger.Info("gateway: switched to the destination", "epoch", epoch)
	case StateIdle, StateRolledBack:
		if f.state == FollowerHeld {
			_ = f.g.Rollback()
			f.state = FollowerOpen
			f.cfg.Logger.Info("gateway: cutover rolled back; writes go to the source again", "epoch", epoch)
		}
	}
}

func (f *Follower) closeConn() {
	if f.c != nil {
		f.c.Close()
		f.c = nil
	}
}
