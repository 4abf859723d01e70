package source

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
)

// bufferFacts are what the buffer check reads from the master.
type bufferFacts struct {
	hardLimit, softLimit int64 // client-output-buffer-limit replica (0 = none)
	softSeconds          int64
	backlog              int64   // repl-backlog-size
	dataset              int64   // used_memory_dataset (or used_memory): snapshot size estimate
	writeRate            float64 // bytes/s of writes: instantaneous_input_kbps
}

// checkBuffers warns, before a full sync, when the master's replica output buffer
// limit or backlog look too small to hold the writes made during the transfer: the
// master would drop the link (and the transfer would start over) or a resume after a
// short drop would need another full sync. It only logs.
func checkBuffers(ctx context.Context, c *conn.Conn, cfg *LinkConfig) {
	log := cfg.Logger.With("node", cfg.Addr)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var f bufferFacts
	cobl, err := c.Do(ctx, "CONFIG", "GET", "client-output-buffer-limit")
	var backlog resp.Value
	if err == nil {
		backlog, err = c.Do(ctx, "CONFIG", "GET", "repl-backlog-size")
	}
	if err == nil {
		err = f.parseConfig(configValue(cobl), configValue(backlog))
	}
	if err != nil {
		log.Warn("cannot read CONFIG (disabled, renamed or not permitted?): check by hand that client-output-buffer-limit replica and repl-backlog-size hold the writes made during a full sync", "err", err)
		return
	}
	info, err := c.Do(ctx, "INFO")
	if err != nil {
		log.Warn("cannot read INFO: skipping the replica buffer check", "err", err)
		return
	}
	f.parseInfo(info.Str)
	rate := cfg.SnapshotRateLimit
	if rate <= 0 {
		rate = cfg.ExpectedSnapshotRate
	}
	for _, w := range f.warnings(rate) {
		log.Warn(w)
	}
}

// configValue returns the value of a one-parameter CONFIG GET reply (an array of
// name, value; a map in RESP3).
func configValue(v resp.Value) string {
	if len(v.Elems) >= 2 {
		return string(v.Elems[1].Str)
	}
	return ""
}

// parseConfig reads "normal 0 0 0 slave 268435456 67108864 60 pubsub ..." and the
// backlog size.
func (f *bufferFacts) parseConfig(cobl, backlog string) error {
	fields := strings.Fields(cobl)
	found := false
	for i := 0; i+3 < len(fields); i += 4 {
		if fields[i] != "slave" && fields[i] != "replica" {
			continue
		}
		var err error
		if f.hardLimit, err = parseMem(fields[i+1]); err == nil {
			if f.softLimit, err = parseMem(fields[i+2]); err == nil {
				f.softSeconds, err = strconv.ParseInt(fields[i+3], 10, 64)
			}
		}
		if err != nil {
			return fmt.Errorf("client-output-buffer-limit %q: %w", cobl, err)
		}
		found = true
	}
	if !found {
		return fmt.Errorf("client-output-buffer-limit %q has no replica class", cobl)
	}
	var err error
	if f.backlog, err = parseMem(backlog); err != nil {
		return fmt.Errorf("repl-backlog-size %q: %w", backlog, err)
	}
	return nil
}

// parseMem reads 1048576, 1mb, 64k, 2gb (Redis memory units).
func parseMem(s string) (int64, error) {
	s = strings.ToLower(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// parseInfo reads the dataset size and the input rate from INFO text.
func (f *bufferFacts) parseInfo(info []byte) {
	var used int64
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory_dataset":
			f.dataset, _ = strconv.ParseInt(v, 10, 64)
		case "used_memory":
			used, _ = strconv.ParseInt(v, 10, 64)
		case "instantaneous_input_kbps":
			kbps, _ := strconv.ParseFloat(v, 64)
			f.writeRate = kbps * 1024
		}
	}
	if f.dataset == 0 {
		f.dataset = used
	}
}

// warnings compares what the writes during a transfer at rate bytes/s would need
// with the limits.
func (f *bufferFacts) warnings(rate int64) []string {
	if rate <= 0 || f.writeRate <= 0 {
		return nil
	}
	secs := float64(f.dataset) / float64(rate)
	need := int64(f.writeRate * secs)
	var out []string
	mb := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MB" }
	if f.hardLimit > 0 && need > f.hardLimit {
		out = append(out, fmt.Sprintf("client-output-buffer-limit replica hard limit %s is below the ~%s of writes expected during a %.0fs snapshot transfer: the master may drop the link mid-sync; raise it (CONFIG SET client-output-buffer-limit \"replica 0 0 0\" or a larger size) or lower the write rate",
			mb(f.hardLimit), mb(need), secs))
	}
	if f.softLimit > 0 && f.softSeconds > 0 && secs > float64(f.softSeconds) && need > f.softLimit {
		out = append(out, fmt.Sprintf("client-output-buffer-limit replica soft limit %s for %ds is below the ~%s of writes expected during a %.0fs snapshot transfer: raise it",
			mb(f.softLimit), f.softSeconds, mb(need), secs))
	}
	if f.backlog > 0 && need > f.backlog {
		out = append(out, fmt.Sprintf("repl-backlog-size %s holds less than the ~%s of writes made during a %.0fs snapshot transfer: a link dropped then needs another full sync; raise it (CONFIG SET repl-backlog-size %d)",
			mb(f.backlog), mb(need), secs, need*2))
	}
	return out
}
