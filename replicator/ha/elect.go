package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLostLease reports that this process held the Lease and lost it (it could
// not renew it within the renew deadline, or another process took it).
var ErrLostLease = errors.New("xsync/ha: lost the lease: another xsync process leads now")

// ElectionConfig says which Lease to campaign for.
type ElectionConfig struct {
	// Client reaches the Leases of the Kubernetes API server (a clientset's
	// CoordinationV1(), or coordinationv1.NewForConfig). Required.
	Client coordinationv1.LeasesGetter
	// Namespace and Name of the coordination.k8s.io/v1 Lease. Required.
	Namespace, Name string
	// Identity of this process (the pod name). Required.
	Identity string
	// LeaseDuration is how long standbys wait after the leader's last renewal
	// before they take over. Default 15s.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps trying to renew before it gives
	// up (and stops). Default 10s.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between attempts. Default 2s.
	RetryPeriod time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (c *ElectionConfig) validate() error {
	if c.Client == nil || c.Namespace == "" || c.Name == "" || c.Identity == "" {
		return errors.New("xsync/ha: election needs a Kubernetes client, the Lease namespace and name, and an identity")
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline <= 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RenewDeadline >= c.LeaseDuration {
		return fmt.Errorf("xsync/ha: the renew deadline (%v) must be shorter than the lease duration (%v)", c.RenewDeadline, c.LeaseDuration)
	}
	return nil
}

// Election campaigns for a Lease and runs the leader's work while it holds it.
type Election struct {
	cfg     ElectionConfig
	leading atomic.Bool
	mu      sync.Mutex
	leader  string    // identity of the last observed leader
	since   time.Time // when this process started leading
}

// NewElection checks cfg.
func NewElection(cfg ElectionConfig) (*Election, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Election{cfg: cfg}, nil
}

// Leading reports whether this process holds the Lease now.
func (e *Election) Leading() bool { return e.leading.Load() }

// Leader is the identity of the last observed leader ("" before one is seen).
func (e *Election) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// Identity is this process's identity.
func (e *Election) Identity() string { return e.cfg.Identity }

// Lease is "namespace/name".
func (e *Election) Lease() string { return e.cfg.Namespace + "/" + e.cfg.Name }

// Run campaigns until ctx ends or this process has led once. When the Lease is
// won it calls lead with a context that ends when ctx ends or the Lease is
// lost; the Lease is released only after lead has returned, so a standby never
// starts while this process still writes (the fence covers the case where it
// cannot know: a pause or a partition from the API server).
//
// Run returns nil when ctx ended (standby or leader), lead's error when lead
// failed by itself, and an error wrapping ErrLostLease when the Lease was lost
// while leading. A process that has led does not campaign again: it should
// exit, and be restarted as a standby.
func (e *Election) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	cfg := e.cfg
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     cfg.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// The elector's context: cancelled once lead has returned (which releases
	// the Lease), or by ctx while this process is still a standby.
	leCtx, leCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer leCancel()
	var started atomic.Bool
	done := make(chan error, 1)
	stopStandby := context.AfterFunc(ctx, func() {
		if !started.Load() {
			leCancel()
		}
	})
	defer stopStandby()

	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				started.Store(true)
				defer leCancel()
				if ctx.Err() != nil {
					done <- nil
					return
				}
				e.leading.Store(true)
				e.mu.Lock()
				e.since = time.Now()
				e.mu.Unlock()
				cfg.Logger.Info("leading: this process holds the lease", "lease", e.Lease(), "identity", cfg.Identity)
				rctx, rcancel := context.WithCancel(lctx)
				stop := context.AfterFunc(ctx, rcancel)
				err := lead(rctx)
				stop()
				rcancel()
				e.leading.Store(false)
				if err == nil && lctx.Err() != nil && ctx.Err() == nil {
					err = fmt.Errorf("%w (lease %s)", ErrLostLease, e.Lease())
				} else if err != nil && lctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, ErrLostLease) {
					err = fmt.Errorf("%w (lease %s): %w", ErrLostLease, e.Lease(), err)
				}
				done <- err
			},
			OnStoppedLeading: func() {
				if e.leading.Load() {
					cfg.Logger.Warn("lost the lease: stopping the replication", "lease", e.Lease(), "identity", cfg.Identity)
				}
			},
			OnNewLeader: func(id string) {
				e.mu.Lock()
				e.leader = id
				e.mu.Unlock()
				if id != cfg.Identity {
					cfg.Logger.Info("standby: another process leads", "lease", e.Lease(), "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("xsync/ha: %w", err)
	}
	cfg.Logger.Info("campaigning for the lease", "lease", e.Lease(), "identity", cfg.Identity,
		"lease_duration", cfg.LeaseDuration, "renew_deadline", cfg.RenewDeadline, "retry_period", cfg.RetryPeriod)
	le.Run(leCtx)
	if !started.Load() {
		return nil // ctx ended while standing by
	}
	return <-done
}
