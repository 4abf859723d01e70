package precheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/xsync/xsync/replicator/redisver"
)

// checkReplPermission: the source user may run the replication handshake.
func checkReplPermission(ctx context.Context, cfg Config, src *side) []Result {
	var fails []string
	var notes []string
	for _, n := range src.primaries() {
		c := redis.NewClient(clientOpts(cfg.Source, n.addr, cfg.Timeout))
		info, err := c.Do(ctx, "COMMAND", "INFO", "psync").Slice()
		if err == nil && (len(info) == 0 || info[0] == nil) {
			fails = append(fails, n.addr+": PSYNC is not available (renamed or disabled, as some managed services do)")
			c.Close()
			continue
		}
		if err := c.Do(ctx, "REPLCONF", "listening-port", "0").Err(); err != nil {
			fails = append(fails, fmt.Sprintf("%s: REPLCONF refused: %v", n.addr, err))
			c.Close()
			continue
		}
		if major(n) >= 7 {
			user, err := c.Do(ctx, "ACL", "WHOAMI").Text()
			if err == nil {
				res, err := c.Do(ctx, "ACL", "DRYRUN", user, "PSYNC", "?", "-1").Text()
				switch {
				case err != nil && strings.HasPrefix(err.Error(), "NOPERM"):
					notes = append(notes, n.addr+": ACL DRYRUN not permitted, PSYNC permission assumed from REPLCONF")
				case err != nil:
					fails = append(fails, fmt.Sprintf("%s: user %q may not run PSYNC: %v", n.addr, user, err))
				case res != "OK":
					fails = append(fails, fmt.Sprintf("%s: user %q may not run PSYNC: %s", n.addr, user, res))
				}
			}
		}
		c.Close()
	}
	if len(fails) > 0 {
		return []Result{{Fail, "source-replication-permission", strings.Join(fails, "; "),
			"grant the source user the replication commands (ACL SETUSER <user> +psync +replconf +ping), or ask the provider to enable replication for this client"}}
	}
	found := "the source user may run REPLCONF and PSYNC on every master"
	if len(notes) > 0 {
		found += " (" + strings.Join(notes, "; ") + ")"
	}
	return []Result{{Pass, "source-replication-permission", found, ""}}
}

// version returns major, minor of a node's redis_version.
func version(n *node) (int, int) {
	parts := strings.SplitN(n.info["redis_version"], ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	a, _ := strconv.Atoi(parts[0])
	b, _ := strconv.Atoi(parts[1])
	return a, b
}

func major(n *node) int { a, _ := version(n); return a }

// serverName names a node's server as it names itself (redisver.ServerName).
func serverName(n *node) string {
	return redisver.ServerName(func(f string) string { return n.info[f] })
}

func versionLess(a, b *node) bool {
	a1, a2 := version(a)
	b1, b2 := version(b)
	return a1 < b1 || (a1 == b1 && a2 < b2)
}

func checkVersions(src, dst *side) Result {
	newestSrc, oldestDst := src.primaries()[0], dst.primaries()[0]
	for _, n := range src.primaries() {
		if versionLess(newestSrc, n) {
			newestSrc = n
		}
	}
	for _, n := range dst.primaries() {
		if versionLess(n, oldestDst) {
			oldestDst = n
		}
	}
	sv, dv := serverName(newestSrc), serverName(oldestDst)
	if versionLess(oldestDst, newestSrc) {
		return Result{Warn, "versions", fmt.Sprintf("destination %s is older than source %s: keys are written as plain commands, not RESTORE (slower, same result)", dv, sv),
			"upgrade the destination to at least the source's version to use RESTORE"}
	}
	return Result{Pass, "versions", fmt.Sprintf("source %s, destination %s: snapshot keys are written with RESTORE", sv, dv), ""}
}

func checkEviction(dst *side) []Result {
	var bad []string
	for _, n := range dst.primaries() {
		policy := n.info["maxmemory_policy"]
		if infoInt(n, "maxmemory") > 0 && policy != "noeviction" {
			bad = append(bad, fmt.Sprintf("%s: maxmemory-policy %s with maxmemory %s", n.addr, policy, human(infoInt(n, "maxmemory"))))
		}
	}
	if len(bad) > 0 {
		return []Result{{Fail, "dest-eviction-policy", strings.Join(bad, "; ") + ": the destination may evict synced keys",
			"CONFIG SET maxmemory-policy noeviction on every destination master (and in its config file)"}}
	}
	return []Result{{Pass, "dest-eviction-policy", "no destination master can evict keys (noeviction or no maxmemory)", ""}}
}

func checkMemory(src, dst *side) Result {
	var need, free int64
	for _, n := range src.primaries() {
		need += infoInt(n, "used_memory")
	}
	unbounded := false
	for _, n := range dst.primaries() {
		used := infoInt(n, "used_memory")
		if m := infoInt(n, "maxmemory"); m > 0 {
			free += max(0, m-used)
			continue
		}
		if sys := infoInt(n, "total_system_memory"); sys > 0 {
			unbounded = true
			free += max(0, sys/int64(len(dst.primaries()))-used)
		}
	}
	found := fmt.Sprintf("source uses %s, destination has %s free", human(need), human(free))
	if unbounded {
		found += " (no maxmemory: counted from the hosts' memory)"
	}
	if free < need {
		return Result{Fail, "dest-free-memory", found, "raise maxmemory on the destination masters, add shards, or free memory before syncing"}
	}
	return Result{Pass, "dest-free-memory", found, ""}
}

func checkSlots(ctx context.Context, cfg Config, dst *side) Result {
	for _, n := range dst.primaries() {
		c := redis.NewClient(clientOpts(cfg.Target, n.addr, cfg.Timeout))
		text, err := c.ClusterInfo(ctx).Result()
		c.Close()
		if err != nil {
			return Result{Fail, "dest-slots-covered", fmt.Sprintf("%s: CLUSTER INFO: %v", n.addr, err), "check that the destination user may run CLUSTER INFO"}
		}
		info := parseInfo(text)
		if info["cluster_slots_assigned"] != "16384" || info["cluster_state"] != "ok" {
			return Result{Fail, "dest-slots-covered", fmt.Sprintf("%s: cluster_state:%s, %s of 16384 slots assigned", n.addr, info["cluster_state"], info["cluster_slots_assigned"]),
				"assign every slot (redis-cli --cluster fix HOST:PORT) and wait for cluster_state:ok"}
		}
	}
	return Result{Pass, "dest-slots-covered", "all 16384 destination slots are assigned and the cluster is ok", ""}
}

// checkBuffers compares the source's replica output buffer and backlog with what
// the expected write rate produces during the snapshot transfer.
func checkBuffers(ctx context.Context, cfg Config, src *side) []Result {
	var out []Result
	for _, n := range src.primaries() {
		used := infoInt(n, "used_memory_dataset")
		if used == 0 {
			used = infoInt(n, "used_memory")
		}
		seconds := float64(used)/float64(cfg.SnapshotRate) + 10
		rate := parseFloat(n.info["instantaneous_input_kbps"]) * 1024
		need := int64(rate * seconds)
		c := redis.NewClient(clientOpts(cfg.Source, n.addr, cfg.Timeout))
		conf, err := c.ConfigGet(ctx, "*").Result()
		c.Close()
		if err != nil {
			out = append(out, Result{Warn, "source-buffers", fmt.Sprintf("%s: cannot read CONFIG (%v): replica output buffer and backlog not checked", n.addr, err),
				"make sure client-output-buffer-limit replica and repl-backlog-size fit the write rate during the snapshot"})
			continue
		}
		backlog, _ := strconv.ParseInt(conf["repl-backlog-size"], 10, 64)
		hard, soft, softSec := replicaLimits(conf["client-output-buffer-limit"])
		found := fmt.Sprintf("%s: snapshot ≈ %.0fs at %s/s, writes ≈ %s/s, so ≈ %s buffered; replica buffer hard %s soft %s/%ds, backlog %s",
			n.addr, seconds, human(cfg.SnapshotRate), human(int64(rate)), human(need), limitString(hard), limitString(soft), softSec, human(backlog))
		switch {
		case hard > 0 && hard < need, soft > 0 && soft < need && float64(softSec) < seconds:
			out = append(out, Result{Warn, "source-buffers", found + ": the master may drop the link during the snapshot",
				fmt.Sprintf("CONFIG SET client-output-buffer-limit \"replica %d %d %d\" (or larger) on the source masters", max(need*2, 256<<20), max(need, 64<<20), 60)})
		case backlog < int64(rate*60):
			out = append(out, Result{Warn, "source-buffers", found + ": a link drop longer than " + strconv.Itoa(int(float64(backlog)/max(rate, 1))) + "s needs a new full sync",
				fmt.Sprintf("CONFIG SET repl-backlog-size %d (a minute of writes or more) on the source masters", max(int64(rate*120), 64<<20))})
		default:
			out = append(out, Result{Pass, "source-buffers", found, ""})
		}
	}
	return out
}

func parseFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// replicaLimits parses the replica class of client-output-buffer-limit
// ("normal 0 0 0 slave 268435456 67108864 60 pubsub ...").
func replicaLimits(s string) (hard, soft int64, softSec int) {
	f := strings.Fields(s)
	for i := 0; i+3 < len(f); i += 4 {
		if f[i] == "slave" || f[i] == "replica" {
			hard, _ = strconv.ParseInt(f[i+1], 10, 64)
			soft, _ = strconv.ParseInt(f[i+2], 10, 64)
			softSec, _ = strconv.Atoi(f[i+3])
		}
	}
	return hard, soft, softSec
}

func limitString(b int64) string {
	if b == 0 {
		return "unlimited"
	}
	return human(b)
}

func checkEmpty(dst *side, policy string) Result {
	var keys int64
	for _, n := range dst.primaries() {
		for k, v := range n.info {
			if !strings.HasPrefix(k, "db") {
				continue
			}
			if _, err := strconv.Atoi(k[2:]); err != nil {
				continue
			}
			for _, part := range strings.Split(v, ",") {
				if c, ok := strings.CutPrefix(part, "keys="); ok {
					x, _ := strconv.ParseInt(c, 10, 64)
					keys += x
				}
			}
		}
	}
	if keys > 0 {
		return Result{Warn, "dest-empty", fmt.Sprintf("the destination already holds %d keys; conflict policy %q applies to keys of the same name", keys, policy),
			"empty the destination first, or choose --conflict replace|skip|stop knowingly"}
	}
	return Result{Pass, "dest-empty", "the destination is empty", ""}
}
