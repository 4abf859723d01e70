package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/slots"
)

// DefaultTopologyInterval is how often a Source re-reads the topology.
const DefaultTopologyInterval = 10 * time.Second

// missingReads is how many topology reads in a row must miss a shard before its
// link is stopped (a single read from a node with a stale view must not stop it).
const missingReads = 3

// Follow chooses the node of a shard that a Source replicates from.
type Follow int

// Follow modes.
const (
	FollowMaster  Follow = iota // the shard's master (default)
	FollowReplica               // a replica of the shard, the master when it has none
)

// Config configures a Source.
type Config struct {
	// Seeds are nodes to read the topology from (any node of a cluster, or the
	// standalone server). Required.
	Seeds []string
	// Link is the template of every link: Conn (credentials, TLS), ListeningPort,
	// Backoff, ReadTimeout, AckInterval, SpoolDir, SnapshotRateLimit, Clock, Logger.
	// Addr, ReplID, Offset, DB and OnError are set per shard.
	Link LinkConfig
	// Follow says whether to replicate from masters (default) or replicas.
	Follow Follow
	// TopologyInterval is the period of topology reads; a link failure triggers one
	// at once. Default 10s.
	TopologyInterval time.Duration
	// NewShard is called once per shard, when it is first seen, to get its Handler
	// and where to resume it (a checkpoint). Required.
	NewShard func(ctx context.Context, sh ShardInfo) (ShardStart, error)
	// OnEvent, when set, receives shard events from the Source's goroutine. It must
	// not block.
	OnEvent func(ev Event)
	// Logger receives the Source's logs (and the links', when Link.Logger is nil).
	// Default: discard.
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if len(c.Seeds) == 0 {
		return errors.New("xsync/source: Config.Seeds is empty: give at least one source node")
	}
	if c.NewShard == nil {
		return errors.New("xsync/source: Config.NewShard is nil")
	}
	if c.Follow != FollowMaster && c.Follow != FollowReplica {
		return fmt.Errorf("xsync/source: unknown Follow mode %d", c.Follow)
	}
	if c.TopologyInterval <= 0 {
		c.TopologyInterval = DefaultTopologyInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Link.Logger == nil {
		c.Link.Logger = c.Logger
	}
	probe := c.Link
	probe.Addr = c.Seeds[0]
	return probe.validate() // checks the template once
}

// ShardInfo describes one source shard as last read from the topology.
type ShardInfo struct {
	Index      int           // stable for the life of the Source, from 0 in discovery order
	Ranges     []slots.Range // slots owned (empty for a master that owns none yet)
	Master     slots.Node    // the shard's master
	Node       slots.Node    // the node followed (Master, or a replica with FollowReplica)
	Standalone bool          // the source is a standalone server (one shard, every slot)
}

// ShardStart is what NewShard returns: the shard's Handler and where to resume.
type ShardStart struct {
	// Skip leaves the shard out: no link is started, Handler is not needed, and
	// the shard is not offered again while it keeps a node of its own (scale-out:
	// another xsync process follows it). It is offered again if it leaves the
	// topology and comes back.
	Skip    bool
	Handler Handler
	ReplID  string // "" = full sync
	Offset  int64  // last offset already handled (PSYNC ReplID Offset+1)
	DB      int    // database selected in the stream at Offset
}

// EventKind says what changed in a shard.
type EventKind int

// Event kinds.
const (
	ShardAdded         EventKind = iota // a new shard: its link starts
	ShardNodeChanged                    // the followed node changed (failover, replica choice); the stream resumes with PSYNC
	ShardRangesChanged                  // the shard's slots changed (resharding)
	ShardRemoved                        // the shard left the topology: its link stopped
)

var eventNames = [...]string{"added", "node-changed", "ranges-changed", "removed"}

// String returns the event's name.
func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event reports a change of one shard.
type Event struct {
	Kind  EventKind
	Shard ShardInfo // after the change
	Prev  ShardInfo // before it (zero for ShardAdded)
}

// ShardStatus is a shard and the status of its link.
type ShardStatus struct {
	ShardInfo
	Link Status
}

// shard is the Source's state for one shard. info and link are read by Shards from
// other goroutines; the rest belongs to the Source's loop.
type shard struct {
	info    atomic.Pointer[ShardInfo]
	link    atomic.Pointer[Link]
	handler Handler
	skipped bool            // ShardStart.Skip: known, but followed by no link
	nodes   map[string]bool // keys of every node seen in the shard
	missed  int
	cancel  context.CancelFunc
	done    chan struct{}
}

// Source follows a whole source deployment: one Link per shard, topology re-read on
// a timer and whenever a link fails, new shards picked up and failed-over masters
// replaced by their successors with PSYNC from the old link's position.
type Source struct {
	cfg     Config
	refresh chan struct{}
	resyncs chan resyncReq // Resync's requests, run by the loop
	shards  atomic.Pointer[[]*shard]

	mu      sync.Mutex
	cancel  context.CancelFunc
	running bool
	closed  bool
	done    chan struct{}
}

// NewSource checks cfg and returns a Source; Run starts it.
func NewSource(cfg Config) (*Source, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, refresh: make(chan struct{}, 1), resyncs: make(chan resyncReq), done: make(chan struct{})}
	s.shards.Store(&[]*shard{})
	return s, nil
}

// Refresh asks for a topology read now; it does not block.
func (s *Source) Refresh() {
	select {
	case s.refresh <- struct{}{}:
	default:
	}
}

// Shards returns every shard with its link status; safe from any goroutine.
func (s *Source) Shards() []ShardStatus {
	var out []ShardStatus
	for _, sh := range *s.shards.Load() {
		st := ShardStatus{ShardInfo: *sh.info.Load()}
		if l := sh.link.Load(); l != nil {
			st.Link = l.Status()
		}
		out = append(out, st)
	}
	return out
}

// Close stops Run and waits for it; idempotent.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel, running := s.cancel, s.running
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if running {
		<-s.done
	}
	return nil
}

// Run follows the source until ctx ends or Close (then it returns nil), or until a
// link fails in a way reconnecting cannot fix, or the first topology read fails on
// credentials or TLS; it returns that error. Run may be called once.
func (s *Source) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.running {
		s.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel, s.running = cancel, true
	s.mu.Unlock()
	defer close(s.done)
	defer cancel()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.loop(gctx, g) })
	err := g.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (s *Source) loop(ctx context.Context, g *errgroup.Group) error {
	log := s.cfg.Logger
	t := time.NewTicker(s.cfg.TopologyInterval)
	defer t.Stop()
	first := true
	for {
		topo, standalone, err := readTopology(ctx, s.cfg.Link.Conn, s.addrs())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && first:
			return err
		case err != nil:
			log.Warn("cannot read the source topology; keeping the current links", "err", err)
		default:
			if err := s.reconcile(ctx, g, topo, standalone); err != nil {
				return err
			}
			first = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.refresh:
		case req := <-s.resyncs:
			if err := s.resync(ctx, g, req); err != nil {
				req.done <- err
				return err
			}
		}
	}
}

// addrs lists where to read the topology: the seeds, then every node known.
func (s *Source) addrs() []string {
	out := slices.Clone(s.cfg.Seeds)
	for _, sh := range *s.shards.Load() {
		info := sh.info.Load()
		for _, a := range []string{info.Master.Addr, info.Node.Addr} {
			if a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// pick returns the node to follow in a shard: the master, or with FollowReplica the
// replica followed so far if it is still healthy, else an online replica, else any
// replica not failed (CLUSTER SHARDS of 7.0 calls a replica that has not received a
// byte yet "loading"), else the master.
func (s *Source) pick(ts slots.Shard, current string) slots.Node {
	if s.cfg.Follow != FollowReplica {
		return ts.Primary
	}
	var online, alive *slots.Node
	for i := range ts.Replicas {
		r := &ts.Replicas[i]
		if r.Health == "fail" || r.Addr == "" {
			continue
		}
		if r.Addr == current {
			return *r
		}
		if alive == nil {
			alive = r
		}
		if online == nil && (r.Health == "online" || r.Health == "") {
			online = r
		}
	}
	switch {
	case online != nil:
		return *online
	case alive != nil:
		return *alive
	}
	return ts.Primary
}
