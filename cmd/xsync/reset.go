package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/glob"
	"github.com/xsync/xsync/replicator/registry"
)

const resetAbout = `Removes every key xsync keeps for itself on a destination (checkpoints; their names
start with the internal prefix, "__xsync:" by default). Run it after a migration is
finished, or to make the next sync start from scratch. User keys are not touched. The
job's entry in the destination's registry of jobs (__xsync_registry, field: the internal
prefix) is removed too.`

func runReset(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "reset", "xsync reset --target URL [--internal-prefix P]", resetAbout)
	var dst endpointFlags
	dst.register(fs, "target", "the destination")
	fs.String("config", "", "YAML file with flags as keys")
	prefix := fs.String("internal-prefix", "__xsync:", "prefix of xsync's own keys")
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	if *prefix == "" {
		return exitFor(env, fmt.Errorf("%w: --internal-prefix must not be empty", errUsage))
	}
	t, err := dst.parse(env)
	if err != nil {
		return exitFor(env, err)
	}
	c, err := controlClient(ctx, t)
	if err != nil {
		return exitFor(env, fmt.Errorf("target: %w", err))
	}
	defer c.Close()
	var deleted atomic.Int64 // ForEachMaster runs the masters in parallel
	del := func(ctx context.Context, node *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, glob.Escape(*prefix)+"*", 1000).Result()
			if err != nil {
				return err
			}
			for _, k := range keys {
				n, err := node.Del(ctx, k).Result()
				if err != nil {
					return err
				}
				deleted.Add(n)
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	switch cc := c.(type) {
	case *redis.ClusterClient:
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return del(ctx, node) })
	case *redis.Client:
		err = del(ctx, cc)
	}
	if err != nil {
		return exitFor(env, err)
	}
	gone, err := registry.Remove(ctx, c, *prefix)
	if err != nil {
		return exitFor(env, err)
	}
	fmt.Fprintf(env.stdout, "removed %d keys with prefix %q\n", deleted.Load(), *prefix)
	if gone {
		fmt.Fprintf(env.stdout, "removed the job %q from the registry %s\n", *prefix, registry.Key)
	}
	return exitOK
}
