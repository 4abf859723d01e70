package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator"
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

// liveVerifyClients sets the clients of --verify-rate's live comparison in cfg
// and returns what closes them.
func liveVerifyClients(ctx context.Context, env *cliEnv, f *syncFlags, cfg *replicator.Config) (func(), error) {
	s, err := f.src.parse(env)
	if err != nil {
		return nil, err
	}
	t, err := f.dst.parse(env)
	if err != nil {
		return nil, err
	}
	if cfg.VerifySource, err = controlClient(ctx, s); err != nil {
		return nil, fmt.Errorf("--verify-rate: source: %w", err)
	}
	if cfg.VerifyTarget, err = controlClient(ctx, t); err != nil {
		cfg.VerifySource.Close()
		return nil, fmt.Errorf("--verify-rate: target: %w", err)
	}
	return func() { cfg.VerifySource.Close(); cfg.VerifyTarget.Close() }, nil
}
