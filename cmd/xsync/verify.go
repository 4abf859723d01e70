package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/verify"
)

const verifyAbout = `Compares the source and the destination key by key: type, value (a digest read in
pages, so big keys are fine) and TTL within a tolerance, in both directions (missing
and extra keys). It works in rounds: later rounds re-check only the keys that
differed, so keys changing during a live sync are not reported as lost. SCAN-based and
rate-bounded: it never blocks a live cluster. Keys starting with the internal prefix
(xsync's own checkpoints) are left out.

Exit 0 when equal, 1 when different (a summary and the differing keys by kind:
missing, extra, type, value, ttl), 3 on error.`

func runVerify(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "verify", "xsync verify --source URL --target URL [--rounds N] [--sample RATE] [flags]", verifyAbout)
	var src, dst endpointFlags
	src.register(fs, "source", "the source")
	dst.register(fs, "target", "the destination")
	fs.String("config", "", "YAML file with flags as keys")
	rounds := fs.Int("rounds", 3, "rounds: later ones re-check only the keys that differed")
	sample := fs.Float64("sample", 0, "compare only this fraction of the keys (0 < RATE <= 1); 0 = every key")
	tolerance := fs.Duration("ttl-tolerance", 2*time.Second, "TTL difference tolerated")
	rate := fs.Int("rate", 0, "most keys compared per second (0 = no limit)")
	delay := fs.Duration("round-delay", time.Second, "pause between rounds")
	prefix := fs.String("internal-prefix", verify.DefaultExcludePrefix, "keys with this prefix (xsync's own) are left out")
	dbs := fs.String("dbs", "", "standalone source: databases to compare, with their target database, e.g. 0,1:2 (default: 0, or all for a standalone target)")
	maxReport := fs.Int("max-report", 100, "most differing keys listed")
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	s, err := src.parse(env)
	if err != nil {
		return exitFor(env, err)
	}
	t, err := dst.parse(env)
	if err != nil {
		return exitFor(env, err)
	}
	cfg := verify.Config{
		Rounds: *rounds, Sample: *sample, TTLTolerance: *tolerance, Rate: *rate, RoundDelay: *delay,
		ExcludePrefix: *prefix, MaxReport: *maxReport,
	}
	if *dbs != "" {
		cfg.DBMap = map[int]int{}
		for _, part := range strings.Split(*dbs, ",") {
			from, to, found := strings.Cut(part, ":")
			f, err1 := strconv.Atoi(from)
			tt := f
			var err2 error
			if found {
				tt, err2 = strconv.Atoi(to)
			}
			if err1 != nil || err2 != nil {
				return exitFor(env, fmt.Errorf("%w: --dbs %q: use a list like 0,1:2", errUsage, *dbs))
			}
			cfg.DBs = append(cfg.DBs, f)
			cfg.DBMap[f] = tt
		}
	}
	if cfg.Source, err = controlClient(ctx, s); err != nil {
		return exitFor(env, fmt.Errorf("source: %w", err))
	}
	defer cfg.Source.Close()
	if cfg.Target, err = controlClient(ctx, t); err != nil {
		return exitFor(env, fmt.Errorf("target: %w", err))
	}
	defer cfg.Target.Close()
	res, err := verify.Run(ctx, cfg)
	if err != nil {
		return exitFor(env, err)
	}
	if err := res.WriteReport(env.stdout); err != nil {
		return exitFor(env, err)
	}
	if !res.Equal() {
		return exitDiffers
	}
	return exitOK
}
