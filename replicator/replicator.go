package replicator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/replicator/scansrc"
	"github.com/xsync/xsync/replicator/snapshot"
	"github.com/xsync/xsync/replicator/source"
	"github.com/xsync/xsync/replicator/translate"
	"github.com/xsync/xsync/slots"
)

// Conflict says what a full sync does with a key that already exists on the
// destination.
type Conflict int

// Conflict policies.
const (
	ConflictReplace Conflict = iota // overwrite it (RESTORE ... REPLACE, or DEL first)
	ConflictSkip                    // keep the destination's key, count and log the conflict
	ConflictStop                    // stop the sync with an error naming the key
)

// ParseConflict reads a policy name: replace, skip or stop.
func ParseConflict(s string) (Conflict, error) {
	switch s {
	case "replace", "":
		return ConflictReplace, nil
	case "skip":
		return ConflictSkip, nil
	case "stop":
		return ConflictStop, nil
	}
	return 0, fmt.Errorf("xsync/replicator: conflict policy %q: use replace, skip or stop", s)
}

// Config configures a Replicator. Zero fields take the defaults of the packages
// they are passed to.
type Config struct {
	// SourceSeeds are nodes of the source (any node of a cluster, or the standalone
	// server). Required.
	SourceSeeds []string
	// SourceConn holds the source's credentials, TLS and timeouts.
	SourceConn conn.Options
	// Follow says whether to replicate from masters (default) or replicas.
	Follow source.Follow
	// SnapshotRateLimit caps snapshot bytes read per second per shard. Default 0: none.
	SnapshotRateLimit int64
	// SourceTimeout declares a source link dead when no byte arrived for that long
	// (like Redis repl-timeout; a master PINGs its replicas every
	// repl-ping-replica-period, 10s by default). Default 60s.
	SourceTimeout time.Duration
	// SpoolDir spools snapshots to disk before decoding them. Default "": none.
	SpoolDir string
	// TargetSeeds are nodes of the destination. Required.
	TargetSeeds []string
	// TargetConn holds the destination's credentials, TLS and timeouts.
	TargetConn conn.Options
	// Apply tunes the applier (windows, batches, error policies); Addrs and Conn are
	// set from TargetSeeds and TargetConn.
	Apply apply.Config
	// Translate is the template of every shard's translator: filters, database
	// mapping, policies. Source, SourceKind, SourceSlots, DestKind, DestVersion and
	// Scripts are set per shard.
	Translate translate.Config
	// Convert tunes how snapshot keys are written (chunk sizes, big keys); Target
	// and Replace are set from the destination and Conflict.
	Convert snapshot.Options
	// Decode tunes the RDB decoder (raw limit, chunk sizes).
	Decode rdb.Options
	// Conflict is the full-sync policy for keys already on the destination.
	// Default ConflictReplace.
	Conflict Conflict
	// NoCheckpoints turns exactly-once checkpoints off (see checkpoint.go): writes
	// are then applied at least once across restarts and every start syncs in full.
	// Default false: checkpoints on.
	NoCheckpoints bool
	// EmptyFirst empties each source shard's slots on the destination before its
	// first full sync. (A full resync of a shard already synced always does.)
	// Default false.
	EmptyFirst bool
	// OnDestLoss says what happens when the destination loses data it had
	// acknowledged (a master restarted empty, failed over to a replica that
	// lagged, FLUSHALL, a node replaced): DestLossHeal (default) re-applies the
	// slots that lost writes, DestLossStop ends Run with an error (destloss.go).
	OnDestLoss DestLoss
	// VerifyRate is how many source keys per second are sampled and compared
	// with the destination while streaming (drift.go). Default 0: off.
	VerifyRate int
	// VerifySource and VerifyTarget are the clients the live comparison reads
	// with (a *redis.Client or *redis.ClusterClient each); required with
	// VerifyRate. Run does not close them.
	VerifySource, VerifyTarget redis.UniversalClient
	// GuardInterval is how often the destination's masters are checked for a
	// restart, a failover or a FLUSHALL (destguard.go). Default 1s; negative: off.
	GuardInterval time.Duration
	// Assign splits the source shards between several xsync processes (scale-out,
	// see assign.go): this process writes only the shards Assign.Owns. Default: the
	// zero Assignment, every shard.
	Assign Assignment
	// SourceMode says how the source is read: PSYNC, scan (SCAN + DUMP and
	// keyspace notifications, for sources that refuse replication), or auto
	// (default): PSYNC, scan when a source master refuses it (scanmode.go).
	SourceMode SourceMode
	// Scan tunes scan mode (coalescing, batch sizes, --scan-set-notify);
	// Masters, Conn, Sink, Convert, Filter, Logger and Now are set here.
	Scan scansrc.Config
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) validate() error {
	if len(c.SourceSeeds) == 0 {
		return errors.New("xsync/replicator: no source seed: give --source")
	}
	if len(c.TargetSeeds) == 0 {
		return errors.New("xsync/replicator: no destination seed: give --target")
	}
	if err := c.Assign.validate(); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnDestLoss != DestLossHeal && c.OnDestLoss != DestLossStop {
		return fmt.Errorf("xsync/replicator: unknown destination-loss policy %d", c.OnDestLoss)
	}
	if c.VerifyRate < 0 || (c.VerifyRate > 0 && (c.VerifySource == nil || c.VerifyTarget == nil)) {
		return fmt.Errorf("xsync/replicator: VerifyRate %d needs VerifySource and VerifyTarget", c.VerifyRate)
	}
	if c.GuardInterval == 0 {
		c.GuardInterval = time.Second
	}
	c.Apply.Addrs = c.TargetSeeds
	c.Apply.Conn = c.TargetConn
	if c.Apply.DrainTimeout == 0 {
		c.Apply.DrainTimeout = 4 * time.Second // a SIGTERM stops within 5s
	}
	if c.Translate.InternalPrefix == "" {
		c.Translate.InternalPrefix = "__xsync:"
	}
	if c.Apply.Logger == nil {
		c.Apply.Logger = c.Logger.With("component", "apply")
	}
	switch c.Conflict {
	case ConflictReplace:
		c.Convert.Replace = snapshot.ReplaceKey
	case ConflictSkip, ConflictStop:
		c.Convert.Replace = snapshot.ReplaceNever
		if c.Apply.Policies == nil {
			c.Apply.Policies = map[apply.ErrorKind]apply.ErrorPolicy{}
		}
		if c.Conflict == ConflictSkip {
			c.Apply.Policies[apply.KindBusyKey] = apply.PolicySkip
		} else {
			c.Apply.Policies[apply.KindBusyKey] = apply.PolicyStop
		}
	default:
		return fmt.Errorf("xsync/replicator: unknown conflict policy %d", c.Conflict)
	}
	return nil
}

// Replicator keeps a destination in step with a source: one source link per shard,
// snapshot records and stream commands turned into operations, applied per slot.
//
// Locks: pauseMu guards paused, mu guards shards and cks. They are never held
// together and no other lock is taken under either; moves (moveRegistry) has its
// own order.
type Replicator struct {
	cfg     Config
	applier *apply.Applier
	src     *source.Source
	log     *slog.Logger
	started time.Time

	pauseMu sync.Mutex
	paused  chan struct{} // non-nil while paused: closed by Resume
	pausedF atomic.Bool   // paused != nil, read without the lock on every command
	stopped atomic.Bool

	mu     sync.Mutex
	shards map[int]*shard // by source shard index

	moves   *moveRegistry // pairs the halves of source key moves (moves.go)
	nShards atomic.Int32  // source shards known

	ckKeys *ckptKeys    // checkpoint key of every slot; nil without checkpoints
	cks    map[int]ckpt // checkpoints read at start, by slot
	marks  *slotMarks   // the newest offset written to each slot (destloss.go)
	loss   lossState    // destination data loss: detection and healing (destloss.go)
	drift  driftState   // live comparison of sampled keys (drift.go)

	rate opsRate

	procs atomic.Pointer[[]ProcessStatus] // scale-out: every process's status (assign_status.go)

	scanner        atomic.Pointer[scansrc.Scanner] // scan mode (scanmode.go); nil in PSYNC mode
	scanChoosing   atomic.Bool                     // the source mode is not decided yet
	scanStandalone bool                            // scan mode: the source is a standalone server
}

// New checks cfg and returns a Replicator; Run starts it.
func New(cfg Config) (*Replicator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Replicator{cfg: cfg, log: cfg.Logger, shards: map[int]*shard{}, started: cfg.Now(), moves: newMoveRegistry(cfg.Now), marks: &slotMarks{}}
	r.scanChoosing.Store(cfg.SourceMode != SourceModePSYNC)
	if !cfg.NoCheckpoints {
		r.ckKeys = newCkptKeys(cfg.Translate.InternalPrefix)
		cfg.Apply.Recheck = r.recheck
	}
	if cfg.GuardInterval > 0 {
		// An error reply that would stop the sync waits for the guard's look
		// at the destination: a loss may explain it (destguard.go).
		r.loss.poke = make(chan struct{}, 1)
		cfg.Apply.Hold = r.holdError
	}
	a, err := apply.New(cfg.Apply)
	if err != nil {
		return nil, err
	}
	r.applier = a
	src, err := source.NewSource(source.Config{
		Seeds: cfg.SourceSeeds,
		Link: source.LinkConfig{
			Conn:              cfg.SourceConn,
			SpoolDir:          cfg.SpoolDir,
			SnapshotRateLimit: cfg.SnapshotRateLimit,
			ReadTimeout:       cfg.SourceTimeout,
			Logger:            cfg.Logger.With("component", "source"),
		},
		Follow:   cfg.Follow,
		NewShard: r.newShard,
		OnEvent:  r.onEvent,
		Logger:   cfg.Logger.With("component", "source"),
	})
	if err != nil {
		return nil, err
	}
	r.src = src
	return r, nil
}

// Run replicates until ctx is cancelled (then it stops the links, lets the
// destination acknowledge what is in flight, and returns nil) or a fatal error.
func (r *Replicator) Run(ctx context.Context) error {
	defer r.stopped.Store(true)
	// The applier outlives the source: it drains what the links handed over once
	// they have stopped.
	actx, cancelApply := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelApply()
	applyDone := make(chan error, 1)
	go func() { applyDone <- r.applier.Run(actx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		select {
		case err := <-applyDone:
			applyDone <- err
			if err == nil {
				err = errors.New("xsync/replicator: the applier stopped")
			}
			return err
		case <-gctx.Done():
			return nil
		}
	})
	g.Go(func() error {
		if err := r.applier.Ready(gctx); err != nil {
			return err
		}
		r.log.Info("destination connected", "server", r.applier.Server(), "version", r.applier.Version(), "standalone", r.applier.Standalone())
		masters, scan, err := r.chooseScan(gctx)
		r.scanChoosing.Store(false)
		if err != nil {
			return err
		}
		if scan {
			// State is copied, not operations: no checkpoints, no source links,
			// and no destination guard (its heal replays checkpoints).
			return r.runScan(gctx, masters)
		}
		if r.ckKeys != nil {
			cks, err := readCheckpoints(gctx, r.applier, r.cfg.Translate.InternalPrefix, r.ckKeys)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.cks = cks
			r.mu.Unlock()
			r.log.Info("checkpoints read", "slots", len(cks))
		}
		if r.cfg.GuardInterval > 0 {
			// The guard's first look, before any write: what a later look
			// compares with (destguard.go).
			g0 := newGuard()
			r.checkDest(gctx, g0)
			g.Go(func() error { return r.guardDest(gctx, g0) })
		}
		return r.src.Run(gctx)
	})
	g.Go(func() error { r.rate.run(gctx, r.applier); return nil })
	if r.cfg.Assign.Count > 1 {
		g.Go(func() error { return r.publishStatus(gctx) })
	}
	if r.ckKeys != nil {
		g.Go(func() error { return r.watermarks(gctx) })
	}
	g.Go(func() error { r.pollSources(gctx); return nil })
	if r.cfg.VerifyRate > 0 {
		g.Go(func() error { return r.verifyLive(gctx) })
	}
	err := g.Wait()
	r.unpause() // a paused handler must not hold the stop up
	cancelApply()
	if aerr := <-applyDone; err == nil || errors.Is(err, context.Canceled) {
		err = aerr
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	return err
}

// Pause stops handing operations to the destination until Resume; the links keep
// their connections (a long pause fills the source's replica output buffer).
func (r *Replicator) Pause() error {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.stopped.Load() {
		return errors.New("xsync is stopped")
	}
	if r.paused == nil {
		r.paused = make(chan struct{})
		r.pausedF.Store(true)
		r.log.Info("paused")
	}
	return nil
}

// Resume ends a Pause.
func (r *Replicator) Resume() error {
	r.unpause()
	return nil
}

func (r *Replicator) unpause() {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.paused != nil {
		close(r.paused)
		r.paused = nil
		r.pausedF.Store(false)
		r.log.Info("resumed")
	}
}

// waitPaused blocks while the replicator is paused.
func (r *Replicator) waitPaused(ctx context.Context) error {
	r.pauseMu.Lock()
	ch := r.paused
	r.pauseMu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Replicator) isPaused() bool { return r.pausedF.Load() }

// shardList returns the shards followed now, in no particular order.
func (r *Replicator) shardList() []*shard {
	r.mu.Lock()
	defer r.mu.Unlock()
	shards := make([]*shard, 0, len(r.shards))
	for _, sh := range r.shards {
		shards = append(shards, sh)
	}
	return shards
}

// Applier returns the applier (for tests and the admin port).
func (r *Replicator) Applier() *apply.Applier { return r.applier }

// newShard is called by the Source for every new source shard.
func (r *Replicator) newShard(ctx context.Context, info source.ShardInfo) (source.ShardStart, error) {
	if !r.owns(ctx, info) {
		// Another process follows it: no link, no replica connection to its master.
		r.log.Info("source shard belongs to another xsync process: not followed here",
			"shard", info.Index, "node", info.Node.Addr, "owner", Owner(info.Ranges, r.cfg.Assign.Count),
			"assignment", r.cfg.Assign.String())
		return source.ShardStart{Skip: true}, nil
	}
	sh, err := newShard(r, info)
	if err != nil {
		return source.ShardStart{}, err
	}
	sh.keysTotal.Store(r.sourceKeys(ctx, info.Node.Addr))
	start := source.ShardStart{Handler: sh}
	r.mu.Lock()
	r.shards[info.Index] = sh
	r.nShards.Store(int32(len(r.shards)))
	cks := r.cks
	r.mu.Unlock()
	owned := sh.ownedRanges()
	var wm watermark
	if len(owned) > 0 && r.ckKeys != nil {
		v, err := r.applier.Do(ctx, owned[0].Start, []byte("GET"), wmKey(r.cfg.Translate.InternalPrefix, owned[0].Start))
		if err != nil {
			return source.ShardStart{}, fmt.Errorf("xsync/replicator: reading the watermark of shard %d: %w", info.Index, err)
		}
		if !v.Null {
			if wm, err = parseWatermark(v.Str); err != nil {
				return source.ShardStart{}, err
			}
		}
	}
	if c, ok := resumePoint(cks, owned, wm); ok {
		start.ReplID, start.Offset, start.DB = c.replID, c.offset, c.db
		sh.resumeFrom(cks, owned, c)
		for _, rg := range owned {
			for sl := rg.Start; sl <= rg.End; sl++ {
				r.marks.set(sl, cks[sl].offset, info.Index)
			}
		}
	} else if anyCkpt(cks, owned) {
		sh.synced.Store(true) // partly synced before: empty its slots before the full sync
	}
	r.log.Info("source shard found", "shard", info.Index, "node", info.Node.Addr, "ranges", len(info.Ranges),
		"standalone", info.Standalone, "resume_replid", start.ReplID, "resume_offset", start.Offset)
	return start, nil
}

// sourceKeys estimates the keys of a source node from INFO keyspace (the full
// sync's key total until the snapshot's RESIZEDB hints arrive); 0 when unknown.
func (r *Replicator) sourceKeys(ctx context.Context, addr string) int64 {
	o := r.cfg.SourceConn
	o.Addr = addr
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := conn.Dial(dctx, o)
	if err != nil {
		return 0
	}
	defer c.Close()
	v, err := c.Do(dctx, "INFO", "keyspace")
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(v.Str), "\n") {
		_, rest, ok := strings.Cut(strings.TrimSpace(line), ":keys=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		k, _ := strconv.ParseInt(n, 10, 64)
		total += k
	}
	return total
}

// anyCkpt reports whether any slot of ranges has a checkpoint.
func anyCkpt(cks map[int]ckpt, ranges []slots.Range) bool {
	for _, r := range ranges {
		for s := r.Start; s <= r.End; s++ {
			if _, ok := cks[s]; ok {
				return true
			}
		}
	}
	return false
}

// watermarks writes each streaming shard's watermark every two seconds.
func (r *Replicator) watermarks(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, sh := range r.shardList() {
			if err := sh.writeWatermark(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("writing a watermark failed; resuming after a restart may reach further back", "shard", sh.index, "err", err)
			}
		}
	}
}

// pollSources reads every second the replication offset of each followed source
// node, so that INFO's lag counts what is still waiting on the source.
func (r *Replicator) pollSources(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	conns := map[string]*conn.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, link := range r.src.Shards() {
			r.mu.Lock()
			sh := r.shards[link.Index]
			r.mu.Unlock()
			addr := link.Node.Addr
			if sh == nil || addr == "" {
				continue
			}
			c := conns[addr]
			if c == nil {
				o := r.cfg.SourceConn
				o.Addr = addr
				dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				var err error
				c, err = conn.Dial(dctx, o)
				cancel()
				if err != nil {
					continue
				}
				conns[addr] = c
			}
			v, err := c.Do(ctx, "INFO", "replication")
			if err != nil {
				c.Close()
				delete(conns, addr)
				continue
			}
			if off, ok := infoField(string(v.Str), "master_repl_offset"); ok {
				sh.sourceOffset.Store(off)
			}
		}
	}
}

// infoField returns an integer field of an INFO reply.
func infoField(info, field string) (int64, bool) {
	n, err := strconv.ParseInt(redisver.InfoField(info, field), 10, 64)
	return n, err == nil
}

// recheck tells the applier whether an op whose reply was lost with its
// connection was applied: the op carries its slot's checkpoint (see
// submitCkpt), and the destination's checkpoint has reached it.
func (r *Replicator) recheck(ctx context.Context, d apply.Dest, op apply.Op) (bool, error) {
	if op.Slot < 0 || op.Barrier != nil {
		return false, nil
	}
	want, ok := carriedCkpt(op.Cmd, r.ckKeys[op.Slot])
	if !ok {
		return false, nil // no checkpoint travels with it: send it again
	}
	v, err := d.Do(ctx, op.Slot, []byte("GET"), r.ckKeys[op.Slot])
	if err != nil {
		return false, err
	}
	if v.Null {
		return false, nil
	}
	c, err := parseCkpt(v.Str)
	if err != nil {
		return false, err
	}
	return c.offset >= want, nil
}

func (r *Replicator) onEvent(ev source.Event) {
	r.log.Info("source shard "+ev.Kind.String(), "shard", ev.Shard.Index, "node", ev.Shard.Node.Addr)
	r.checkAssignment(ev)
	if ev.Kind == source.ShardRangesChanged || ev.Kind == source.ShardNodeChanged {
		r.mu.Lock()
		sh := r.shards[ev.Shard.Index]
		r.mu.Unlock()
		if sh != nil {
			sh.setRanges(ev.Shard.Ranges, ev.Shard.Standalone)
		}
	}
}

// Status returns a snapshot of the whole job.
func (r *Replicator) Status() Status {
	st := Status{Started: r.started, OpsPerSec: r.rate.get(), DestServer: r.applier.Server()}
	now := r.cfg.Now()
	links := map[int]source.ShardStatus{}
	for _, s := range r.src.Shards() {
		links[s.Index] = s
	}
	shards := r.shardList()
	for _, sh := range shards {
		st.Shards = append(st.Shards, sh.status(links[sh.index], now))
	}
	sortShards(st.Shards)
	switch {
	case r.stopped.Load():
		st.State = StateStopped
	case r.isPaused():
		st.State = StatePaused
	}
	r.scanStatus(&st)
	st.summarize()
	r.lossStatus(&st)
	r.driftStatus(&st)
	// What the applier counts belongs to no shard in particular.
	as := r.applier.Stats()
	st.OpsApplied = int64(as.Applied)
	st.BarrierErrors = int64(as.BarrierErrors)
	st.DestErrors = make(map[string]int64, len(as.Errors))
	for k, n := range as.Errors {
		st.Errors += int64(n)
		st.DestErrors[apply.ErrorKind(k).String()] = int64(n)
	}
	for _, sh := range shards {
		// Snapshot keys kept under --conflict skip that were looked up rather
		// than refused by RESTORE count as the BUSYKEY they stand for.
		st.DestErrors[apply.KindBusyKey.String()] += sh.conflicts.Load()
		st.Collisions += sh.collisions.Load() + sh.tr.Stats().Collisions
	}
	st.DestRetries = make(map[string]int64, len(as.Retries))
	for k, n := range as.Retries {
		st.DestRetries[apply.RetryKind(k).String()] = int64(n)
	}
	return st
}

func sortShards(s []ShardStatus) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Index < s[j-1].Index; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// opsRate measures operations applied per second, sampled every second.
type opsRate struct {
	v atomic.Uint64 // float64 bits
}

func (o *opsRate) run(ctx context.Context, a *apply.Applier) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := a.Stats().Applied
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cur := a.Stats().Applied
			o.v.Store(cur - last)
			last = cur
		}
	}
}

func (o *opsRate) get() float64 { return float64(o.v.Load()) }
