package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/conn"
)

// FenceConfig says where the fence lives.
type FenceConfig struct {
	// Client reaches the destination for the fence's own commands (a
	// *redis.ClusterClient or a *redis.Client). Required. Its connections are
	// not fenced: it reads the epoch and kills connections, it never writes data.
	Client redis.UniversalClient
	// Name identifies the group of processes that fence each other: the Lease
	// name. It is part of the epoch key and of every connection name. Required;
	// letters, digits, '-', '.' and '_' only.
	Name string
	// Identity of this process (pod name), appended to connection names so that
	// CLIENT LIST shows who holds a connection. Optional.
	Identity string
	// InternalPrefix of xsync's keys on the destination. Default "__xsync:".
	InternalPrefix string
	// WaitTimeout bounds the WAIT for a replica to hold a new epoch. Default 1s.
	WaitTimeout time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Fence keeps a deposed leader from writing to the destination. The leader
// takes a new epoch with INCR on the destination, then kills every connection
// of an older epoch; every destination connection names itself with its
// process's epoch and checks, before its first write, that the epoch is still
// the current one. See docs/operations.md "High availability".
type Fence struct {
	cfg   FenceConfig
	key   string
	epoch atomic.Int64 // 0 until Acquire succeeded

	mu      sync.Mutex
	current int64 // last epoch read from the destination, for INFO
}

// NewFence checks cfg.
func NewFence(cfg FenceConfig) (*Fence, error) {
	if cfg.Client == nil {
		return nil, errors.New("xsync/ha: fence: no destination client")
	}
	if !validName(cfg.Name) {
		return nil, fmt.Errorf("xsync/ha: fence name %q: use letters, digits, '-', '.' and '_' (a Lease name)", cfg.Name)
	}
	if cfg.Identity != "" && !validName(cfg.Identity) {
		cfg.Identity = strings.Map(func(r rune) rune {
			if validName(string(r)) {
				return r
			}
			return '_'
		}, cfg.Identity)
	}
	if cfg.InternalPrefix == "" {
		cfg.InternalPrefix = "__xsync:"
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Fence{cfg: cfg, key: cfg.InternalPrefix + "leader:" + cfg.Name}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// Key is the destination key holding the current epoch.
func (f *Fence) Key() string { return f.key }

// Epoch is this process's epoch: 0 before Acquire.
func (f *Fence) Epoch() int64 { return f.epoch.Load() }

// namePrefix is what every connection of this fence group is named with,
// followed by the epoch.
func (f *Fence) namePrefix() string { return "xsync-" + f.cfg.Name + "-e" }

// ConnName is the CLIENT SETNAME of this process's connections at epoch.
func (f *Fence) ConnName(epoch int64) string {
	n := f.namePrefix() + strconv.FormatInt(epoch, 10)
	if f.cfg.Identity != "" {
		n += "-" + f.cfg.Identity
	}
	return n
}

// Acquire makes this process the only writer: it takes the next epoch (INCR of
// the epoch key, then WAIT for a replica so that a failover of that master does
// not forget it), then kills every connection named with an older epoch of the
// same group on every destination node. Call it once leadership is won and
// before anything reads the checkpoints or writes; connections dialed before it
// returns are refused.
func (f *Fence) Acquire(ctx context.Context) (int64, error) {
	epoch, err := f.incr(ctx)
	if err != nil {
		return 0, err
	}
	killed, err := f.sweep(ctx, epoch)
	if err != nil {
		return 0, err
	}
	f.epoch.Store(epoch)
	f.mu.Lock()
	f.current = epoch
	f.mu.Unlock()
	f.cfg.Logger.Info("fence taken: older leaders can no longer write", "epoch", epoch, "key", f.key, "connections_killed", killed)
	return epoch, nil
}

// incr runs INCR and WAIT on one connection of the key's master (WAIT counts
// the writes of its own connection).
func (f *Fence) incr(ctx context.Context) (int64, error) {
	var c *redis.Client
	switch cl := f.cfg.Client.(type) {
	case *redis.ClusterClient:
		m, err := cl.MasterForKey(ctx, f.key)
		if err != nil {
			return 0, fmt.Errorf("xsync/ha: fence: find the master of %s: %w", f.key, err)
		}
		c = m
	case *redis.Client:
		c = cl
	default:
		return 0, fmt.Errorf("xsync/ha: fence: unsupported client %T", f.cfg.Client)
	}
	cn := c.Conn()
	defer cn.Close()
	epoch, err := cn.Incr(ctx, f.key).Result()
	if err != nil {
		return 0, fmt.Errorf("xsync/ha: fence: INCR %s on the destination: %w (the destination user needs write access to %s*)", f.key, err, f.cfg.InternalPrefix)
	}
	n, err := cn.Do(ctx, "WAIT", 1, f.cfg.WaitTimeout.Milliseconds()).Int64()
	switch {
	case err != nil:
		f.cfg.Logger.Warn("fence: WAIT for a replica failed; a failover of that master could forget the epoch", "key", f.key, "err", err)
	case n == 0:
		f.cfg.Logger.Debug("fence: no replica acknowledged the epoch (none attached?)", "key", f.key)
	}
	return epoch, nil
}

// sweep kills, on every destination node, the connections of this group whose
// epoch is older than epoch. It returns how many it killed.
func (f *Fence) sweep(ctx context.Context, epoch int64) (int, error) {
	var mu sync.Mutex
	killed := 0
	one := func(ctx context.Context, c *redis.Client) error {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return fmt.Errorf("xsync/ha: fence: CLIENT LIST on %s: %w (the destination user needs +client)", c.Options().Addr, err)
		}
		for _, id := range f.stale(list, epoch) {
			err := c.Do(ctx, "CLIENT", "KILL", "ID", id).Err()
			if err != nil && !strings.Contains(err.Error(), "No such client") {
				return fmt.Errorf("xsync/ha: fence: CLIENT KILL ID %s on %s: %w", id, c.Options().Addr, err)
			}
			if err == nil {
				mu.Lock()
				killed++
				mu.Unlock()
			}
		}
		return nil
	}
	var err error
	switch cl := f.cfg.Client.(type) {
	case *redis.ClusterClient:
		// Replicas too: one could be promoted with an old connection on it.
		err = cl.ForEachShard(ctx, one)
	case *redis.Client:
		err = one(ctx, cl)
	default:
		err = fmt.Errorf("xsync/ha: fence: unsupported client %T", f.cfg.Client)
	}
	return killed, err
}

// stale returns the ids, in CLIENT LIST output, of this group's connections
// named with an epoch older than epoch.
func (f *Fence) stale(list string, epoch int64) []string {
	prefix := f.namePrefix()
	var ids []string
	for line := range strings.SplitSeq(list, "\n") {
		var id, name string
		for field := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "id":
				id = v
			case "name":
				name = v
			}
		}
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || id == "" {
			continue
		}
		digits, _, _ := strings.Cut(rest, "-")
		e, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || e >= epoch {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// Current reads the destination's epoch (0 when the key is absent).
func (f *Fence) Current(ctx context.Context) (int64, error) {
	v, err := f.cfg.Client.Get(ctx, f.key).Int64()
	if errors.Is(err, redis.Nil) {
		v, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("xsync/ha: fence: GET %s: %w", f.key, err)
	}
	f.mu.Lock()
	f.current = v
	f.mu.Unlock()
	return v, nil
}

// LastSeen is the destination's epoch as last read or written by this process.
func (f *Fence) LastSeen() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// OnConnect is the conn.Options.OnConnect of every destination connection: it
// names the connection with this process's epoch, then reads the current epoch
// and refuses the connection (an error wrapping conn.ErrFenced) when another
// process has taken a newer one, or when this process holds none. The order
// matters: a new leader increments the epoch before it kills the named
// connections, so a connection named before that kill is killed, and one
// named after it reads the new epoch here.
func (f *Fence) OnConnect(ctx context.Context, c *conn.Conn) error {
	mine := f.epoch.Load()
	if mine == 0 {
		return fmt.Errorf("%w: %s: this process is not the leader of %q and may not write", conn.ErrFenced, c.Addr(), f.cfg.Name)
	}
	if _, err := c.Do(ctx, "CLIENT", "SETNAME", f.ConnName(mine)); err != nil {
		return fmt.Errorf("xsync/ha: %s: CLIENT SETNAME for the fence: %w (the destination user needs +client)", c.Addr(), err)
	}
	cur, err := f.Current(ctx)
	if err != nil {
		return err
	}
	if cur != mine {
		return fmt.Errorf("%w: %s: the destination's epoch (%s) is %d, this process's is %d", conn.ErrFenced, c.Addr(), f.key, cur, mine)
	}
	return nil
}
