package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/redisver"
)

// defaultWait bounds the waits of cluster operations whose ctx has no deadline.
const defaultWait = 60 * time.Second

// poll calls f every 50ms until it returns nil or ctx ends, and returns f's last error.
func poll(ctx context.Context, f func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultWait)
		defer cancel()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitStable waits until every running node reports cluster_state:ok, sees every
// other running node as healthy, and all agree on roles and slot ranges; every slot is
// owned by a running master, no slot is migrating, and every running replica's link to
// its master is up. Without a deadline in ctx it gives up after 60s.
func (c *Cluster) WaitStable(ctx context.Context) error {
	err := poll(ctx, func() error { return c.stable(ctx) })
	c.reloadClient(ctx)
	return err
}

func (c *Cluster) stable(ctx context.Context) error {
	live := c.live()
	ids := map[string]bool{}
	for _, s := range live {
		id, err := s.NodeID(ctx)
		if err != nil {
			return err
		}
		ids[id] = true
	}
	var first, epoch string
	for _, s := range live {
		info, err := s.Client().ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("xsync/redistest: CLUSTER INFO on %s: %w", s.Addr(), err)
		}
		// Every node has heard of the newest epoch (a reshard bumps it): a failover
		// started before that can leave the new master with a stale slot table.
		e := redisver.InfoField(info, "cluster_current_epoch")
		if epoch == "" {
			epoch = e
		} else if e != epoch {
			return fmt.Errorf("xsync/redistest: nodes disagree on cluster_current_epoch (%s has %s, %s has %s)", s.Addr(), e, live[0].Addr(), epoch)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			var stats []string
			for _, l := range strings.Split(info, "\r\n") {
				if strings.HasPrefix(l, "cluster_slots_") || strings.HasPrefix(l, "cluster_current_epoch") || strings.HasPrefix(l, "cluster_my_epoch") {
					stats = append(stats, l)
				}
			}
			nodes, _ := s.Client().ClusterNodes(ctx).Result()
			return fmt.Errorf("xsync/redistest: %s: cluster_state is not ok (%s); its view:\n%s", s.Addr(), strings.Join(stats, " "), nodes)
		}
		view, err := nodeView(ctx, s)
		if err != nil {
			return err
		}
		if err := checkView(s.Addr(), view, ids); err != nil {
			return err
		}
		sig := signature(view, ids)
		if first == "" {
			first = sig
		} else if sig != first {
			return fmt.Errorf("xsync/redistest: nodes disagree on the cluster layout (%s differs from %s)", s.Addr(), live[0].Addr())
		}
		if err := checkReplica(ctx, s, view); err != nil {
			return err
		}
	}
	return nil
}

// checkView checks one node's view: every running node known and healthy, every slot
// owned by a running master, nothing migrating.
func checkView(addr string, view []ClusterNode, ids map[string]bool) error {
	seen, slots := 0, 0
	for _, n := range view {
		if len(n.Moving) > 0 {
			return fmt.Errorf("xsync/redistest: %s sees slots moving on %s: %v", addr, n.Addr, n.Moving)
		}
		if !ids[n.ID] {
			if n.NumSlots() > 0 {
				return fmt.Errorf("xsync/redistest: %s sees slots on stopped node %s", addr, n.Addr)
			}
			continue
		}
		seen++
		for _, f := range []string{"fail", "fail?", "handshake", "noaddr"} {
			if n.HasFlag(f) {
				return fmt.Errorf("xsync/redistest: %s sees %s as %s", addr, n.Addr, f)
			}
		}
		if !n.HasFlag("myself") && !n.LinkUp {
			return fmt.Errorf("xsync/redistest: %s has no link to %s", addr, n.Addr)
		}
		if !n.Master() && !ids[n.MasterID] {
			return fmt.Errorf("xsync/redistest: %s sees replica %s of a stopped master", addr, n.Addr)
		}
		slots += n.NumSlots()
	}
	if seen != len(ids) {
		return fmt.Errorf("xsync/redistest: %s knows %d of the %d running nodes", addr, seen, len(ids))
	}
	if slots != 16384 {
		return fmt.Errorf("xsync/redistest: %s sees %d of 16384 slots owned by running masters", addr, slots)
	}
	return nil
}

// checkReplica checks that a replica's link to its master is up and synced.
func checkReplica(ctx context.Context, s *Server, view []ClusterNode) error {
	for _, n := range view {
		if !n.HasFlag("myself") || n.Master() {
			continue
		}
		info, err := s.Client().Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("xsync/redistest: INFO replication on %s: %w", s.Addr(), err)
		}
		if !strings.Contains(info, "master_link_status:up") || strings.Contains(info, "master_sync_in_progress:1") {
			return fmt.Errorf("xsync/redistest: replica %s is not in sync with its master", s.Addr())
		}
	}
	return nil
}

// Failover runs CLUSTER FAILOVER on replica, once the cluster is stable, and waits
// until it is a master and the cluster is stable again.
func (c *Cluster) Failover(ctx context.Context, replica *Server) error {
	if err := c.WaitStable(ctx); err != nil {
		return fmt.Errorf("xsync/redistest: before the failover to %s: %w", replica.Addr(), err)
	}
	if err := replica.Client().ClusterFailover(ctx).Err(); err != nil {
		return fmt.Errorf("xsync/redistest: CLUSTER FAILOVER on %s: %w", replica.Addr(), err)
	}
	return c.waitPromoted(ctx, replica)
}

func (c *Cluster) waitPromoted(ctx context.Context, s *Server) error {
	err := poll(ctx, func() error {
		role, err := s.Client().Do(ctx, "ROLE").Slice()
		if err != nil {
			return fmt.Errorf("xsync/redistest: ROLE on %s: %w", s.Addr(), err)
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("xsync/redistest: %s is not a master yet", s.Addr())
		}
		return c.stable(ctx)
	})
	c.reloadClient(ctx)
	if err != nil {
		return fmt.Errorf("xsync/redistest: failover to %s: %w", s.Addr(), err)
	}
	return nil
}

// KillMaster kills master with SIGKILL, waits until one of its replicas is promoted
// and the cluster is stable, and returns the new master. It takes about
// NodeTimeout + 1-2s. Redis promotes a replica only when a majority of the masters
// flags the dead one, so this needs at least 3 masters.
func (c *Cluster) KillMaster(ctx context.Context, master *Server) (*Server, error) {
	id, err := master.NodeID(ctx)
	if err != nil {
		return nil, err
	}
	view, err := nodeView(ctx, master)
	if err != nil {
		return nil, err
	}
	var replicas []*Server
	for _, n := range view {
		if n.MasterID == id {
			if s := c.Node(n.Addr); s != nil && s.Running() {
				replicas = append(replicas, s)
			}
		}
	}
	if len(replicas) == 0 {
		return nil, fmt.Errorf("xsync/redistest: %s has no running replica to promote", master.Addr())
	}
	if err := master.Kill(); err != nil {
		return nil, err
	}
	var promoted *Server
	err = poll(ctx, func() error {
		promoted = nil
		for _, r := range replicas {
			if role, err := r.Client().Do(ctx, "ROLE").Slice(); err == nil && len(role) > 0 && role[0] == "master" {
				promoted = r
			}
		}
		if promoted == nil {
			return errors.New("xsync/redistest: no replica promoted yet")
		}
		return c.stable(ctx)
	})
	c.reloadClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("xsync/redistest: kill master %s: %w", master.Addr(), err)
	}
	return promoted, nil
}

// Reshard moves n slots from one master to another with `redis-cli --cluster reshard`
// (keys move with MIGRATE) and waits until the cluster is stable.
func (c *Cluster) Reshard(ctx context.Context, from, to *Server, n int) error {
	fromID, err := from.NodeID(ctx)
	if err != nil {
		return err
	}
	toID, err := to.NodeID(ctx)
	if err != nil {
		return err
	}
	if _, err := c.cli(ctx, "--cluster", "reshard", to.Addr(), "--cluster-from", fromID, "--cluster-to", toID,
		"--cluster-slots", strconv.Itoa(n), "--cluster-yes"); err != nil {
		return err
	}
	return c.WaitStable(ctx)
}

// AddMaster starts a new node, joins it with `redis-cli --cluster add-node` (it owns
// no slots: Reshard to it) and waits until every node knows it.
func (c *Cluster) AddMaster(ctx context.Context) (*Server, error) {
	return c.add(ctx, nil)
}

// AddReplica starts a new node and joins it as a replica of master.
func (c *Cluster) AddReplica(ctx context.Context, master *Server) (*Server, error) {
	return c.add(ctx, master)
}

func (c *Cluster) add(ctx context.Context, master *Server) (*Server, error) {
	c.tb.Helper()
	live := c.live()
	if len(live) == 0 {
		return nil, errors.New("xsync/redistest: no running node to join")
	}
	s := start(c.tb, c.opts.Options, c.bin, c.lines)
	args := []string{"--cluster", "add-node", s.Addr(), live[0].Addr()}
	if master != nil {
		id, err := master.NodeID(ctx)
		if err != nil {
			return nil, err
		}
		args = append(args, "--cluster-slave", "--cluster-master-id", id)
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, s)
	c.mu.Unlock()
	if _, err := c.cli(ctx, args...); err != nil {
		return nil, err
	}
	return s, c.WaitStable(ctx)
}
