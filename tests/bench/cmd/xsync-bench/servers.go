package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// server is one redis-server process the bench started.
type server struct {
	port int
	p    *proc
	c    *redis.Client
	dir  string
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func nodeOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, PoolSize: 4,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// checkPorts fails when a port (or, for cluster nodes, its bus port) is taken.
func checkPorts(ports []int, bus bool) error {
	for _, p := range ports {
		if !portFree(p) {
			return fmt.Errorf("bench: port %d is in use; pick another --base", p)
		}
		if bus && !portFree(p+10000) {
			return fmt.Errorf("bench: cluster bus port %d is in use; pick another --base", p+10000)
		}
	}
	return nil
}

// startServer starts redis-server on port with extra config and waits until the
// process answering on the port is the one started.
func (b *bench) startServer(ctx context.Context, port int, extra ...string) (*server, error) {
	dir := filepath.Join(b.dir, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", "", "--protected-mode", "no"}
	args = append(args, extra...)
	p, err := b.procs.start("redis-server:"+strconv.Itoa(port), filepath.Join(dir, "redis.log"), b.redisServer, args...)
	if err != nil {
		return nil, err
	}
	s := &server{port: port, p: p, dir: dir}
	s.c = redis.NewClient(nodeOptions(s.addr()))
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := s.c.Info(ctx, "server").Result()
		if err == nil {
			if infoField(info, "process_id") != strconv.Itoa(p.Pid()) {
				return nil, fmt.Errorf("bench: another process answers on port %d", port)
			}
			return s, nil
		}
		if p.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("bench: redis-server on port %d did not start (see %s/redis.log): %v", port, dir, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cluster is a Redis Cluster of masters only.
type cluster struct {
	nodes []*server
	owner [16384]int // slot -> index in nodes
	cc    *redis.ClusterClient
}

func (c *cluster) addrs() []string {
	a := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		a[i] = s.addr()
	}
	return a
}

func (c *cluster) url() string { return "redis://" + strings.Join(c.addrs(), ",") }

// startCluster starts one node per port, joins them with `redis-cli --cluster create`
// and waits for cluster_state:ok everywhere and the slot map.
func (b *bench) startCluster(ctx context.Context, ports []int, extra ...string) (*cluster, error) {
	c := &cluster{}
	for _, port := range ports {
		s, err := b.startServer(ctx, port, append([]string{"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}, extra...)...)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.addrs()...)
	args = append(args, "--cluster-yes")
	out, err := exec.CommandContext(ctx, b.redisCli, args...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "[ERR]") {
		return nil, fmt.Errorf("bench: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range c.nodes {
		for {
			info, err := s.c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("bench: cluster on %v did not reach cluster_state:ok", ports)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := c.loadSlots(ctx); err != nil {
		return nil, err
	}
	c.cc = redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: c.addrs(), Protocol: 2, DisableIdentity: true, ReadTimeout: 30 * time.Second,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return c, nil
}

// loadSlots reads the slot map from CLUSTER SLOTS of every node until they agree.
func (c *cluster) loadSlots(ctx context.Context) error {
	byPort := map[int]int{}
	for i, s := range c.nodes {
		byPort[s.port] = i
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, s := range c.nodes {
			//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis version the bench may start, CLUSTER SHARDS only from 7.0
			rs, err := s.c.ClusterSlots(ctx).Result()
			if err != nil {
				return fmt.Errorf("bench: CLUSTER SLOTS: %w", err)
			}
			covered := 0
			for _, r := range rs {
				port, _ := strconv.Atoi(r.Nodes[0].Addr[strings.LastIndexByte(r.Nodes[0].Addr, ':')+1:])
				idx, found := byPort[port]
				if !found {
					return fmt.Errorf("bench: CLUSTER SLOTS names unknown node %s", r.Nodes[0].Addr)
				}
				for sl := r.Start; sl <= r.End; sl++ {
					c.owner[sl] = idx
				}
				covered += int(r.End - r.Start + 1)
			}
			if covered != 16384 {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: slot map incomplete after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dbsize sums DBSIZE over the nodes.
func (c *cluster) dbsize(ctx context.Context) (int64, error) {
	var n int64
	for _, s := range c.nodes {
		v, err := s.c.DBSize(ctx).Result()
		if err != nil {
			return 0, fmt.Errorf("bench: DBSIZE %s: %w", s.addr(), err)
		}
		n += v
	}
	return n, nil
}

// infoField returns the value of field in an INFO reply.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), field+":"); ok {
			return v
		}
	}
	return ""
}

// noBgsave waits until none of the servers has a fork child running, so that the
// child's CPU is in the parent's cutime/cstime.
func noBgsave(ctx context.Context, ss []*server) {
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range ss {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			info, err := s.c.Info(ctx, "persistence").Result()
			if err == nil && infoField(info, "rdb_bgsave_in_progress") == "0" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // the server reaps its child in serverCron
}
