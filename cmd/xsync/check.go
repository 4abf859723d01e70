package main

import (
	"context"
	"fmt"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/registry"

	"github.com/xsync/xsync/replicator/precheck"
)

const checkAbout = `Runs the prechecks of a sync without writing anything: every node reachable and
authenticated, replication permitted on the source (or, in scan mode — --source-mode
scan, or auto against a source that refuses PSYNC — whether notify-keyspace-events
covers what scan mode needs, what to set and where, and the first scan's time
estimated from DBSIZE and a sampled MEMORY USAGE), versions (and which conversion
path a sync will use), the destination's eviction policy, free memory and slot
coverage, the source's backlog and replica output buffer against the expected snapshot
time, whether the destination already holds keys, and, for a destination older than
the source, each feature in use on the source that it cannot hold (sampled: hash
field expires, functions, streams' consumer-group lag, commands it lacks) with its
count and what sync will do with it (--downgrade). One line per check: PASS, WARN
or FAIL, what was found, and how to fix it. Exit 0 when nothing failed, 1 otherwise.`

func runCheck(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "check", "xsync check --source URL --target URL [flags]", checkAbout)
	var src, dst endpointFlags
	src.register(fs, "source", "the source to replicate from")
	dst.register(fs, "target", "the destination to write to")
	fs.String("config", "", "YAML file with flags as keys")
	conflict := fs.String("conflict", "replace", "policy for keys already on the destination, named in the report: replace, skip or stop")
	downgrade := fs.String("downgrade", "stop", "what sync will do with what an older destination cannot hold, named in the report: stop or drop")
	rate := fs.Int64("snapshot-rate", 50<<20, "expected snapshot transfer rate in bytes/s, to estimate the full-sync time")
	mode := fs.String("source-mode", "auto", "how sync will read the source: psync, scan or auto (scan when the source refuses PSYNC); scan mode checks notify-keyspace-events and estimates the first scan from DBSIZE")
	prefix := fs.String("internal-prefix", "__xsync:", "this job's internal prefix: other jobs found on the destination are listed")
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	if _, err := replicator.ParseSourceMode(*mode); err != nil {
		return exitFor(env, fmt.Errorf("%w: --source-mode %q: use psync, scan or auto", errUsage, *mode))
	}
	s, err := src.parse(env)
	if err != nil {
		return exitFor(env, err)
	}
	t, err := dst.parse(env)
	if err != nil {
		return exitFor(env, err)
	}
	rs := precheck.Run(ctx, precheck.Config{
		Source:         precheckEndpoint(s.seeds, s.opts),
		Target:         precheckEndpoint(t.seeds, t.opts),
		ConflictPolicy: *conflict,
		SnapshotRate:   *rate,
		Downgrade:      *downgrade,
		SourceMode:     *mode,
	})
	if err := precheck.Write(env.stdout, rs); err != nil {
		return exitFor(env, err)
	}
	listJobs(ctx, env, t, *prefix)
	if precheck.Failed(rs) {
		fmt.Fprintln(env.stderr, "xsync: some prechecks failed: fix them before syncing")
		return exitDiffers
	}
	return exitOK
}

// listJobs prints the other jobs writing to the destination (registered, or
// found by their checkpoint keys): a sync there needs --key-prefix or --owns
// to keep --flush apply.
func listJobs(ctx context.Context, env *cliEnv, t endpoint, own string) {
	c, err := controlClient(ctx, t)
	if err != nil {
		return // the prechecks have said why
	}
	defer c.Close()
	others, err := registry.Others(ctx, c, own)
	if err != nil {
		fmt.Fprintf(env.stdout, "%-4s  %-26s %v\n", "WARN", "other jobs", err)
		return
	}
	if len(others) == 0 {
		fmt.Fprintf(env.stdout, "%-4s  %-26s %s\n", "PASS", "other jobs", "none on the destination")
		return
	}
	fmt.Fprintf(env.stdout, "%-4s  %-26s %d on the destination (merging) — fix: give this source --key-prefix or --owns, or --flush ignore|stop\n", "WARN", "other jobs", len(others))
	for _, o := range others {
		fmt.Fprintf(env.stdout, "%-4s  %-26s %s\n", "", "", o.String())
	}
}
