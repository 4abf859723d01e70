package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator"
	"github.com/xsync/xsync/replicator/registry"
	"github.com/xsync/xsync/replicator/translate"
)

// sharedJob is what a sync knows of the other jobs writing to its destination
// (several sources merged into one destination; see docs/operations.md,
// "Merging instances").
type sharedJob struct {
	self registry.Entry
	r    *replicator.Replicator // set once it exists: its collision count
	dc   redis.UniversalClient  // the destination, to read the registry again

	mu     sync.Mutex
	others []registry.Entry // as last read
	read   time.Time
}

// current returns the other jobs, reading the registry again (not the
// checkpoint keys: that is a SCAN) when the last read is older than 5 s.
func (s *sharedJob) current() []registry.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dc != nil && time.Since(s.read) > 5*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if reg, err := registry.Read(ctx, s.dc); err == nil {
			known := map[string]bool{s.self.InternalPrefix: true}
			var fresh []registry.Entry
			for _, e := range reg {
				known[e.InternalPrefix] = true
				if e.InternalPrefix != s.self.InternalPrefix {
					fresh = append(fresh, e)
				}
			}
			for _, e := range s.others {
				if e.Unregistered && !known[e.InternalPrefix] {
					fresh = append(fresh, e)
				}
			}
			s.others, s.read = fresh, time.Now()
		}
	}
	return s.others
}

// close releases the destination client.
func (s *sharedJob) close() {
	if s.dc != nil {
		s.dc.Close()
	}
}

// info are the INFO xsync lines about the destination's other jobs.
func (s *sharedJob) info() [][2]string {
	others := s.current()
	out := [][2]string{{"dest_shared", strconv.Itoa(b2i(len(others) > 0))}, {"dest_jobs", strconv.Itoa(len(others))}}
	for i, o := range others {
		out = append(out, [2]string{"dest_job" + strconv.Itoa(i), o.Info()})
	}
	if s.r != nil {
		out = append(out, [2]string{"dest_collisions", strconv.FormatInt(s.r.Status().Collisions, 10)})
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// setupShared finds the other jobs on the destination (registry and foreign
// checkpoint keys), refuses a configuration that would delete their keys (an
// error wrapping errUsage: exit 2), fills cfg's view of them and registers
// this job.
func (f *syncFlags) setupShared(ctx context.Context, env *cliEnv, cfg *replicator.Config, log *slog.Logger) (*sharedJob, error) {
	t, err := f.dst.parse(env)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	dc, err := controlClient(dctx, t)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	others, err := registry.Others(dctx, dc, f.internalPrefix)
	if err != nil {
		dc.Close()
		return nil, err
	}
	sj := &sharedJob{others: others, dc: dc, read: time.Now()}
	ok := false
	defer func() {
		if !ok {
			sj.close()
		}
	}()
	tc := &cfg.Translate
	for _, o := range others {
		log.Warn("another job writes to this destination", "job", o.String())
		if o.Scoped() {
			tc.Others = append(tc.Others, o.Owner())
		}
	}
	if len(others) > 0 {
		if err := f.refuseShared(others); err != nil {
			return nil, err
		}
	}
	switch cfg.Conflict {
	case replicator.ConflictStop:
		tc.Collision = translate.Stop
	case replicator.ConflictSkip:
		tc.Collision = translate.Ignore
	default:
		tc.Collision = translate.Apply
	}
	tc.SharedGuard = registry.Guard(f.internalPrefix, others)
	sj.self = registry.Entry{InternalPrefix: f.internalPrefix, KeyPrefix: f.keyPrefix, Owns: list(f.owns), DBs: f.dbs,
		Started: time.Now().Unix()}
	sj.self.Host, _ = os.Hostname()
	sj.self.Sources = sourceIdentity(dctx, env, f)
	if err := registry.Register(dctx, dc, sj.self); err != nil {
		return nil, err
	}
	ok = true
	log.Info("registered on the destination", "registry", registry.Key, "job", sj.self.String(), "other_jobs", len(others))
	return sj, nil
}

// refuseShared rejects, on a destination with other jobs, what would delete
// their keys: without --key-prefix or --owns, --flush apply, --empty-first;
// and --swapdb apply in any case; and a key prefix overlapping another job's.
func (f *syncFlags) refuseShared(others []registry.Entry) error {
	names := make([]string, len(others))
	for i, o := range others {
		names[i] = o.String()
	}
	jobs := strings.Join(names, "; ")
	if o, ok := registry.Overlap(f.keyPrefix, others); ok {
		return fmt.Errorf("%w: --key-prefix %q overlaps the keys of %s: give each source a prefix that is not the start of another's", errUsage, f.keyPrefix, o.String())
	}
	if f.swapdb == "apply" {
		return fmt.Errorf("%w: --swapdb apply on a destination shared with other jobs (%s) would swap their keys too: use --swapdb stop or ignore", errUsage, jobs)
	}
	if f.keyPrefix != "" || f.owns != "" {
		return nil
	}
	var what []string
	if f.flush == "apply" {
		what = append(what, "--flush apply (a FLUSHALL/FLUSHDB in the source would empty every slot the source owns)")
	}
	if f.emptyFirst {
		what = append(what, "--empty-first (it empties every slot the source owns)")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the destination is shared with other jobs (%s), and this job cannot tell its keys from theirs: %s "+
		"would delete their keys too. Give this source its keys with --key-prefix P (every key becomes P<key>, hash tags kept) "+
		"or --owns GLOB (its keys already match GLOB), or choose --flush ignore (or stop) knowingly", errUsage, jobs, strings.Join(what, "; "))
}

// sourceIdentity lists the source masters with their replication ids (best
// effort: an unreachable source is named by its seeds).
func sourceIdentity(ctx context.Context, env *cliEnv, f *syncFlags) []registry.Source {
	s, err := f.src.parse(env)
	if err != nil {
		return nil
	}
	var out []registry.Source
	fallback := func() []registry.Source {
		for _, a := range s.seeds {
			out = append(out, registry.Source{Addr: a})
		}
		return out
	}
	c, err := controlClient(ctx, s)
	if err != nil {
		return fallback()
	}
	defer c.Close()
	one := func(ctx context.Context, n *redis.Client) registry.Source {
		src := registry.Source{Addr: n.Options().Addr}
		if info, err := n.Info(ctx, "replication").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_replid:"); ok {
					src.ReplID = v
				}
			}
		}
		return src
	}
	switch cc := c.(type) {
	case *redis.ClusterClient:
		var mu sync.Mutex // ForEachMaster runs the masters in parallel
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			s := one(ctx, n)
			mu.Lock()
			out = append(out, s)
			mu.Unlock()
			return nil
		})
		sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	case *redis.Client:
		out = append(out, one(ctx, cc))
	}
	if len(out) == 0 {
		return fallback()
	}
	return out
}
