package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/ha"
)

// exitLostLead: this process led and no longer does (it lost the Lease, or
// was fenced off the destination). Restart it: it comes back as a standby.
const exitLostLead = 4

// haFlags are the active/standby flags of xsync sync.
type haFlags struct {
	lease         string
	namespace     string
	identity      string
	kubeconfig    string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

func (f *haFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.lease, "ha-lease", "", "active/standby: campaign for this Kubernetes Lease (coordination.k8s.io/v1); only its holder replicates, and a deposed holder is fenced off the destination. Empty: off")
	fs.StringVar(&f.namespace, "ha-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, the pod's service account namespace, or \"default\")")
	fs.StringVar(&f.identity, "ha-identity", "", "this process in the Lease (default: $POD_NAME, $HOSTNAME or the host name)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for the Lease (default: $KUBECONFIG, else the in-cluster service account)")
	fs.DurationVar(&f.leaseDuration, "ha-lease-duration", 15*time.Second, "how long a standby waits after the leader's last renewal before it takes over")
	fs.DurationVar(&f.renewDeadline, "ha-renew-deadline", 10*time.Second, "how long the leader tries to renew before it stops replicating")
	fs.DurationVar(&f.retryPeriod, "ha-retry-period", 2*time.Second, "interval between attempts to take or renew the Lease")
}

func (f *haFlags) settings(m map[string]string) {
	m["ha-lease"], m["ha-namespace"], m["ha-identity"], m["kubeconfig"] = f.lease, f.namespace, f.identity, f.kubeconfig
	m["ha-lease-duration"], m["ha-renew-deadline"], m["ha-retry-period"] = f.leaseDuration.String(), f.renewDeadline.String(), f.retryPeriod.String()
}

// haJob is the election and the fence of one process.
type haJob struct {
	el     *ha.Election
	fence  *ha.Fence
	client redis.UniversalClient
}

// setup builds the election and the fence and hooks the fence into every
// destination connection of cfg. It returns nil when --ha-lease is not set.
func (f *haFlags) setup(ctx context.Context, env *cliEnv, dst endpoint, cfg *replicator.Config, log *slog.Logger) (*haJob, error) {
	if f.lease == "" {
		return nil, nil
	}
	// client-go logs its own details (feature gates, retries) at klog
	// verbosities that map below slog's Info: keep only Info and above.
	klog.SetSlogLogger(slog.New(minLevel{log.Handler(), slog.LevelInfo}).With("component", "leaderelection"))
	ns := f.namespace
	if ns == "" {
		ns = env.getenv("POD_NAMESPACE")
	}
	if ns == "" {
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ns = strings.TrimSpace(string(b))
		}
	}
	if ns == "" {
		ns = "default"
	}
	id := f.identity
	for _, v := range []string{"POD_NAME", "HOSTNAME"} {
		if id == "" {
			id = env.getenv(v)
		}
	}
	if id == "" {
		id, _ = os.Hostname()
	}
	if id == "" {
		return nil, fmt.Errorf("%w: --ha-identity: no $POD_NAME, $HOSTNAME or host name to default to", errUsage)
	}
	rc, err := f.restConfig(env)
	if err != nil {
		return nil, err
	}
	kc, err := coordinationv1.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("ha: Kubernetes client: %w", err)
	}
	el, err := ha.NewElection(ha.ElectionConfig{Client: kc, Namespace: ns, Name: f.lease, Identity: id,
		LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	client, err := controlClient(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("ha: destination: %w", err)
	}
	fence, err := ha.NewFence(ha.FenceConfig{Client: client, Name: f.lease, Identity: id,
		InternalPrefix: cfg.Translate.InternalPrefix, Logger: log})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.TargetConn.OnConnect = fence.OnConnect
	return &haJob{el: el, fence: fence, client: client}, nil
}

func (f *haFlags) restConfig(env *cliEnv) (*rest.Config, error) {
	path := f.kubeconfig
	if path == "" {
		path = env.getenv("KUBECONFIG")
	}
	if path != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("%w: --kubeconfig %s: %v", errUsage, path, err)
		}
		return rc, nil
	}
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: --ha-lease needs the Kubernetes API: run in a pod with a service account, or pass --kubeconfig (%v)", errUsage, err)
	}
	return rc, nil
}

// run campaigns; as the leader it takes the fence, then runs the replicator.
func (j *haJob) run(ctx context.Context, r *replicator.Replicator, log *slog.Logger) error {
	defer j.client.Close()
	return j.el.Run(ctx, func(ctx context.Context) error {
		epoch, err := j.fence.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ha: taking the fence on the destination: %w", err)
		}
		log.Info("replicating as the leader", "lease", j.el.Lease(), "epoch", epoch)
		return r.Run(ctx)
	})
}

// lostLead reports whether err means that another process leads now.
func lostLead(err error) bool {
	return errors.Is(err, ha.ErrLostLease) || errors.Is(err, conn.ErrFenced)
}

// info is what INFO xsync shows of the election.
func (j *haJob) info() [][2]string {
	role := "standby"
	if j.el.Leading() {
		role = "leader"
	}
	return [][2]string{
		{"ha_lease", j.el.Lease()},
		{"ha_role", role},
		{"ha_identity", j.el.Identity()},
		{"ha_leader", j.el.Leader()},
		{"ha_epoch", strconv.FormatInt(j.fence.Epoch(), 10)},
		{"ha_destination_epoch", strconv.FormatInt(j.fence.LastSeen(), 10)},
	}
}

// register adds xsync_ha_leader to reg.
func (j *haJob) register(reg *prometheus.Registry) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "xsync_ha_leader",
		Help:        "1 while this process holds the HA Lease and replicates, 0 while it stands by.",
		ConstLabels: prometheus.Labels{"lease": j.el.Lease(), "identity": j.el.Identity()},
	}, func() float64 {
		if j.el.Leading() {
			return 1
		}
		return 0
	}))
}

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.level && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(as), m.level}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.level}
}

// haController is what the admin port and the metrics see of an HA process:
// while it stands by, its state is "standby" and XSYNC PAUSE/RESUME are refused.
type haController struct {
	*replicator.Replicator
	hj *haJob
}

func (c haController) Status() replicator.Status {
	st := c.Replicator.Status()
	if !c.hj.el.Leading() && st.State != replicator.StateStopped {
		st.State = replicator.StateStandby
	}
	return st
}

func (c haController) standby() error {
	if c.hj.el.Leading() {
		return nil
	}
	return fmt.Errorf("this xsync process stands by (lease %s, leader %q): send it to the leader", c.hj.el.Lease(), c.hj.el.Leader())
}

func (c haController) Pause() error {
	if err := c.standby(); err != nil {
		return err
	}
	return c.Replicator.Pause()
}

func (c haController) Resume() error {
	if err := c.standby(); err != nil {
		return err
	}
	return c.Replicator.Resume()
}
