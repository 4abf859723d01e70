package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/metrics"
	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/precheck"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/replicator/translate"
)

const syncAbout = `Replicates a source Redis (a cluster, or a standalone server) into a destination
(a cluster, or a standalone server), online: xsync poses as a replica to every source
master, applies the snapshot (full sync) and then the replication stream (incremental
sync) to the destination, routed by hash slot, and keeps following the source —
through source failovers, reshards and added shards — until it is stopped.

Before anything is written the prechecks of 'xsync check' run; a failing one stops the
sync (--skip-prechecks overrides). Watch it with 'redis-cli -p 6380 INFO xsync' (the
admin port) or Prometheus (--metrics). SIGINT/SIGTERM stop it cleanly: the links
close, writes in flight are acknowledged, exit 0.

Cluster semantics: a transaction from a cluster source is applied whole; from a
standalone source it is split per slot. Multi-key commands from a standalone source
that span slots are split per key where the command is per key, and otherwise
emulated exactly on the destination. FLUSHALL/FLUSHDB in one source shard empties
only the slots that shard owns. Relative expires become absolute at the time xsync
received them, so lag does not stretch them.

Sources that refuse replication (managed services that rename PSYNC away): with
--source-mode auto (the default) xsync falls back to scan mode, with a warning; with
--source-mode scan it uses it from the start. On each master it subscribes to keyspace
notifications (notify-keyspace-events must hold K and g$lshzxet, e.g. KEA), then copies
every key with SCAN + DUMP/PTTL and each changed key again (coalesced, --scan-coalesce).
The destination converges once the source's writes stop; there is no atomicity or
order across keys, and no exact cutover in this mode (docs/operations.md, "Scan mode").

Merging several sources into one destination: run one sync per source, each with its
own --internal-prefix and --key-prefix (or --owns). Every sync registers itself on the
destination (hash __xsync_registry) and lists the other jobs it finds; a job whose keys
cannot be told apart refuses --flush apply and --empty-first there (exit 2).`

// syncFlags are the flags of xsync sync (also keys of the config file).
type syncFlags struct {
	src, dst       endpointFlags
	logs           logFlags
	admin          string
	adminPassword  secretFlag
	metrics        string
	pprof          bool
	follow         string
	sourceMode     string        // --source-mode: psync, scan or auto (scan mode: replicator/scansrc)
	scanSetNotify  bool          // --scan-set-notify
	scanCoalesce   time.Duration // --scan-coalesce
	snapshotRate   int64
	sourceTimeout  time.Duration
	replyTimeout   time.Duration
	spoolDir       string
	conflict       string
	onDestLoss     string
	verifyRate     int
	onError        string
	flush          string
	swapdb         string
	unknown        string
	downgrade      string
	publish        bool
	include        string
	exclude        string
	allow          string
	deny           string
	dbs            string
	internalPrefix string
	keyPrefix      string // --key-prefix, --owns: this job's keys on a shared destination (shared.go)
	owns           string
	mode           string
	chunkBytes     int
	chunkElements  int
	bigKeyBytes    int
	connsPerNode   int
	skipPrechecks  bool
	progress       string
	checkpoints    bool
	emptyFirst     bool
	shardIndex     int
	shardCount     int
	gateway        syncGatewayFlags // --gateway, --cutover-timeout (gateway.go)
	ha             haFlags          // --ha-lease and its settings (ha.go)
	lsn            listenerFlags    // TLS of the admin port and the metrics, --metrics-token (listeners.go)
}

func (f *syncFlags) register(fsName string, env *cliEnv) *flag.FlagSet {
	fs := newFlagSet(env, fsName, "xsync sync --source URL --target URL [--config FILE] [--admin ADDR] [--metrics ADDR] [flags]", syncAbout)
	f.src.register(fs, "source", "the source to replicate from")
	f.dst.register(fs, "target", "the destination to write to")
	fs.String("config", "", "YAML file with flags as keys (flags on the command line win)")
	f.logs.register(fs)
	fs.StringVar(&f.admin, "admin", "127.0.0.1:6380", "admin RESP port (INFO xsync, XSYNC STATUS|PAUSE|RESUME); \"off\" disables it")
	f.adminPassword.register(fs, "admin-password", "password for the admin port (required when it is not on loopback)", "XSYNC_ADMIN_PASSWORD")
	fs.StringVar(&f.metrics, "metrics", "", "address of the Prometheus endpoint (/metrics, /healthz), e.g. 127.0.0.1:9121; empty: off")
	fs.BoolVar(&f.pprof, "pprof", false, "also serve Go profiles on the --metrics address under /debug/pprof/ (go tool pprof http://ADDR/debug/pprof/profile)")
	fs.StringVar(&f.follow, "follow", "master", "replicate from each shard's master, or from a replica to spare the master: master or replica")
	fs.StringVar(&f.sourceMode, "source-mode", "auto", "how the source is read: psync (pose as a replica), scan (SCAN + DUMP and keyspace notifications, for managed services that refuse PSYNC: converges once writes stop, no atomicity or order across keys, see docs/operations.md), or auto: psync, and scan when a source master refuses PSYNC")
	fs.BoolVar(&f.scanSetNotify, "scan-set-notify", false, "scan mode: CONFIG SET notify-keyspace-events on the source when it lacks what scan mode needs (default: stop and say what to set)")
	fs.DurationVar(&f.scanCoalesce, "scan-coalesce", 200*time.Millisecond, "scan mode: copy changed keys again at most this often (a key written many times in between is copied once)")
	fs.Int64Var(&f.snapshotRate, "snapshot-rate", 0, "most snapshot bytes read per second per shard (0: no limit)")
	fs.DurationVar(&f.sourceTimeout, "source-timeout", 60*time.Second, "a source link with no byte for this long is dead: reconnect and PSYNC (like repl-timeout; masters PING every repl-ping-replica-period, 10s)")
	fs.DurationVar(&f.replyTimeout, "reply-timeout", 30*time.Second, "a destination connection with writes in flight and no reply for this long is dead: reconnect and re-check them")
	fs.StringVar(&f.spoolDir, "spool-dir", "", "spool snapshots to this directory before applying them (relieves the source's output buffer)")
	fs.StringVar(&f.conflict, "conflict", "replace", "full sync, key already on the destination: replace, skip or stop")
	fs.StringVar(&f.onDestLoss, "on-dest-loss", "heal", "the destination lost acknowledged writes (a master restarted empty, failed over to a lagging replica, FLUSHALL, a node replaced): heal (re-apply the slots that lost writes, from their checkpoints or with a full sync of their shards) or stop (exit 3)")
	fs.IntVar(&f.verifyRate, "verify-rate", 0, "compare this many sampled source keys per second with the destination while syncing; keys that still differ once the lag covers their writes show as drift_keys in INFO, /metrics and /healthz (0: off)")
	fs.StringVar(&f.onError, "on-error", "stop", "destination error replies (OOM, WRONGTYPE, ...): stop, or skip (log and count)")
	fs.StringVar(&f.flush, "flush", "apply", "FLUSHALL/FLUSHDB in the stream: apply (only the shard's slots), ignore or stop")
	fs.StringVar(&f.swapdb, "swapdb", "stop", "SWAPDB in the stream: stop, ignore, or apply (standalone destination)")
	fs.StringVar(&f.unknown, "unknown-commands", "stop", "commands xsync cannot route: stop or ignore")
	fs.StringVar(&f.downgrade, "downgrade", "stop", "what an older destination cannot hold and has no exact equivalent for (hash field expires before 7.4; functions, streams' entries-added/entries-read before 7.0; commands it lacks): stop (with the key and the reason) or drop (leave it out, counted in INFO xsync downgrade_dropped); 'xsync check' lists what is in use")
	fs.BoolVar(&f.publish, "publish", false, "forward PUBLISH to the destination")
	fs.StringVar(&f.include, "include", "", "only keys matching these globs (comma-separated, Redis glob syntax)")
	fs.StringVar(&f.exclude, "exclude", "", "never keys matching these globs (comma-separated; wins over --include)")
	fs.StringVar(&f.allow, "allow-commands", "", "only forward these commands (comma-separated)")
	fs.StringVar(&f.deny, "deny-commands", "", "never forward these commands (comma-separated)")
	fs.StringVar(&f.dbs, "dbs", "", "source databases to sync and where: SRC[=DB|=PREFIX],... e.g. 0,1=db1: (default: db 0 into a cluster, every db into a standalone server)")
	fs.StringVar(&f.internalPrefix, "internal-prefix", "__xsync:", "prefix of the keys xsync keeps for itself on the destination")
	fs.StringVar(&f.keyPrefix, "key-prefix", "", "merging several sources into one destination: put every key of this source under this prefix (hash tags kept), so that its FLUSHALL or resync deletes only its keys")
	fs.StringVar(&f.owns, "owns", "", "merging: destination key globs (comma-separated) that are this source's keys, when their names already tell the sources apart")
	fs.StringVar(&f.mode, "mode", "auto", "how snapshot keys are written: auto (RESTORE where possible), restore, or commands")
	fs.IntVar(&f.chunkBytes, "chunk-bytes", 16<<20, "largest command sent to the destination, in bytes")
	fs.IntVar(&f.chunkElements, "chunk-elements", 1000, "most elements in one command for keys written as commands")
	fs.IntVar(&f.bigKeyBytes, "big-key-bytes", 0, "keys larger than this are written as commands in chunks (default: --chunk-bytes)")
	fs.IntVar(&f.connsPerNode, "conns-per-node", 1, "pipelined connections per destination master")
	fs.BoolVar(&f.skipPrechecks, "skip-prechecks", false, "start even when a precheck fails")
	fs.BoolVar(&f.checkpoints, "checkpoints", true, "exactly-once checkpoints in the destination (keys <internal-prefix>ckpt:*); false: at-least-once, every start syncs in full")
	fs.BoolVar(&f.emptyFirst, "empty-first", false, "empty each source shard's slots on the destination before its first full sync (a resync always does)")
	fs.StringVar(&f.progress, "progress", "auto", "progress line during full sync on stderr: auto (when a terminal), on or off")
	fs.IntVar(&f.shardCount, "shard-count", 1, "scale-out: number of xsync processes sharing the source shards (a shard goes to the process of its lowest slot's band)")
	fs.IntVar(&f.shardIndex, "shard-index", -1, "scale-out: this process, 0 to shard-count-1; -1: the ordinal suffix -<n> of $POD_NAME or $HOSTNAME")
	f.gateway.register(fs)
	f.ha.register(fs)
	f.lsn.register(fs)
	return fs
}

func runSync(ctx context.Context, env *cliEnv, args []string) int {
	var f syncFlags
	fs := f.register("sync", env)
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	cfg, err := f.config(env)
	if err != nil {
		return exitFor(env, err)
	}
	log, closeLog, err := f.logs.logger(env)
	if err != nil {
		return exitFor(env, err)
	}
	defer closeLog()
	warnSecrets(log, fs, args)
	cfg.Logger = log
	if err := runSyncJob(ctx, env, &f, cfg, log); err != nil {
		log.Error("sync failed", "err", err)
		fmt.Fprintf(env.stderr, "xsync: %v\n", err)
		if errors.Is(err, errUsage) {
			return exitUsage
		}
		if lostLead(err) {
			return exitLostLead
		}
		return exitFailed
	}
	return exitOK
}

func runSyncJob(ctx context.Context, env *cliEnv, f *syncFlags, cfg replicator.Config, log *slog.Logger) error {
	// Listener errors are configuration errors: found before any connection.
	acfg, mcfg, err := f.listenerConfigs(env)
	if err != nil {
		return err
	}
	rs := precheck.Run(ctx, precheck.Config{
		Source:         precheckEndpoint(cfg.SourceSeeds, cfg.SourceConn),
		Target:         precheckEndpoint(cfg.TargetSeeds, cfg.TargetConn),
		ConflictPolicy: f.conflict,
		Downgrade:      f.downgrade,
		SourceMode:     f.sourceMode,
	})
	for _, r := range rs {
		attrs := []any{"check", r.Name, "found", r.Found}
		if r.Fix != "" {
			attrs = append(attrs, "fix", r.Fix)
		}
		switch r.Level {
		case precheck.Pass:
			log.Info("precheck passed", attrs...)
		case precheck.Warn:
			log.Warn("precheck warning", attrs...)
		default:
			log.Error("precheck failed", attrs...)
		}
	}
	if precheck.Failed(rs) && !f.skipPrechecks {
		return errors.New("prechecks failed (see the log, or run 'xsync check'); fix them or pass --skip-prechecks")
	}
	shared, err := f.setupShared(ctx, env, &cfg, log)
	if err != nil {
		return err
	}
	defer shared.close()
	var reg *prometheus.Registry
	if f.metrics != "" {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		cfg.Apply.OnReply = metrics.ReplyLatency(reg)
	}
	var hj *haJob
	if f.ha.lease != "" {
		if f.gateway.addr != "" {
			return fmt.Errorf("%w: --ha-lease and --gateway do not go together (a standby has no writes to cut over): run the gateway as its own process ('xsync gateway --control')", errUsage)
		}
		dst, err := f.dst.parse(env)
		if err != nil {
			return err
		}
		if hj, err = f.ha.setup(ctx, env, dst, &cfg, log); err != nil {
			return err
		}
		if reg != nil {
			hj.register(reg)
		}
	}
	if f.verifyRate > 0 {
		closeClients, err := liveVerifyClients(ctx, env, f, &cfg)
		if err != nil {
			return err
		}
		defer closeClients()
	}
	r, err := replicator.New(cfg)
	if err != nil {
		return err
	}
	shared.r = r
	// The cutover marker is only read here (its write goes through the fenced
	// applier): a standby may read it.
	gcfg := cfg
	gcfg.TargetConn.OnConnect = nil
	var ctl admin.Controller = r
	if hj != nil {
		ctl = haController{r, hj}
	}
	co, err := f.gateway.setup(ctx, env, gcfg, r, log)
	if err != nil {
		return err
	}
	if reg != nil && f.gateway.gw != nil {
		reg.MustRegister(f.gateway.gw.Collector())
	}
	g, gctx := errgroup.WithContext(ctx)
	f.gateway.serve(g, gctx, log)
	if acfg != nil {
		acfg.Version, acfg.Logger, acfg.Settings, acfg.Cutover = version, log, f.settings, co
		acfg.Extra = shared.info
		if hj != nil {
			acfg.Extra = func() [][2]string { return append(hj.info(), shared.info()...) }
		}
		adm, err := admin.New(*acfg, ctl)
		if err != nil {
			return err
		}
		log.Info("admin port listening", "addr", adm.Addr(), "try", "redis-cli -p "+portOf(adm.Addr())+" INFO xsync")
		g.Go(func() error { return adm.Serve(gctx) })
	}
	if mcfg != nil {
		mcfg.Logger, mcfg.Registry = log, reg
		m, err := metrics.New(*mcfg, ctl)
		if err != nil {
			return err
		}
		log.Info("metrics listening", "addr", "http://"+m.Addr()+"/metrics")
		g.Go(func() error { return m.Serve(gctx) })
	}
	if showProgress(f.progress, env) {
		g.Go(func() error { progressLine(gctx, env.stderr, r); return nil })
	}
	var runErr error
	if hj != nil {
		runErr = hj.run(gctx, r, log)
	} else {
		runErr = r.Run(gctx)
	}
	// The servers stop with the job.
	g.Go(func() error { return runErr })
	if runErr == nil {
		// Run returned because ctx ended: stop the servers too.
		g.Go(func() error { return context.Canceled })
	}
	err = g.Wait()
	if runErr != nil {
		return runErr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

// settings answers CONFIG GET on the admin port: the flags, secrets left out.
func (f *syncFlags) settings() map[string]string {
	m := map[string]string{
		"source": redactURL(f.src.url), "target": redactURL(f.dst.url), "admin": f.admin, "metrics": f.metrics, "pprof": strconv.FormatBool(f.pprof),
		"follow": f.follow, "source-mode": f.sourceMode, "scan-set-notify": strconv.FormatBool(f.scanSetNotify), "scan-coalesce": f.scanCoalesce.String(), "conflict": f.conflict, "on-dest-loss": f.onDestLoss, "verify-rate": strconv.Itoa(f.verifyRate), "on-error": f.onError, "flush": f.flush, "swapdb": f.swapdb,
		"unknown-commands": f.unknown, "downgrade": f.downgrade, "publish": strconv.FormatBool(f.publish), "include": f.include, "exclude": f.exclude,
		"allow-commands": f.allow, "deny-commands": f.deny, "dbs": f.dbs, "internal-prefix": f.internalPrefix,
		"key-prefix": f.keyPrefix, "owns": f.owns,
		"mode": f.mode, "chunk-bytes": strconv.Itoa(f.chunkBytes), "chunk-elements": strconv.Itoa(f.chunkElements),
		"snapshot-rate": strconv.FormatInt(f.snapshotRate, 10), "conns-per-node": strconv.Itoa(f.connsPerNode),
		"source-addr-map": f.src.addrMap, "target-addr-map": f.dst.addrMap,
		"source-timeout": f.sourceTimeout.String(), "reply-timeout": f.replyTimeout.String(),
		"checkpoints": strconv.FormatBool(f.checkpoints), "empty-first": strconv.FormatBool(f.emptyFirst),
		"shard-index": strconv.Itoa(f.shardIndex), "shard-count": strconv.Itoa(f.shardCount),
	}
	f.ha.settings(m)
	return m
}

// redactURL hides the password of a redis:// URL.
func redactURL(u string) string {
	at := strings.LastIndexByte(u, '@')
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	info := u[scheme+3 : at]
	if user, _, ok := strings.Cut(info, ":"); ok {
		return u[:scheme+3] + user + ":***" + u[at:]
	}
	return u
}

// config turns the flags into the replicator's Config.
func (f *syncFlags) config(env *cliEnv) (replicator.Config, error) {
	var cfg replicator.Config
	s, err := f.src.parse(env)
	if err != nil {
		return cfg, err
	}
	t, err := f.dst.parse(env)
	if err != nil {
		return cfg, err
	}
	cfg.SourceSeeds, cfg.SourceConn = s.seeds, s.opts
	cfg.TargetSeeds, cfg.TargetConn = t.seeds, t.opts
	bad := func(flag, val, want string) error {
		return fmt.Errorf("%w: --%s %q: use %s", errUsage, flag, val, want)
	}
	switch f.follow {
	case "master":
		cfg.Follow = source.FollowMaster
	case "replica":
		cfg.Follow = source.FollowReplica
	default:
		return cfg, bad("follow", f.follow, "master or replica")
	}
	if cfg.SourceMode, err = replicator.ParseSourceMode(f.sourceMode); err != nil {
		return cfg, bad("source-mode", f.sourceMode, "psync, scan or auto")
	}
	if f.scanCoalesce <= 0 {
		return cfg, bad("scan-coalesce", f.scanCoalesce.String(), "a positive duration such as 200ms")
	}
	cfg.Scan.SetNotify, cfg.Scan.Coalesce = f.scanSetNotify, f.scanCoalesce
	cfg.SnapshotRateLimit, cfg.SpoolDir = f.snapshotRate, f.spoolDir
	if f.sourceTimeout <= 0 || f.replyTimeout <= 0 {
		return cfg, fmt.Errorf("%w: --source-timeout %v, --reply-timeout %v: both must be positive durations such as 10s", errUsage, f.sourceTimeout, f.replyTimeout)
	}
	cfg.SourceTimeout, cfg.Apply.ReplyTimeout = f.sourceTimeout, f.replyTimeout
	// The same bounds hold for the other round trips (topology, checkpoint reads,
	// barriers), unless the URL's read-timeout says otherwise.
	if cfg.TargetConn.ReadTimeout == 0 {
		cfg.TargetConn.ReadTimeout = f.replyTimeout
	}
	if cfg.SourceConn.ReadTimeout == 0 {
		cfg.SourceConn.ReadTimeout = min(conn.DefaultReadTimeout, f.sourceTimeout)
	}
	cfg.NoCheckpoints, cfg.EmptyFirst = !f.checkpoints, f.emptyFirst
	if cfg.Conflict, err = replicator.ParseConflict(f.conflict); err != nil {
		return cfg, bad("conflict", f.conflict, "replace, skip or stop")
	}
	if cfg.OnDestLoss, err = replicator.ParseDestLoss(f.onDestLoss); err != nil {
		return cfg, bad("on-dest-loss", f.onDestLoss, "heal or stop")
	}
	if f.verifyRate < 0 {
		return cfg, bad("verify-rate", strconv.Itoa(f.verifyRate), "a number of keys per second, 0 for off")
	}
	cfg.VerifyRate = f.verifyRate
	switch f.onError {
	case "stop":
		cfg.Apply.OnError = apply.PolicyStop
	case "skip":
		cfg.Apply.OnError = apply.PolicySkip
	default:
		return cfg, bad("on-error", f.onError, "stop or skip")
	}
	cfg.Apply.ConnsPerNode = f.connsPerNode
	tc := &cfg.Translate
	policy := func(flag, v string, allowed ...translate.Policy) (translate.Policy, error) {
		m := map[string]translate.Policy{"apply": translate.Apply, "ignore": translate.Ignore, "stop": translate.Stop}
		p, ok := m[v]
		for _, a := range allowed {
			if ok && a == p {
				return p, nil
			}
		}
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = a.String()
		}
		return 0, bad(flag, v, strings.Join(names, ", "))
	}
	if tc.Flush, err = policy("flush", f.flush, translate.Apply, translate.Ignore, translate.Stop); err != nil {
		return cfg, err
	}
	if tc.SwapDB, err = policy("swapdb", f.swapdb, translate.Apply, translate.Ignore, translate.Stop); err != nil {
		return cfg, err
	}
	if tc.Unknown, err = policy("unknown-commands", f.unknown, translate.Ignore, translate.Stop); err != nil {
		return cfg, err
	}
	switch f.downgrade {
	case "stop":
		tc.Downgrade, cfg.Convert.Downgrade = translate.Stop, snapshot.DowngradeStop
	case "drop":
		tc.Downgrade, cfg.Convert.Downgrade = translate.Ignore, snapshot.DowngradeDrop
	default:
		return cfg, bad("downgrade", f.downgrade, "stop or drop")
	}
	tc.Publish = f.publish
	tc.Include, tc.Exclude = list(f.include), list(f.exclude)
	tc.Allow, tc.Deny = list(f.allow), list(f.deny)
	tc.InternalPrefix = f.internalPrefix
	tc.KeyPrefix, tc.Owns = f.keyPrefix, list(f.owns)
	if strings.ContainsAny(f.keyPrefix, "{}") || f.keyPrefix != "" && strings.HasPrefix(f.internalPrefix, f.keyPrefix) {
		return cfg, bad("key-prefix", f.keyPrefix, "a prefix without braces (hash tags stay in the key) that does not start the --internal-prefix")
	}
	if f.dbs != "" {
		if tc.DBs, err = parseDBs(f.dbs); err != nil {
			return cfg, bad("dbs", f.dbs, "a list like 0,1=db1:,2=5 (SRC, SRC=DB or SRC=PREFIX)")
		}
	}
	switch f.mode {
	case "auto":
		cfg.Convert.Mode = snapshot.ModeAuto
	case "restore":
		cfg.Convert.Mode = snapshot.ModeRestore
	case "commands":
		cfg.Convert.Mode = snapshot.ModeCommands
	default:
		return cfg, bad("mode", f.mode, "auto, restore or commands")
	}
	cfg.Convert.MaxBytes, cfg.Convert.MaxElements, cfg.Convert.BigKeyBytes = f.chunkBytes, f.chunkElements, f.bigKeyBytes
	switch f.progress {
	case "auto", "on", "off":
	default:
		return cfg, bad("progress", f.progress, "auto, on or off")
	}
	if cfg.Assign, err = f.assignment(env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// assignment resolves --shard-index/--shard-count; an unset index comes from the
// StatefulSet ordinal at the end of $POD_NAME or $HOSTNAME.
func (f *syncFlags) assignment(env *cliEnv) (replicator.Assignment, error) {
	a := replicator.Assignment{Index: f.shardIndex, Count: f.shardCount}
	if a.Count < 1 || a.Count > 16384 {
		return a, fmt.Errorf("%w: --shard-count %d: use 1 to 16384", errUsage, a.Count)
	}
	if a.Index == -1 && a.Count == 1 {
		a.Index = 0
	}
	for _, v := range []string{"POD_NAME", "HOSTNAME"} {
		if a.Index != -1 {
			break
		}
		if n, ok := replicator.Ordinal(env.getenv(v)); ok {
			a.Index = n
		}
	}
	if a.Index < 0 || a.Index >= a.Count {
		return a, fmt.Errorf("%w: --shard-index %d (or the ordinal of $POD_NAME/$HOSTNAME): use 0 to %d with --shard-count %d", errUsage, a.Index, a.Count-1, a.Count)
	}
	return a, nil
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseDBs reads --dbs: SRC[=DB|=PREFIX],...
func parseDBs(s string) (map[int]translate.Target, error) {
	dbs := map[int]translate.Target{}
	for _, part := range list(s) {
		from, to, mapped := strings.Cut(part, "=")
		db, err := strconv.Atoi(from)
		if err != nil || db < 0 {
			return nil, fmt.Errorf("source database %q is not a number", from)
		}
		var tg translate.Target
		switch n, err := strconv.Atoi(to); {
		case !mapped:
			tg.DB = db
		case err == nil && n >= 0:
			tg.DB = n
		case err == nil:
			return nil, fmt.Errorf("destination database %d is negative", n)
		default:
			tg.Prefix = to
		}
		dbs[db] = tg
	}
	return dbs, nil
}
