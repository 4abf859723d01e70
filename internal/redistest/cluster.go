package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Masters is the number of masters. Default 3. With 3 or more on 5.0+ the cluster
	// is made by `redis-cli --cluster create`; with 1 or 2, or before 5.0 (whose
	// redis-cli has no --cluster), by CLUSTER ADDSLOTS[RANGE]/MEET/REPLICATE.
	Masters int
	// Replicas is the number of replicas per master. Default 0.
	Replicas int
	// NodeTimeout is cluster-node-timeout. Default 2s (failures are detected after it).
	NodeTimeout time.Duration
	// Options apply to every node (Config, Password, TLS, Binary, ...); with TLS, one
	// set of certificates is generated for the whole cluster unless TLSFiles is set.
	Options
}

// Cluster is a Redis Cluster of redis-server processes.
type Cluster struct {
	tb    testing.TB
	opts  ClusterOptions
	bin   binaries
	lines []string // cluster lines of every node

	mu     sync.Mutex
	nodes  []*Server
	client *redis.ClusterClient
}

// StartCluster starts Masters*(1+Replicas) cluster nodes, makes a cluster of them and
// waits until every node reports cluster_state:ok and all nodes agree on the slot map
// and roles, and every replica is in sync. It fails the test otherwise.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	if opts.Masters <= 0 {
		opts.Masters = 3
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 2 * time.Second
	}
	if opts.NoReplication && opts.Replicas > 0 {
		tb.Fatalf("xsync/redistest: NoReplication with %d replicas: a replica needs its master's PSYNC; use masters only", opts.Replicas)
	}
	c := &Cluster{tb: tb, opts: opts, bin: findBinaries(tb, opts.Options, true)}
	if !c.bin.version.AtLeast(3, 0) {
		tb.Fatalf("xsync/redistest: redis-server %s has no cluster support", c.bin.version)
	}
	c.lines = []string{
		"cluster-enabled yes",
		"cluster-config-file nodes.conf",
		"cluster-node-timeout " + strconv.FormatInt(opts.NodeTimeout.Milliseconds(), 10),
	}
	if opts.TLS && c.opts.TLSFiles == nil {
		c.opts.TLSFiles = NewTLSFiles(tb, tb.TempDir())
	}
	n := opts.Masters * (1 + opts.Replicas)
	for range n {
		c.nodes = append(c.nodes, start(tb, c.opts.Options, c.bin, c.lines))
	}
	tb.Cleanup(func() {
		c.mu.Lock()
		cl := c.client
		c.mu.Unlock()
		if cl != nil {
			_ = cl.Close()
		}
		if tb.Failed() {
			tb.Logf("xsync/redistest: cluster view at the end:\n%s", c.describe())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var err error
	if opts.Masters >= 3 && c.bin.version.AtLeast(5, 0) {
		args := []string{"--cluster", "create"}
		for _, s := range c.nodes {
			args = append(args, s.Addr())
		}
		args = append(args, "--cluster-replicas", strconv.Itoa(opts.Replicas), "--cluster-yes")
		_, err = c.cli(ctx, args...)
	} else {
		err = c.createByHand(ctx)
	}
	if err == nil {
		err = c.WaitStable(ctx)
	}
	if err != nil {
		tb.Fatalf("xsync/redistest: create cluster: %v", err)
	}
	return c
}

// createByHand assigns slots evenly to the first Masters nodes, joins all nodes and
// makes the rest replicas, round robin.
func (c *Cluster) createByHand(ctx context.Context) error {
	m := c.opts.Masters
	ids := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		id, err := s.NodeID(ctx)
		if err != nil {
			return err
		}
		ids[i] = id
	}
	for i := range m {
		lo, hi := i*16384/m, (i+1)*16384/m-1
		cl := c.nodes[i].Client()
		if err := addSlots(ctx, cl, c.bin.version, lo, hi); err != nil {
			return fmt.Errorf("xsync/redistest: %s: %w", c.nodes[i].Addr(), err)
		}
		if err := cl.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("xsync/redistest: CLUSTER SET-CONFIG-EPOCH on %s: %w", c.nodes[i].Addr(), err)
		}
	}
	for _, s := range c.nodes[1:] {
		if err := c.nodes[0].Client().ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(s.Port())).Err(); err != nil {
			return fmt.Errorf("xsync/redistest: CLUSTER MEET %s: %w", s.Addr(), err)
		}
	}
	for i, s := range c.nodes[m:] {
		master := ids[i%m]
		err := poll(ctx, func() error { return s.Client().ClusterReplicate(ctx, master).Err() })
		if err != nil {
			return fmt.Errorf("xsync/redistest: CLUSTER REPLICATE on %s: %w", s.Addr(), err)
		}
	}
	return nil
}

// addSlots assigns slots lo..hi: CLUSTER ADDSLOTSRANGE from 7.0, CLUSTER ADDSLOTS
// with every slot named before (cluster.c of 3.0-6.2).
func addSlots(ctx context.Context, cl *redis.Client, v Version, lo, hi int) error {
	if v.AtLeast(7, 0) {
		if err := cl.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("CLUSTER ADDSLOTSRANGE: %w", err)
		}
		return nil
	}
	slots := make([]int, 0, hi-lo+1)
	for s := lo; s <= hi; s++ {
		slots = append(slots, s)
	}
	if err := cl.ClusterAddSlots(ctx, slots...).Err(); err != nil {
		return fmt.Errorf("CLUSTER ADDSLOTS: %w", err)
	}
	return nil
}

// Version returns the version of the cluster's servers.
func (c *Cluster) Version() Version { return c.bin.version }

// Valkey reports whether the cluster's servers are valkey-server.
func (c *Cluster) Valkey() bool { return c.bin.valkey }

// cli runs redis-cli with the cluster's password and TLS flags.
func (c *Cluster) cli(ctx context.Context, args ...string) (string, error) {
	var pre []string
	if c.opts.TLS {
		f := c.opts.TLSFiles
		pre = []string{"--tls", "--cacert", f.CACert, "--cert", f.ClientCert, "--key", f.ClientKey}
	}
	cmd := exec.CommandContext(ctx, c.bin.cli, append(pre, args...)...)
	cmd.Env = os.Environ()
	if c.opts.Password != "" {
		cmd.Env = append(cmd.Env, "REDISCLI_AUTH="+c.opts.Password)
	}
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	if err == nil && strings.Contains(string(out), "[ERR]") {
		err = fmt.Errorf("reported an error")
	}
	if err != nil {
		return string(out), fmt.Errorf("xsync/redistest: redis-cli %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 30))
	}
	return string(out), nil
}

// Nodes returns every node started, running or not, in the order they were started.
func (c *Cluster) Nodes() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Server(nil), c.nodes...)
}

// Node returns the node listening on addr, or nil.
func (c *Cluster) Node(addr string) *Server {
	for _, s := range c.Nodes() {
		if s.Addr() == addr {
			return s
		}
	}
	return nil
}

// Seeds returns the addresses of the running nodes, comma-separated.
func (c *Cluster) Seeds() string { return strings.Join(c.Addrs(), ",") }

// Addrs returns the addresses of the running nodes.
func (c *Cluster) Addrs() []string {
	var a []string
	for _, s := range c.Nodes() {
		if s.Running() {
			a = append(a, s.Addr())
		}
	}
	return a
}

// URL returns redis://[:password@]host:port,host:port... (rediss:// with the TLS
// query parameters) naming the running nodes.
func (c *Cluster) URL() string {
	live := c.live()
	if len(live) == 0 {
		return ""
	}
	u := live[0].URL()
	first := live[0].Addr()
	return strings.Replace(u, first, c.Seeds(), 1)
}

// ClusterOptions returns new go-redis options for this cluster. MaxRedirects is 8 so
// that a client rides over a failover (each attempt on a dead node reloads the slot
// map, with a growing backoff).
func (c *Cluster) ClusterOptions() *redis.ClusterOptions {
	o := &redis.ClusterOptions{
		Addrs:                    c.Addrs(),
		MaxRedirects:             8,
		Password:                 c.opts.Password,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if c.opts.TLS {
		o.TLSConfig = c.opts.TLSFiles.ClientConfig()
	}
	return o
}

// Client returns a go-redis cluster client, closed when the test ends. Cluster
// operations (Failover, KillMaster, Reshard, Add*) ask it to reload its slot map.
func (c *Cluster) Client() *redis.ClusterClient {
	o := c.ClusterOptions()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		c.client = redis.NewClusterClient(o)
	}
	return c.client
}

// TLS returns the cluster's certificate files, or nil without TLS.
func (c *Cluster) TLS() *TLSFiles {
	if !c.opts.TLS {
		return nil
	}
	return c.opts.TLSFiles
}

// Masters returns the running masters that own slots, ordered by their first slot,
// as the first running node sees them. It fails the test on error.
func (c *Cluster) Masters() []*Server {
	c.tb.Helper()
	var out []*Server
	for _, n := range c.mustView() {
		if s := c.Node(n.Addr); s != nil && s.Running() && n.Master() && len(n.Slots) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Replicas returns the running replicas. It fails the test on error.
func (c *Cluster) Replicas() []*Server {
	c.tb.Helper()
	var out []*Server
	for _, n := range c.mustView() {
		if s := c.Node(n.Addr); s != nil && s.Running() && !n.Master() {
			out = append(out, s)
		}
	}
	return out
}

// ReplicasOf returns the running replicas of master. It fails the test on error.
func (c *Cluster) ReplicasOf(master *Server) []*Server {
	c.tb.Helper()
	id, err := master.NodeID(context.Background())
	if err != nil {
		c.tb.Fatal(err)
	}
	var out []*Server
	for _, n := range c.mustView() {
		if s := c.Node(n.Addr); s != nil && s.Running() && n.MasterID == id {
			out = append(out, s)
		}
	}
	return out
}

// MasterFor returns the running master that owns key's slot. It fails the test on error.
func (c *Cluster) MasterFor(key string) *Server {
	c.tb.Helper()
	slot, err := c.live()[0].Client().ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		c.tb.Fatalf("xsync/redistest: CLUSTER KEYSLOT: %v", err)
	}
	for _, n := range c.mustView() {
		for _, r := range n.Slots {
			if int(slot) >= r[0] && int(slot) <= r[1] {
				return c.Node(n.Addr)
			}
		}
	}
	c.tb.Fatalf("xsync/redistest: slot %d of %q is not covered", slot, key)
	return nil
}

// View returns CLUSTER NODES as seen by the first running node, sorted by node id.
func (c *Cluster) View(ctx context.Context) ([]ClusterNode, error) {
	live := c.live()
	if len(live) == 0 {
		return nil, fmt.Errorf("xsync/redistest: no running node")
	}
	return nodeView(ctx, live[0])
}

func (c *Cluster) mustView() []ClusterNode {
	c.tb.Helper()
	v, err := c.View(context.Background())
	if err != nil {
		c.tb.Fatal(err)
	}
	sort.SliceStable(v, func(i, j int) bool { return firstSlot(v[i]) < firstSlot(v[j]) })
	return v
}

func firstSlot(n ClusterNode) int {
	if len(n.Slots) == 0 {
		return 1 << 20
	}
	return n.Slots[0][0]
}

func nodeView(ctx context.Context, s *Server) ([]ClusterNode, error) {
	txt, err := s.Client().ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("xsync/redistest: CLUSTER NODES on %s: %w", s.Addr(), err)
	}
	return parseClusterNodes(txt)
}

func (c *Cluster) live() []*Server {
	var out []*Server
	for _, s := range c.Nodes() {
		if s.Running() {
			out = append(out, s)
		}
	}
	return out
}

// describe returns CLUSTER NODES of the first running node, for failure messages.
func (c *Cluster) describe() string {
	live := c.live()
	if len(live) == 0 {
		return "(no running node)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	txt, err := live[0].Client().ClusterNodes(ctx).Result()
	if err != nil {
		return err.Error()
	}
	return txt
}

// NodeID returns the cluster node id (CLUSTER MYID), cached once read.
func (s *Server) NodeID(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.id
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := s.Client().Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		return "", fmt.Errorf("xsync/redistest: CLUSTER MYID on %s: %w", s.Addr(), err)
	}
	s.mu.Lock()
	s.id = id
	s.mu.Unlock()
	return id, nil
}

// reloadClient asks the cluster client, when there is one, to reload its slot map.
func (c *Cluster) reloadClient(ctx context.Context) {
	c.mu.Lock()
	cl := c.client
	c.mu.Unlock()
	if cl != nil {
		cl.ReloadState(ctx)
	}
}
