package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// controlClient returns a go-redis client for the control plane (verify, reset):
// a ClusterClient when the first reachable seed is a cluster node, a Client
// otherwise.
func controlClient(ctx context.Context, e endpoint) (redis.UniversalClient, error) {
	var lastErr error
	for _, seed := range e.seeds {
		one := redis.NewClient(&redis.Options{
			Addr: seed, Username: e.opts.Username, Password: e.opts.Password, TLSConfig: e.opts.TLS,
			DisableIdentity: true, MaxRetries: -1, Dialer: e.opts.Dialer,
		})
		info, err := one.Info(ctx, "cluster").Result()
		one.Close()
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", seed, err)
			continue
		}
		if strings.Contains(info, "cluster_enabled:1") {
			return redis.NewClusterClient(&redis.ClusterOptions{
				Addrs: e.seeds, Username: e.opts.Username, Password: e.opts.Password, TLSConfig: e.opts.TLS,
				DisableIdentity: true, MaxRedirects: 8, Dialer: e.opts.Dialer,
			}), nil
		}
		return redis.NewClient(&redis.Options{
			Addr: seed, Username: e.opts.Username, Password: e.opts.Password, TLSConfig: e.opts.TLS,
			DisableIdentity: true, Dialer: e.opts.Dialer,
		}), nil
	}
	return nil, fmt.Errorf("no seed answered: %w (check the address, credentials and TLS options)", lastErr)
}
