package verify

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// conn runs commands on one side: a *redis.Client or a *redis.ClusterClient.
type conn interface {
	redis.Cmdable
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// side is one end of the comparison.
type side struct {
	name    string
	cluster *redis.ClusterClient
	std     *redis.Client

	mu  sync.Mutex
	dbs map[int]*redis.Client // standalone: one client per database (ours, closed by close)
}

func newSide(name string, c redis.UniversalClient) (*side, error) {
	switch c := c.(type) {
	case *redis.ClusterClient:
		return &side{name: name, cluster: c}, nil
	case *redis.Client:
		return &side{name: name, std: c, dbs: map[int]*redis.Client{}}, nil
	}
	return nil, fmt.Errorf("%w: %s is %T", ErrClientType, name, c)
}

// db returns the client that runs commands in database n.
func (s *side) db(n int) (conn, error) {
	if s.cluster != nil {
		if n != 0 {
			return nil, fmt.Errorf("%w: %s database %d", ErrClusterDB, s.name, n)
		}
		return s.cluster, nil
	}
	return s.stdDB(n), nil
}

func (s *side) stdDB(n int) *redis.Client {
	if s.std.Options().DB == n {
		return s.std
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.dbs[n]; ok {
		return c
	}
	o := *s.std.Options()
	o.DB = n
	c := redis.NewClient(&o)
	s.dbs[n] = c
	return c
}

// scanners returns the clients to SCAN for database n: every master of a cluster, or
// the standalone server.
func (s *side) scanners(ctx context.Context, n int) ([]*redis.Client, error) {
	if s.cluster == nil {
		return []*redis.Client{s.stdDB(n)}, nil
	}
	if n != 0 {
		return nil, fmt.Errorf("%w: %s database %d", ErrClusterDB, s.name, n)
	}
	var mu sync.Mutex
	var out []*redis.Client
	err := s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		out = append(out, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("xsync/verify: list the masters of the %s: %w", s.name, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Options().Addr < out[j].Options().Addr })
	return out, nil
}

// keyspaceDBs returns the databases INFO keyspace lists (standalone only).
func (s *side) keyspaceDBs(ctx context.Context) ([]int, error) {
	if s.cluster != nil {
		return []int{0}, nil
	}
	info, err := s.std.Info(ctx, "keyspace").Result()
	if err != nil {
		return nil, fmt.Errorf("xsync/verify: INFO keyspace on the %s: %w", s.name, err)
	}
	var dbs []int
	for _, line := range strings.Split(info, "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "db") {
			continue
		}
		if n, err := strconv.Atoi(name[2:]); err == nil {
			dbs = append(dbs, n)
		}
	}
	return dbs, nil
}

func (s *side) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, c := range s.dbs {
		_ = c.Close()
		delete(s.dbs, n)
	}
}
