package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/registry"
	"github.com/xsync/xsync/replicator/verify"
)

const verifyAbout = `Compares the source and the destination key by key: type, value (a digest read in
pages, so big keys are fine) and TTL within a tolerance, in both directions (missing
and extra keys). It works in rounds: later rounds re-check only the keys that
differed, so keys changing during a live sync are not reported as lost. SCAN-based and
rate-bounded: it never blocks a live cluster. Keys starting with the internal prefix
(xsync's own checkpoints) are left out.

Merged sources: give --source once per source, and --key-prefix once per source in the
same order (the prefix its sync put before its keys; without --key-prefix each source's
prefix is read from the destination's registry of jobs, by source address). The union of
the sources is compared with the destination: each source's keys under its prefix, no
destination key outside them. The internal keys of every registered job are left out.

Exit 0 when equal, 1 when different (a summary and the differing keys by kind:
missing, extra, type, value, ttl), 3 on error.`

func runVerify(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "verify", "xsync verify --source URL [--source URL --key-prefix P ...] --target URL [--rounds N] [--sample RATE] [flags]", verifyAbout)
	var src, dst endpointFlags
	src.register(fs, "source", "the source")
	var sources, keyPrefixes repeated
	fs.Lookup("source").Value = &sources // repeatable: the union of merged sources
	fs.Var(&keyPrefixes, "key-prefix", "the --key-prefix of each --source's sync, in the same order (repeat it; default: from the destination's registry)")
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
	if len(sources) == 0 {
		return exitFor(env, fmt.Errorf("%w: --source is required", errUsage))
	}
	if len(keyPrefixes) > len(sources) {
		return exitFor(env, fmt.Errorf("%w: %d --key-prefix for %d --source: give one per source, in the same order", errUsage, len(keyPrefixes), len(sources)))
	}
	src.url = sources[0]
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
	if cfg.Target, err = controlClient(ctx, t); err != nil {
		return exitFor(env, fmt.Errorf("target: %w", err))
	}
	defer cfg.Target.Close()
	var res *verify.Result
	if len(sources) == 1 && len(keyPrefixes) == 0 {
		if cfg.Source, err = controlClient(ctx, s); err != nil {
			return exitFor(env, fmt.Errorf("source: %w", err))
		}
		defer cfg.Source.Close()
		res, err = verify.Run(ctx, cfg)
	} else {
		var members []verify.Member
		if members, err = unionMembers(ctx, env, &cfg, src, sources, keyPrefixes); err != nil {
			return exitFor(env, err)
		}
		for _, m := range members {
			defer m.Source.Close()
		}
		res, err = verify.Union(ctx, cfg, members)
	}
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

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, " ") }

func (r *repeated) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// unionMembers opens every --source of a union verify, each with its key
// prefix (given, or read from the destination's registry by source address),
// and leaves out the internal keys of every registered job.
func unionMembers(ctx context.Context, env *cliEnv, cfg *verify.Config, proto endpointFlags, urls, prefixes []string) ([]verify.Member, error) {
	jobs, err := registry.Read(ctx, cfg.Target)
	if err != nil {
		return nil, err
	}
	cfg.ExcludePrefixes = append(cfg.ExcludePrefixes, registry.Key)
	for _, j := range jobs {
		cfg.ExcludePrefixes = append(cfg.ExcludePrefixes, j.InternalPrefix)
	}
	var out []verify.Member
	fail := func(err error) ([]verify.Member, error) {
		for _, m := range out {
			m.Source.Close()
		}
		return nil, err
	}
	for i, u := range urls {
		e := proto
		e.url = u
		ep, err := e.parse(env)
		if err != nil {
			return fail(err)
		}
		m := verify.Member{Name: redactURL(u)}
		if i < len(prefixes) {
			m.KeyPrefix = prefixes[i]
		} else if j, ok := jobOfSource(jobs, ep.seeds); ok {
			m.KeyPrefix = j.KeyPrefix
		} else if len(prefixes) == 0 {
			return fail(fmt.Errorf("%w: no registered job follows --source %s: give --key-prefix for each --source", errUsage, m.Name))
		}
		if m.Source, err = controlClient(ctx, ep); err != nil {
			return fail(fmt.Errorf("source %s: %w", m.Name, err))
		}
		out = append(out, m)
	}
	return out, nil
}

// jobOfSource finds the registered job that follows one of seeds.
func jobOfSource(jobs []registry.Entry, seeds []string) (registry.Entry, bool) {
	for _, j := range jobs {
		for _, s := range j.Sources {
			for _, seed := range seeds {
				if s.Addr == seed {
					return j, true
				}
			}
		}
	}
	return registry.Entry{}, false
}
