package precheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/replicator/scansrc"
)

// DefaultScanRate is the keys per second per source master assumed for the
// estimate of scan mode's first scan (measured on loopback with small keys:
// docs/performance.md, "Scan mode").
const DefaultScanRate = 50000

// scanChecks are the checks of a sync in scan mode (SCAN + DUMP and keyspace
// notifications): notify-keyspace-events on every master, and how long the
// first scan takes.
func scanChecks(ctx context.Context, cfg Config, src *side, why string) []Result {
	var bad, unread []string
	for _, n := range src.primaries() {
		c := redis.NewClient(clientOpts(cfg.Source, n.addr, cfg.Timeout))
		m, err := c.ConfigGet(ctx, "notify-keyspace-events").Result()
		c.Close()
		if err != nil {
			unread = append(unread, fmt.Sprintf("%s (CONFIG GET refused: %v)", n.addr, err))
			continue
		}
		v := m["notify-keyspace-events"]
		if miss := scansrc.NotifyMissing(v); miss != "" {
			bad = append(bad, fmt.Sprintf("%s has %q, lacks %q", n.addr, v, miss))
		}
	}
	var rs []Result
	fix := "CONFIG SET notify-keyspace-events " + scansrc.NotifyValue + " on each master (or sync --scan-set-notify); on a managed service, where CONFIG is refused, set notify-keyspace-events to " + scansrc.NotifyValue + " in its parameter group (ElastiCache/MemoryDB parameter group, Azure Cache advanced settings, Memorystore configuration)"
	switch {
	case len(bad) > 0:
		rs = append(rs, Result{Fail, "scan-notifications", "scan mode (" + why + ") needs keyspace events K and " + scansrc.NotifyClasses + ": " + strings.Join(bad, "; "), fix})
	case len(unread) > 0:
		rs = append(rs, Result{Warn, "scan-notifications", "scan mode (" + why + "): notify-keyspace-events cannot be read on " + strings.Join(unread, "; ") + "; without K and " + scansrc.NotifyClasses + " changes during and after the scan are lost", fix})
	default:
		rs = append(rs, Result{Pass, "scan-notifications", "scan mode (" + why + "): notify-keyspace-events covers K and " + scansrc.NotifyClasses + " on every master", ""})
	}
	rs = append(rs, scanEstimate(ctx, cfg, src))
	return rs
}

// scanEstimate estimates the first scan from DBSIZE (masters are scanned in
// parallel) and a sampled MEMORY USAGE.
func scanEstimate(ctx context.Context, cfg Config, src *side) Result {
	var most, total int64
	var sampled, bytes int64
	for _, n := range src.primaries() {
		c := redis.NewClient(clientOpts(cfg.Source, n.addr, cfg.Timeout))
		k, err := c.DBSize(ctx).Result()
		if err == nil {
			most, total = max(most, k), total+k
			for range 20 {
				key, err := c.RandomKey(ctx).Result()
				if err != nil {
					break
				}
				if b, err := c.MemoryUsage(ctx, key).Result(); err == nil {
					sampled++
					bytes += b
				}
			}
		}
		c.Close()
	}
	rate := cfg.ScanRate
	secs := float64(most) / float64(rate)
	found := fmt.Sprintf("%d keys in db 0 (most on one master: %d): first scan about %s at %d keys/s per master", total, most, (time.Duration(secs * float64(time.Second))).Round(time.Second), rate)
	if sampled > 0 {
		avg := bytes / sampled
		found += fmt.Sprintf("; sampled MEMORY USAGE %s a key, about %s to copy", human(avg), human(avg*total))
		if mb := float64(avg*most) / float64(cfg.SnapshotRate); mb > secs {
			found += ", bounded by bytes: about " + strconv.FormatFloat(mb, 'f', 0, 64) + "s"
		}
	}
	return Result{Pass, "scan-estimate", found, ""}
}
