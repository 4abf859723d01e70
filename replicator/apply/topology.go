package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/redisver"
	"github.com/xsync/xsync/slots"
)

// routes is an immutable slot -> node map built from one slots.Table, swapped
// whole through Applier.routes.
type routes struct {
	table  *slots.Table
	bySlot [slots.NumSlots]*node
}

// pipeForSlot returns the pipe that carries slot now, or nil when no master
// serves it.
func (a *Applier) pipeForSlot(slot int) *pipe {
	r := a.routes.Load()
	if r == nil {
		return nil
	}
	n := r.bySlot[slot]
	if n == nil {
		return nil
	}
	return n.pipeFor(slot)
}

// discover connects to the first reachable seed, detects the version and
// whether the destination is a cluster, and loads the slot table.
func (a *Applier) discover(ctx context.Context) error {
	var errs []error
	for _, addr := range a.cfg.Addrs {
		err := a.discoverFrom(ctx, addr)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("xsync/apply: no destination seed usable: %w", errors.Join(errs...))
}

func (a *Applier) discoverFrom(ctx context.Context, addr string) error {
	n := a.nodeFor(addr)
	n.ctlMu.Lock()
	defer n.ctlMu.Unlock()
	c, err := n.control(ctx)
	if err != nil {
		return err
	}
	v, err := c.Do(ctx, "INFO", "server")
	if err != nil {
		n.dropControl()
		return fmt.Errorf("xsync/apply: INFO server on %s: %w", addr, err)
	}
	raw := redisver.InfoField(string(v.Str), "redis_version")
	ver, err := redisver.Parse(raw)
	if err != nil {
		return fmt.Errorf("xsync/apply: %s: %w", addr, err)
	}
	name := redisver.ServerName(func(f string) string { return redisver.InfoField(string(v.Str), f) })
	// Redis Cluster and RESTORE .. REPLACE came with 3.0; 3.2 is the oldest
	// destination tested live (tests/matrix).
	if ver.Major < 3 {
		return fmt.Errorf("xsync/apply: destination %s runs %s; Redis 3.0 or later is needed", addr, name)
	}
	a.version.Store(&ver)
	a.server.Store(&name)
	v, err = c.Do(ctx, "INFO", "cluster")
	if err != nil {
		n.dropControl()
		return fmt.Errorf("xsync/apply: INFO cluster on %s: %w", addr, err)
	}
	if redisver.InfoField(string(v.Str), "cluster_enabled") != "1" {
		a.standalone.Store(true)
		a.installTopology(slots.Topology{Shards: []slots.Shard{{
			Primary: slots.Node{Addr: addr, Primary: true},
			Ranges:  []slots.Range{{Start: 0, End: slots.NumSlots - 1}},
		}}})
		a.log.Info("destination is a standalone server", "node", addr, "server", name, "version", ver.String())
		return nil
	}
	topo, err := a.readTopology(ctx, c)
	if err != nil {
		n.dropControl()
		return err
	}
	a.installTopology(topo)
	a.log.Info("destination is a cluster", "seed", addr, "server", name, "version", ver.String(), "masters", len(topo.Shards))
	return nil
}

// readTopology asks one node for the cluster's shards.
func (a *Applier) readTopology(ctx context.Context, c *conn.Conn) (slots.Topology, error) {
	if a.Version().AtLeast(7, 0) {
		v, err := c.Do(ctx, "CLUSTER", "SHARDS")
		if err == nil {
			return slots.ParseClusterShards(v)
		}
		var re *conn.ReplyError
		if !errors.As(err, &re) {
			return slots.Topology{}, fmt.Errorf("xsync/apply: CLUSTER SHARDS on %s: %w", c.Addr(), err)
		}
	}
	v, err := c.Do(ctx, "CLUSTER", "SLOTS")
	if err != nil {
		return slots.Topology{}, fmt.Errorf("xsync/apply: CLUSTER SLOTS on %s: %w", c.Addr(), err)
	}
	return slots.ParseClusterSlots(v)
}

// installTopology builds and swaps in the slot table and the routes.
func (a *Applier) installTopology(topo slots.Topology) {
	t := slots.NewTable(topo)
	r := &routes{table: t}
	shardNodes := make([]*node, len(topo.Shards))
	for i, s := range topo.Shards {
		if s.Primary.Addr != "" {
			shardNodes[i] = a.nodeFor(s.Primary.Addr)
		}
	}
	for slot := range r.bySlot {
		if i := t.Shard(slot); i >= 0 && i < len(shardNodes) {
			r.bySlot[slot] = shardNodes[i]
		}
	}
	a.holder.Store(t)
	a.routes.Store(r)
	a.topoEpoch.Add(1)
	a.stats.refreshes.Add(1)
}

// refresh re-reads the slot table, asking hint first (the node a MOVED named),
// then the known masters, then the seeds.
func (a *Applier) refresh(ctx context.Context, hint string) error {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	if a.standalone.Load() {
		a.topoEpoch.Add(1)
		return nil
	}
	var cands []string
	if hint != "" {
		cands = append(cands, hint)
	}
	if t := a.holder.Load(); t != nil {
		for _, s := range t.Topology().Shards {
			cands = append(cands, s.Primary.Addr)
		}
	}
	cands = append(cands, a.cfg.Addrs...)
	seen := map[string]bool{}
	var errs []error
	for _, addr := range cands {
		if seen[addr] || addr == "" {
			continue
		}
		seen[addr] = true
		topo, err := a.topologyFrom(ctx, addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.installTopology(topo)
		return nil
	}
	return fmt.Errorf("xsync/apply: no destination node answered the slot table: %w", errors.Join(errs...))
}

func (a *Applier) topologyFrom(ctx context.Context, addr string) (slots.Topology, error) {
	n := a.nodeFor(addr)
	n.ctlMu.Lock()
	defer n.ctlMu.Unlock()
	c, err := n.control(ctx)
	if err != nil {
		return slots.Topology{}, err
	}
	topo, err := a.readTopology(ctx, c)
	if err != nil {
		var re *conn.ReplyError
		if !errors.As(err, &re) {
			n.dropControl()
		}
		return slots.Topology{}, err
	}
	if len(topo.Shards) == 0 {
		return topo, fmt.Errorf("xsync/apply: %s reports no shards", addr)
	}
	return topo, nil
}
