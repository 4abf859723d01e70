package precheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/replicator/redisver"
)

// Level is the outcome of one check.
type Level int

// The outcomes, in rising severity.
const (
	Pass Level = iota
	Warn
	Fail
)

func (l Level) String() string {
	switch l {
	case Pass:
		return "PASS"
	case Warn:
		return "WARN"
	}
	return "FAIL"
}

// Result is the outcome of one check.
type Result struct {
	Level Level
	Name  string // short name of the check, e.g. "dest-eviction-policy"
	Found string // what was found
	Fix   string // how to fix it; empty for PASS
}

// Endpoint is one side of a sync.
type Endpoint struct {
	Seeds    []string
	Username string
	Password string
	TLS      *tls.Config
}

// Config configures the checks.
type Config struct {
	Source Endpoint
	Target Endpoint
	// ConflictPolicy in force for keys already on the destination (named in the
	// warning about a non-empty destination). Default "replace".
	ConflictPolicy string
	// SnapshotRate is the expected transfer rate of the snapshot in bytes/s, used to
	// estimate how long the full sync takes. Default 50 MiB/s.
	SnapshotRate int64
	// Downgrade is sync's policy for what an older destination cannot hold,
	// "stop" or "drop", named in the report: under "stop" a feature in use is a
	// FAIL (sync would stop at it), under "drop" a WARN. Default "stop".
	Downgrade string
	// SampleKeys bounds the keys of each type looked at per source master for
	// the features an older destination cannot hold. Default 10000.
	SampleKeys int64
	// SourceMode is sync's --source-mode: "auto" (default), "psync" or "scan".
	// In scan mode (or auto against a source that refuses PSYNC) the
	// replication checks give way to those of scan mode.
	SourceMode string
	// ScanRate is the keys per second per master assumed for scan mode's
	// estimate. Default DefaultScanRate.
	ScanRate int64
	// Timeout bounds each network call. Default 5s.
	Timeout time.Duration
	// Logger. Default: discard.
	Logger *slog.Logger
}

func (c *Config) validate() {
	if c.ConflictPolicy == "" {
		c.ConflictPolicy = "replace"
	}
	if c.Downgrade == "" {
		c.Downgrade = "stop"
	}
	if c.SampleKeys <= 0 {
		c.SampleKeys = 10000
	}
	if c.SnapshotRate <= 0 {
		c.SnapshotRate = 50 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.SourceMode == "" {
		c.SourceMode = "auto"
	}
	if c.ScanRate <= 0 {
		c.ScanRate = DefaultScanRate
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// commandsMissing reports whether the replication check failed because the
// replication commands do not exist on the source (renamed away, as managed
// services do): then sync --source-mode auto falls back to scan mode. A user
// denied them by ACL is not: the fix is a grant.
func commandsMissing(rs []Result) bool {
	for _, r := range rs {
		f := strings.ToLower(r.Found)
		if r.Level == Fail && (strings.Contains(f, "psync is not available") || strings.Contains(f, "unknown command")) {
			return true
		}
	}
	return false
}

// Failed reports whether any result is a FAIL.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Level == Fail {
			return true
		}
	}
	return false
}

// Write prints one line per result: level, name, what was found, and the fix.
func Write(w io.Writer, rs []Result) error {
	for _, r := range rs {
		line := fmt.Sprintf("%-4s  %-26s %s", r.Level, r.Name, r.Found)
		if r.Fix != "" {
			line += " — fix: " + r.Fix
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// node is what the checks learned about one server.
type node struct {
	addr    string
	primary bool
	info    map[string]string // INFO all, as field -> value
	err     error
}

// side is what the checks learned about one side of the sync.
type side struct {
	name    string // "source" or "destination"
	cluster bool
	nodes   []*node
}

func (s *side) primaries() []*node {
	var out []*node
	for _, n := range s.nodes {
		if n.primary && n.err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Run performs every check and returns the results in a stable order.
func Run(ctx context.Context, cfg Config) []Result {
	cfg.validate()
	var rs []Result
	src, r1 := discover(ctx, cfg, "source", cfg.Source)
	dst, r2 := discover(ctx, cfg, "destination", cfg.Target)
	rs = append(rs, r1...)
	rs = append(rs, r2...)
	if src == nil || dst == nil || len(src.primaries()) == 0 || len(dst.primaries()) == 0 {
		return rs
	}
	scan := ""
	switch perm := checkReplPermission(ctx, cfg, src); {
	case cfg.SourceMode == "scan":
		scan = "--source-mode scan"
	case cfg.SourceMode == "auto" && Failed(perm) && commandsMissing(perm):
		scan = "auto: the source refuses replication"
		for i := range perm {
			perm[i].Level = Warn
			perm[i].Found += "; --source-mode auto falls back to scan mode (SCAN + DUMP and keyspace notifications)"
			perm[i].Fix += ", or accept scan mode (its consistency model: docs/operations.md, \"Scan mode\")"
		}
		rs = append(rs, perm...)
	default:
		rs = append(rs, perm...)
	}
	if scan != "" {
		rs = append(rs, scanChecks(ctx, cfg, src, scan)...)
	}
	rs = append(rs, checkVersions(src, dst))
	rs = append(rs, checkDowngrade(ctx, cfg, src, dst))
	rs = append(rs, checkEviction(dst)...)
	rs = append(rs, checkMemory(src, dst))
	if dst.cluster {
		rs = append(rs, checkSlots(ctx, cfg, dst))
	}
	if scan == "" {
		rs = append(rs, checkBuffers(ctx, cfg, src)...)
	}
	rs = append(rs, checkEmpty(dst, cfg.ConflictPolicy))
	if cfg.Source.TLS != nil || cfg.Target.TLS != nil {
		rs = append(rs, Result{Pass, "tls", fmt.Sprintf("TLS in use (source %v, destination %v), certificates verified", cfg.Source.TLS != nil, cfg.Target.TLS != nil), ""})
	}
	return rs
}

func clientOpts(e Endpoint, addr string, timeout time.Duration) *redis.Options {
	o := &redis.Options{
		Addr: addr, Username: e.Username, Password: e.Password,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		MaxRetries: -1, DisableIdentity: true, Protocol: 2, PoolSize: 1,
	}
	if e.TLS != nil {
		// conn's TLS dial tells a port that does not speak TLS within a second.
		o.Dialer = conn.TLSDialer(e.TLS)
	}
	return o
}

// discover finds every node of a side from its seeds and reads INFO on each.
func discover(ctx context.Context, cfg Config, name string, e Endpoint) (*side, []Result) {
	s := &side{name: name}
	var seedErr error
	var seed *node
	for _, addr := range e.Seeds {
		n := readNode(ctx, cfg, e, addr)
		if n.err == nil {
			seed = n
			break
		}
		seedErr = n.err
		if !strings.Contains(n.err.Error(), addr) {
			seedErr = fmt.Errorf("%s: %w", addr, n.err)
		}
	}
	if seed == nil {
		return nil, []Result{{Fail, name + "-reachable", fmt.Sprintf("no %s seed answered: %v", name, seedErr),
			"check the address, the password/user in the URL and the TLS options, and that this host may reach the node"}}
	}
	s.cluster = seed.info["cluster_enabled"] == "1"
	if !s.cluster {
		seed.primary = seed.info["role"] == "master"
		s.nodes = []*node{seed}
	} else {
		addrs, err := clusterNodes(ctx, cfg, e, seed.addr)
		if err != nil {
			return nil, []Result{{Fail, name + "-reachable", fmt.Sprintf("%s: CLUSTER NODES: %v", seed.addr, err), "check that the user may run CLUSTER NODES"}}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for addr, primary := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := readNode(ctx, cfg, e, addr)
				n.primary = primary
				mu.Lock()
				s.nodes = append(s.nodes, n)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	var bad []string
	for _, n := range s.nodes {
		if n.err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", n.addr, n.err))
		}
	}
	if len(bad) > 0 {
		return s, []Result{{Fail, name + "-reachable", strings.Join(bad, "; "), "make every node reachable from this host with the URL's credentials"}}
	}
	kind := "standalone"
	if s.cluster {
		kind = fmt.Sprintf("cluster, %d masters", len(s.primaries()))
	}
	return s, []Result{{Pass, name + "-reachable", fmt.Sprintf("%d node(s) reachable and authenticated (%s)", len(s.nodes), kind), ""}}
}

func readNode(ctx context.Context, cfg Config, e Endpoint, addr string) *node {
	n := &node{addr: addr, primary: true}
	c := redis.NewClient(clientOpts(e, addr, cfg.Timeout))
	defer c.Close()
	text, err := c.Info(ctx, "all").Result()
	if err != nil {
		n.err = err
		return n
	}
	n.info = parseInfo(text)
	return n
}

func parseInfo(text string) map[string]string { return redisver.InfoFields(text) }

// clusterNodes returns every node of a cluster (address -> is primary) from CLUSTER
// NODES, leaving out nodes flagged as failed or without an address.
func clusterNodes(ctx context.Context, cfg Config, e Endpoint, seed string) (map[string]bool, error) {
	c := redis.NewClient(clientOpts(e, seed, cfg.Timeout))
	defer c.Close()
	text, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || strings.Contains(f[2], "fail") || strings.Contains(f[2], "noaddr") || strings.Contains(f[2], "handshake") {
			continue
		}
		addr := f[1]
		if i := strings.IndexByte(addr, '@'); i >= 0 {
			addr = addr[:i]
		}
		if i := strings.IndexByte(addr, ','); i >= 0 {
			addr = addr[:i]
		}
		if strings.HasPrefix(addr, ":") { // the node does not know its own IP yet
			addr = strings.Split(seed, ":")[0] + addr
		}
		out[addr] = strings.Contains(f[2], "master")
	}
	return out, nil
}

func infoInt(n *node, k string) int64 {
	v, _ := strconv.ParseInt(n.info[k], 10, 64)
	return v
}

func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
