package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/proxy/cutover"
	"github.com/xsync/xsync/proxy/gateway"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/slots"
)

const gatewayAbout = `Serves a RESP endpoint that any Redis client can use as one non-cluster Redis, and
forwards every command by hash slot to the source cluster (pipelined, replies in
order; MULTI/EXEC within one slot; blocking commands and pub/sub on connections of
their own; cross-slot commands get the CROSSSLOT error a cluster gives).

With --control it follows the cutover of a replicating 'xsync sync': it polls that
xsync's admin port (XSYNC CUTOVER STATE) every --poll; when the cutover holds, it
holds its writes too and reports "held" once none is in flight; when the cutover is
done, it forwards to --target from then on; when it rolls back, the held writes go
to the source. Start it before the cutover. While the admin port cannot be reached
a holding gateway keeps holding.`

type gatewayFlags struct {
	src, dst     endpointFlags
	logs         logFlags
	listen       string
	password     secretFlag
	control      string
	controlPass  secretFlag
	poll         time.Duration
	connsPerNode int
	multicore    bool
	markerKey    string
	limits       gatewayLimitFlags
}

func (f *gatewayFlags) register(env *cliEnv) *flag.FlagSet {
	fs := newFlagSet(env, "gateway", "xsync gateway --source URL [--target URL --control ADDR] [--listen ADDR] [flags]", gatewayAbout)
	f.src.register(fs, "source", "the cluster to forward to until the cutover")
	f.dst.register(fs, "target", "the cluster to forward to after the cutover (required with --control)")
	fs.String("config", "", "YAML file with flags as keys (flags on the command line win)")
	f.logs.register(fs)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:6379", "address the clients connect to")
	f.password.register(fs, "password", "password the clients must give (required when --listen is not on loopback)", "XSYNC_GATEWAY_PASSWORD")
	fs.StringVar(&f.control, "control", "", "admin address of the replicating xsync whose cutover this gateway follows; empty: forward to --source only")
	f.controlPass.register(fs, "control-password", "password of that admin port", "XSYNC_ADMIN_PASSWORD")
	fs.DurationVar(&f.poll, "poll", 20*time.Millisecond, "how often the admin port of --control is polled")
	fs.IntVar(&f.connsPerNode, "conns-per-node", 4, "pipelined connections per backend node (and protocol)")
	fs.BoolVar(&f.multicore, "multicore", false, "one event loop per CPU instead of one")
	f.limits.register(fs, "")
	fs.StringVar(&f.markerKey, "marker-key", "__xsync:cutover", "key the replicating xsync writes on the target at the switch (<its --internal-prefix>cutover); when it exists at start, the gateway forwards to the target")
	return fs
}

func runGateway(ctx context.Context, env *cliEnv, args []string) int {
	var f gatewayFlags
	fs := f.register(env)
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	log, closeLog, err := f.logs.logger(env)
	if err != nil {
		return exitFor(env, err)
	}
	defer closeLog()
	warnSecrets(log, fs, args)
	if err := f.run(ctx, env, log); err != nil {
		log.Error("gateway failed", "err", err)
		fmt.Fprintf(env.stderr, "xsync: %v\n", err)
		if errors.Is(err, errUsage) {
			return exitUsage
		}
		return exitFailed
	}
	return exitOK
}

func (f *gatewayFlags) run(ctx context.Context, env *cliEnv, log *slog.Logger) error {
	s, err := f.src.parse(env)
	if err != nil {
		return err
	}
	cfg := gateway.Config{Addr: f.listen, Source: gateway.Backend{Seeds: s.seeds, Conn: s.opts},
		ConnsPerNode: f.connsPerNode, Multicore: f.multicore, Logger: log}
	if f.dst.url != "" {
		t, err := f.dst.parse(env)
		if err != nil {
			return err
		}
		cfg.Target = gateway.Backend{Seeds: t.seeds, Conn: t.opts}
	}
	if err := f.limits.apply(&cfg); err != nil {
		return err
	}
	if f.control != "" && f.dst.url == "" {
		return fmt.Errorf("%w: --control needs --target (where to switch to)", errUsage)
	}
	if cfg.Password, err = f.password.get(env); err != nil {
		return err
	}
	g, err := gateway.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	eg, gctx := errgroup.WithContext(ctx)
	if f.control != "" {
		pass, err := f.controlPass.get(env)
		if err != nil {
			return err
		}
		fl, err := cutover.NewFollower(cutover.FollowerConfig{Control: f.control, Conn: conn.Options{Password: pass}, Poll: f.poll, Logger: log}, g)
		if err != nil {
			return err
		}
		// A cutover done before (the marker exists on the target): never the source.
		if v, ok, err := cutover.ReadMarker(ctx, cfg.Target.Seeds, cfg.Target.Conn, f.markerKey); err != nil {
			return fmt.Errorf("%w (the gateway cannot tell whether the cutover is done; it does not start)", err)
		} else if ok {
			log.Info("gateway: the cutover marker exists on the target: forwarding to the target", "key", f.markerKey, "at_ms", v)
			if err := g.SwitchNow(ctx); err != nil {
				return err
			}
		}
		// Connect to the target now: a hold then waits for nothing but the
		// writes in flight.
		if err := g.Prepare(ctx); err != nil {
			log.Warn("gateway: cannot connect to the target yet (the cutover will retry)", "err", err)
		}
		// Learn the cutover's state before the first client: a gateway started
		// during a hold or after the cutover must not write to the source.
		if err := fl.Poll(ctx); err != nil {
			log.Warn("gateway: the replicating xsync does not answer yet", "control", f.control, "err", err)
		}
		eg.Go(func() error { return fl.Run(gctx) })
	}
	eg.Go(func() error { return g.Serve(gctx) })
	<-g.Ready()
	log.Info("gateway ready", "addr", g.Addr(), "control", f.control)
	err = eg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// syncGatewayFlags are the gateway and cutover flags of xsync sync.
type syncGatewayFlags struct {
	addr     string
	password secretFlag
	timeout  time.Duration
	limits   gatewayLimitFlags
	gw       *gateway.Server
}

func (s *syncGatewayFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.addr, "gateway", "", "serve the gateway here (one Redis endpoint for the clients, forwarded to the source until XSYNC CUTOVER on the admin port moves it to the target); empty: none")
	s.password.register(fs, "gateway-password", "password the gateway's clients must give (required when --gateway is not on loopback)", "XSYNC_GATEWAY_PASSWORD")
	s.limits.register(fs, "gateway-")
	fs.DurationVar(&s.timeout, "cutover-timeout", 30*time.Second, "XSYNC CUTOVER without a timeout: how long writes may be held before the cutover rolls back")
}

// setup makes the gateway (with --gateway) and the cutover the admin port runs:
// it holds the gateway's writes and those of every 'xsync gateway --control'
// polling the admin port, and marks the destination (<internal-prefix>cutover =
// unix ms) just before the switch.
func (s *syncGatewayFlags) setup(ctx context.Context, env *cliEnv, cfg replicator.Config, r *replicator.Replicator, log *slog.Logger) (*cutover.Coordinator, error) {
	ccfg := cutover.Config{Status: r.Status, Timeout: s.timeout, SourceConn: cfg.SourceConn, Logger: log,
		// After the switch the source's own expirations (DEL in its stream) must not
		// reach keys the clients write anew on the destination.
		OnSwitch: r.Pause}
	if s.addr != "" {
		pass, err := s.password.get(env)
		if err != nil {
			return nil, err
		}
		gcfg := gateway.Config{Addr: s.addr, Password: pass, Logger: log,
			Source: gateway.Backend{Seeds: cfg.SourceSeeds, Conn: cfg.SourceConn},
			Target: gateway.Backend{Seeds: cfg.TargetSeeds, Conn: cfg.TargetConn}}
		if err := s.limits.apply(&gcfg); err != nil {
			return nil, err
		}
		s.gw, err = gateway.New(ctx, gcfg)
		if err != nil {
			return nil, err
		}
		ccfg.Gate = s.gw
	}
	prefix := cfg.Translate.InternalPrefix
	if prefix == "" {
		prefix = "__xsync:"
	}
	key := prefix + "cutover"
	ccfg.Mark = func(ctx context.Context, at time.Time) error {
		_, err := r.Applier().Do(ctx, slots.SlotString(key), []byte("SET"), []byte(key), []byte(strconv.FormatInt(at.UnixMilli(), 10)))
		return err
	}
	co, err := cutover.New(ccfg)
	if err != nil {
		return nil, err
	}
	// A cutover done by an earlier run: the clients stay on the destination.
	v, done, err := cutover.ReadMarker(ctx, cfg.TargetSeeds, cfg.TargetConn, key)
	if err != nil {
		return nil, err
	}
	if done {
		log.Warn("the cutover marker exists on the destination: the cutover was done before; the gateway forwards to the destination", "key", key, "at_ms", v)
		co.MarkDone()
		if s.gw != nil {
			if err := s.gw.SwitchNow(ctx); err != nil {
				return nil, err
			}
		}
	}
	return co, nil
}

// serve runs the gateway, if any, in g.
func (s *syncGatewayFlags) serve(g *errgroup.Group, ctx context.Context, log *slog.Logger) {
	if s.gw == nil {
		return
	}
	g.Go(func() error { defer s.gw.Close(); return s.gw.Serve(ctx) })
	log.Info("gateway listening", "addr", s.gw.Addr(), "cutover", "redis-cli -p <admin port> XSYNC CUTOVER")
}
