package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// AllMasters as Op.Slot runs the op on every destination master (after every
// earlier op of its Source, like a barrier).
const AllMasters = -1

// Op is one unit of work for the destination.
type Op struct {
	Source int    // index of the source shard it came from
	Offset int64  // source offset reached once this op is applied (0: not a boundary)
	Slot   int    // destination slot that orders it; AllMasters to run on every master
	Cmd    []byte // one or more RESP-encoded commands, sent as they are; a MULTI..EXEC group stays whole
	N      int    // number of commands in Cmd (replies to expect)
	Key    []byte // key for log and error messages (optional)
	// Barrier, when set, runs after every earlier op of this Source is applied and
	// before any later one starts; Cmd is ignored. Used to emulate cross-slot
	// commands from standalone sources and to empty a source shard's slots on
	// FLUSHALL.
	Barrier func(ctx context.Context, d Dest) error
	// What, for a Barrier op, says what it does ("emulate SORT ..."), for logs
	// and error messages. Optional.
	What string
}

// Dest is what a Barrier may use: synchronous commands routed by slot.
type Dest interface {
	// Do runs one command on the master that owns slot, following MOVED and ASK
	// and retrying TRYAGAIN, CLUSTERDOWN, LOADING and lost connections. An error
	// reply that a retry cannot fix is returned as an error. The Value is the
	// caller's to keep.
	Do(ctx context.Context, slot int, args ...[]byte) (resp.Value, error)
	// DoAll runs one command on every master.
	DoAll(ctx context.Context, args ...[]byte) error
	// Table is the current slot table.
	Table() *slots.Table
}

// Errors returned by the Applier.
var (
	ErrClosed     = errors.New("xsync/apply: applier closed")
	ErrRunning    = errors.New("xsync/apply: Run called twice")
	ErrBadOp      = errors.New("xsync/apply: invalid op")
	ErrNotRunning = errors.New("xsync/apply: Run has not connected yet")
)

// Applier applies ops to a destination Redis Cluster (or standalone server)
// through pipelined connections, one set per master, keeping the order of ops
// per (Source, Slot) through retries. See the package documentation.
//
// # Locks
//
// A goroutine that holds a lock of this list takes only locks further down it:
//
//  1. refreshMu: one slot-table refresh at a time (topology.go); held across the
//     round trips of the refresh.
//  2. node.ctlMu, of one node at a time: that node's control connection
//     (topology reads, Dest.Do of barriers); held across its round trips.
//  3. mu (with cond): the window, the lanes and sources, readiness and the first
//     error. Never held across network I/O.
//  4. Taken under mu or alone, never two of them together: pipe.mu (a pipe's queue
//     and window), retrier.mu (the lanes waiting for a backoff), scripts.mu (the
//     script bodies) and nodesMu (the node map; it takes runMu while starting a new
//     node's pipes, and runMu is taken last).
//
// pipe.dlMu (the read deadline of one connection) is taken alone. Functions whose
// name ends in Locked expect the caller to hold mu; nodeFor takes nodesMu itself
// and may be called with or without mu. closeNodes closes the nodes after letting
// nodesMu go, because closing a node takes its ctlMu, which comes before nodesMu.
type Applier struct {
	cfg   Config
	log   *slog.Logger
	stats stats

	mu      sync.Mutex
	cond    *sync.Cond // Applier.mu: window room, acknowledgements, readiness, errors
	waiters int        // goroutines waiting on cond
	roomers int        // of them, those waiting for room in the window (waitRoomLocked)
	ready   bool
	closing bool  // no more Submit
	stopped bool  // Run returned: nothing will be acknowledged any more
	err     error // first fatal error
	pending int
	pendB   int64
	sources map[int]*source
	lanes   [][]*[laneChunk]lane // [Source][Slot/laneChunk], allocated as ops come

	nodesMu sync.Mutex
	nodes   map[string]*node

	refreshMu  sync.Mutex
	routes     atomic.Pointer[routes]
	holder     slots.Holder
	topoEpoch  atomic.Uint64
	version    atomic.Pointer[redisver.Version]
	server     atomic.Pointer[string] // "Valkey 8.0.1", "Redis 7.4.1"
	standalone atomic.Bool
	scripts    scriptCache
	retrier    retrier

	runMu     sync.Mutex
	running   bool
	group     *errgroup.Group
	gctx      context.Context
	cancel    context.CancelCauseFunc
	runDone   chan struct{}
	closeOnce sync.Once
	closed    chan struct{}
	slab      []byte
	opPool    sync.Pool
	touched   []*pipe  // SubmitBatch's pipes with staged ops (Applier.mu)
	freeBufs  [][]byte // released batch buffers for BatchBuffer (Applier.mu)
}

// New checks cfg and returns an Applier. It does not connect: Run does.
func New(cfg Config) (*Applier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Applier{
		cfg:     cfg,
		log:     cfg.Logger,
		sources: make(map[int]*source),
		nodes:   make(map[string]*node),
		closed:  make(chan struct{}),
		runDone: make(chan struct{}),
	}
	a.cond = sync.NewCond(&a.mu)
	a.opPool.New = func() any { return new(op) }
	a.scripts.init()
	a.retrier.init(a)
	return a, nil
}

// Submit queues op. It blocks while the pending window (Config.MaxPendingOps,
// MaxPendingBytes) is full or before Run has connected. Ops of one (Source,
// Slot) are applied in the order of their Submit calls. Cmd is copied: the
// caller may reuse it when Submit returns. A Barrier op (or one with Slot
// AllMasters) runs inside Submit once every earlier op of its Source is
// acknowledged, so Submit returns only after it ran; its error ends Run.
func (a *Applier) Submit(ctx context.Context, in Op) error {
	if in.Barrier != nil || in.Slot == AllMasters {
		return a.submitBarrier(ctx, in)
	}
	if err := a.checkOp(&in); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.waitRoomLocked(ctx, 1, int64(len(in.Cmd))); err != nil {
		return err
	}
	o, err := a.newOpLocked(in, false)
	if err != nil {
		return err
	}
	a.enqueueLocked(o.lane, o, nil)
	return nil
}

// SubmitBatch queues ops as that many calls of Submit would, in order, but takes
// the applier's lock once and wakes each destination connection once: the path
// of a snapshot, whose ops come by the hundred thousand. Every op keeps its own
// reply, retries and error report. It blocks until the window has room for the
// whole batch (or is empty). Barrier and AllMasters ops are refused (ErrBadOp):
// submit them alone. On an error, ops before the failing one may be queued.
//
// Unlike Submit, SubmitBatch does not copy Cmd and Key: it keeps them until the
// ops are acknowledged, and the caller must not modify them once it is called
// (whatever it returns). The slice ops itself may be reused. When buf is not
// nil it must come from BatchBuffer and hold every Cmd and Key of ops (and
// nothing else the caller still uses): the applier reuses it once all of them
// are acknowledged.
func (a *Applier) SubmitBatch(ctx context.Context, ops []Op, buf []byte) error {
	var size int64
	for i := range ops {
		if ops[i].Barrier != nil || ops[i].Slot == AllMasters {
			return fmt.Errorf("%w: a barrier in a batch (source %d)", ErrBadOp, ops[i].Source)
		}
		if err := a.checkOp(&ops[i]); err != nil {
			return err
		}
		size += int64(len(ops[i].Cmd))
	}
	if len(ops) == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.waitRoomLocked(ctx, len(ops), size); err != nil {
		return err
	}
	var bb *batchBuf
	if buf != nil {
		bb = &batchBuf{b: buf}
	}
	defer func() {
		for _, p := range a.touched {
			p.flushStaged()
		}
		clear(a.touched)
		a.touched = a.touched[:0]
	}()
	for _, in := range ops {
		o, err := a.newOpLocked(in, true)
		if err != nil {
			return err
		}
		if bb != nil {
			o.buf = bb
			bb.refs++
		}
		a.enqueueLocked(o.lane, o, &a.touched)
	}
	return nil
}

// BatchBufferSize is the capacity of the buffers BatchBuffer returns.
const BatchBufferSize = 64 << 10

// maxFreeBuffers bounds the buffers kept for reuse (4 MiB).
const maxFreeBuffers = 64

// batchBuf is a buffer of SubmitBatch and the number of its ops not yet
// acknowledged (Applier.mu).
type batchBuf struct {
	b    []byte
	refs int
}

// BatchBuffer returns an empty buffer of capacity BatchBufferSize for the bytes
// of a SubmitBatch, one that an earlier batch has released when there is one:
// a snapshot's keys then cost no allocation (nor its zeroing, nor the GC).
func (a *Applier) BatchBuffer() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.freeBufs); n > 0 {
		b := a.freeBufs[n-1]
		a.freeBufs[n-1] = nil
		a.freeBufs = a.freeBufs[:n-1]
		return b
	}
	return make([]byte, 0, BatchBufferSize)
}

// releaseLocked drops o's reference to its batch buffer, keeping the buffer for
// BatchBuffer once no op refers to it.
func (a *Applier) releaseLocked(o *op) {
	bb := o.buf
	if bb.refs--; bb.refs > 0 {
		return
	}
	if len(a.freeBufs) < maxFreeBuffers && cap(bb.b) == BatchBufferSize {
		a.freeBufs = append(a.freeBufs, bb.b[:0])
	}
	bb.b = nil
}

// checkOp validates a (non-barrier) op and notes the scripts it loads.
func (a *Applier) checkOp(in *Op) error {
	if in.Slot < 0 || in.Slot >= slots.NumSlots || in.N <= 0 || len(in.Cmd) == 0 || in.Source < 0 {
		return fmt.Errorf("%w: source %d slot %d with %d commands in %d bytes", ErrBadOp, in.Source, in.Slot, in.N, len(in.Cmd))
	}
	if in.N > 1 { // N must match Cmd, or replies would be matched to the wrong ops
		if n, err := countCommands(in.Cmd); err != nil || n != in.N {
			return fmt.Errorf("%w: N is %d but Cmd holds %d commands (%v)", ErrBadOp, in.N, n, err)
		}
	}
	a.scripts.observe(in.Cmd)
	return nil
}

// waitRoomLocked waits until Run is connected and the pending window has room
// for n ops of size bytes (or is empty).
func (a *Applier) waitRoomLocked(ctx context.Context, n int, size int64) error {
	a.roomers++
	defer func() { a.roomers-- }()
	return a.waitLocked(ctx, false, func() bool {
		return a.ready && (a.pending == 0 || (a.pending+n <= a.cfg.MaxPendingOps && a.pendB+size <= a.cfg.MaxPendingBytes))
	})
}

// newOpLocked makes the op of in, counted in the window and its source's order;
// with keep it keeps in's Cmd and Key, else it copies them.
func (a *Applier) newOpLocked(in Op, keep bool) (*op, error) {
	o := a.opPool.Get().(*op)
	o.Op = in
	if !keep {
		o.Cmd = a.copyCmdLocked(in.Cmd)
		if len(in.Key) > 0 {
			o.Key = a.copyCmdLocked(in.Key)
		}
	}
	o.size = len(o.Cmd)
	o.txn = isMulti(o.Cmd)
	o.seq = a.sourceLocked(in.Source).push(in.Offset)
	o.lane = a.laneLocked(in.Source, in.Slot)
	a.pending++
	a.pendB += int64(o.size)
	a.stats.submitted.Add(1)
	if err := o.prepare(false, nil); err != nil {
		return nil, err
	}
	return o, nil
}

// copyCmdLocked copies cmd into a shared slab; small commands then cost no
// allocation of their own. The slab is garbage once none of its ops is alive.
func (a *Applier) copyCmdLocked(cmd []byte) []byte {
	const slabSize = 64 << 10
	if len(cmd) > slabSize/8 {
		return append([]byte(nil), cmd...)
	}
	if cap(a.slab)-len(a.slab) < len(cmd) {
		a.slab = make([]byte, 0, slabSize)
	}
	n := len(a.slab)
	a.slab = append(a.slab, cmd...)
	return a.slab[n:len(a.slab):len(a.slab)]
}

// waitLocked waits on cond until ok() holds, the applier failed or closed, or
// ctx is done.
func (a *Applier) waitLocked(ctx context.Context, closingOK bool, ok func() bool) error {
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		if a.err != nil {
			return a.err
		}
		if a.closing && !closingOK {
			return ErrClosed
		}
		if a.stopped {
			if closingOK && ok() {
				return nil
			}
			return ErrClosed
		}
		if ok() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if stop == nil {
			stop = context.AfterFunc(ctx, func() {
				a.mu.Lock()
				a.cond.Broadcast()
				a.mu.Unlock()
			})
		}
		a.waiters++
		a.cond.Wait()
		a.waiters--
	}
}

// wakeLocked wakes the waiters after acknowledgements. Those that only wait for
// room in the window are woken once it is down to three quarters (or empty):
// a full window then lets a snapshot's decoder run for a quarter of it instead
// of waking it for every group of replies, each too small for its next batch.
// Whoever holds Applier.mu is not waiting, so every goroutine counted in roomers
// is asleep in cond.Wait.
func (a *Applier) wakeLocked() {
	if a.waiters == 0 {
		return
	}
	if a.waiters > a.roomers || a.pending == 0 ||
		(a.pending <= a.cfg.MaxPendingOps-a.cfg.MaxPendingOps/4 && a.pendB <= a.cfg.MaxPendingBytes-a.cfg.MaxPendingBytes/4) {
		a.cond.Broadcast()
	}
}

// Flush returns when every op submitted before the call is acknowledged (or
// skipped by the policy), or with the error that ended Run, or ctx's error.
func (a *Applier) Flush(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	target := make(map[*source]uint64, len(a.sources))
	for _, s := range a.sources {
		target[s] = s.next
	}
	return a.waitLocked(ctx, true, func() bool {
		for s, t := range target {
			if s.base < t {
				return false
			}
		}
		return true
	})
}

// Applied returns the highest Offset of source such that it and every op of
// source submitted before it are acknowledged; 0 when none.
func (a *Applier) Applied(source int) int64 {
	a.mu.Lock()
	s := a.sources[source]
	a.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.applied.Load()
}

// Err returns the error that ended (or is ending) Run, if any.
func (a *Applier) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// failLocked records a fatal error and stops Run.
func (a *Applier) failLocked(err error) {
	if a.err != nil {
		return
	}
	a.err = err
	a.log.Error("applier stopping", "err", err)
	if a.cancel != nil {
		a.cancel(err)
	}
	a.cond.Broadcast()
}

func (a *Applier) fail(err error) {
	a.mu.Lock()
	a.failLocked(err)
	a.mu.Unlock()
}

// ackLocked marks o applied: its source's watermark may advance and the pending
// window shrinks.
func (a *Applier) ackLocked(o *op) {
	a.sourceLocked(o.Source).done(o.seq)
	a.pending--
	a.pendB -= int64(o.size)
	a.stats.applied.Add(1)
	// Nothing refers to o any more: lanes, windows and readers let go of an op
	// before it is acknowledged.
	if o.buf != nil {
		a.releaseLocked(o)
	}
	*o = op{}
	a.opPool.Put(o)
}

func (a *Applier) sourceLocked(id int) *source {
	s := a.sources[id]
	if s == nil {
		s = &source{id: id}
		a.sources[id] = s
	}
	return s
}

func (a *Applier) laneLocked(src, slot int) *lane {
	if src >= len(a.lanes) {
		a.lanes = append(a.lanes, make([][]*[laneChunk]lane, src+1-len(a.lanes))...)
	}
	if a.lanes[src] == nil {
		a.lanes[src] = make([]*[laneChunk]lane, slots.NumSlots/laneChunk)
	}
	c := a.lanes[src][slot/laneChunk]
	if c == nil {
		c = new([laneChunk]lane)
		for i := range c {
			c[i].slot = int16(slot/laneChunk*laneChunk + i)
		}
		a.lanes[src][slot/laneChunk] = c
	}
	return &c[slot%laneChunk]
}

// Stats returns a snapshot of the counters.
func (a *Applier) Stats() Stats {
	s := a.stats.snapshot()
	a.mu.Lock()
	s.Pending = a.pending
	s.PendingBytes = a.pendB
	a.mu.Unlock()
	return s
}

// Version returns the destination's version, detected by Run (zero before).
func (a *Applier) Version() redisver.Version {
	if v := a.version.Load(); v != nil {
		return *v
	}
	return redisver.Version{}
}

// Standalone reports whether the destination is a single server, not a cluster.
func (a *Applier) Standalone() bool { return a.standalone.Load() }

// Table returns the current slot table (nil before Run connected).
func (a *Applier) Table() *slots.Table { return a.holder.Load() }
