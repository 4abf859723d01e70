package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/slots"
)

// readTopology asks the first node of addrs that answers for the cluster layout: CLUSTER
// SHARDS (7.0+), then CLUSTER NODES, then CLUSTER SLOTS (4.0-6.2, and vendors that block
// one of them). A standalone server (cluster support disabled) gives one shard that owns
// every slot. Authentication failures are returned at once: every node shares them.
func readTopology(ctx context.Context, opts conn.Options, addrs []string) (slots.Topology, bool, error) {
	var errs []error
	for _, addr := range addrs {
		t, standalone, err := readTopologyFrom(ctx, opts, addr)
		if err == nil {
			return t, standalone, nil
		}
		if errors.Is(err, conn.ErrAuth) || errors.Is(err, conn.ErrBadURL) || errors.Is(err, conn.ErrTLS) || ctx.Err() != nil {
			return slots.Topology{}, false, err
		}
		errs = append(errs, err)
	}
	return slots.Topology{}, false, fmt.Errorf("xsync/source: no seed or known node gave the topology: %w", errors.Join(errs...))
}

func readTopologyFrom(ctx context.Context, opts conn.Options, addr string) (slots.Topology, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	opts.Addr = addr
	if opts.Role == "" {
		opts.Role = "source"
	}
	c, err := conn.Dial(ctx, opts)
	if err != nil {
		return slots.Topology{}, false, err
	}
	defer c.Close()
	t, standalone, err := queryTopology(ctx, c, addr)
	if err == nil {
		fillHosts(&t, addr)
	}
	return t, standalone, err
}

// fillHosts gives nodes reported without a host ("?" endpoints) the host of the node
// that answered.
func fillHosts(t *slots.Topology, answered string) {
	host, _, err := net.SplitHostPort(answered)
	if err != nil {
		return
	}
	fix := func(n *slots.Node) {
		if h, p, err := net.SplitHostPort(n.Addr); err == nil && h == "" {
			n.Addr = net.JoinHostPort(host, p)
		}
	}
	for i := range t.Shards {
		fix(&t.Shards[i].Primary)
		for j := range t.Shards[i].Replicas {
			fix(&t.Shards[i].Replicas[j])
		}
	}
}

func queryTopology(ctx context.Context, c *conn.Conn, addr string) (slots.Topology, bool, error) {
	v, err := c.Do(ctx, "CLUSTER", "SHARDS")
	if err == nil {
		t, err := slots.ParseClusterShards(v)
		if err != nil {
			return t, false, fmt.Errorf("xsync/source: %s: CLUSTER SHARDS: %w", addr, err)
		}
		return t, false, nil
	}
	if isStandalone(err) {
		return standaloneTopology(ctx, c, addr)
	}
	if !noShards(err) {
		return slots.Topology{}, false, fmt.Errorf("xsync/source: %s: CLUSTER SHARDS: %w", addr, err)
	}
	// Redis 4.0-6.2 (and vendors without SHARDS): CLUSTER NODES lists masters without
	// slots too; CLUSTER SLOTS is the last resort.
	if v, err = c.Do(ctx, "CLUSTER", "NODES"); err == nil {
		t, perr := slots.ParseClusterNodes(v.Str)
		if perr == nil {
			return t, false, nil
		}
		err = perr
	}
	if isStandalone(err) {
		return standaloneTopology(ctx, c, addr)
	}
	v, err2 := c.Do(ctx, "CLUSTER", "SLOTS")
	if err2 != nil {
		return slots.Topology{}, false, fmt.Errorf("xsync/source: %s: CLUSTER NODES (%v) and CLUSTER SLOTS (%w) failed", addr, err, err2)
	}
	t, err := slots.ParseClusterSlots(v)
	if err != nil {
		return t, false, fmt.Errorf("xsync/source: %s: CLUSTER SLOTS: %w", addr, err)
	}
	return t, false, nil
}

// standaloneTopology is one shard owning every slot: the seed, or, when the seed is
// a replica, its master with the seed as replica (FollowMaster then follows the
// master, FollowReplica the seed). Replicas of a master seed are not listed: INFO
// cannot tell them from other replication clients (another xsync, for one).
func standaloneTopology(ctx context.Context, c *conn.Conn, addr string) (slots.Topology, bool, error) {
	sh := slots.Shard{
		Primary: slots.Node{Addr: addr, Primary: true},
		Ranges:  []slots.Range{{Start: 0, End: slots.NumSlots - 1}},
	}
	if v, err := c.Do(ctx, "INFO", "replication"); err == nil {
		if master := masterOf(string(v.Str)); master != "" {
			sh.Primary = slots.Node{Addr: master, Primary: true}
			sh.Replicas = []slots.Node{{Addr: addr}}
		}
	}
	return slots.Topology{Shards: []slots.Shard{sh}}, true, nil
}

// masterOf returns master_host:master_port from INFO replication of a replica, or "".
func masterOf(info string) string {
	var role, host, port string
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "role":
			role = v
		case "master_host":
			host = v
		case "master_port":
			port = v
		}
	}
	if role != "slave" || host == "" || port == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// isStandalone: "-ERR This instance has cluster support disabled".
func isStandalone(err error) bool {
	var re *conn.ReplyError
	return errors.As(err, &re) && strings.Contains(re.Msg, "cluster support disabled")
}

// noShards reports whether the server answered CLUSTER SHARDS with an -ERR or -NOPERM
// reply, whatever its words: each version words "no such subcommand" its own way (3.2
// and 4.0, cluster.c clusterCommand: "Wrong CLUSTER subcommand or number of
// arguments"; 5.0-6.2: "Unknown subcommand or wrong number of arguments for 'SHARDS'";
// a vendor that renames or blocks it: "unknown command"; an ACL: -NOPERM), so the
// error class is matched, not the text. CLUSTER NODES and CLUSTER SLOTS then say what
// is really wrong. Other classes (-CLUSTERDOWN, -LOADING) and network errors are
// returned as they are.
func noShards(err error) bool {
	return conn.HasCode(err, "ERR") || conn.HasCode(err, "NOPERM")
}

// nodeKey identifies a node across topology reads: its cluster id, else its address.
func nodeKey(n slots.Node) string {
	if n.ID != "" {
		return n.ID
	}
	return n.Addr
}

// sameRanges reports whether two slot range lists are equal.
func sameRanges(a, b []slots.Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
