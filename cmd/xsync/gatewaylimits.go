package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/proxy/gateway"
	"github.com/xsync/xsync/proxy/listener"
)

// gatewayLimitFlags bound the gateway's clients and what it forwards. prefix is
// "gateway-" in xsync sync and "" in xsync gateway.
type gatewayLimitFlags struct {
	prefix     string
	maxClients int
	idle       time.Duration
	output     string
	allowAdmin bool
	allow      string
	deny       string
	tls        listener.TLSFiles
}

func (l *gatewayLimitFlags) register(fs *flag.FlagSet, prefix string) {
	l.prefix = prefix
	fs.IntVar(&l.maxClients, prefix+"maxclients", gateway.DefaultMaxClients, "most clients connected to the gateway at once; one more gets '-ERR max number of clients reached'")
	fs.DurationVar(&l.idle, prefix+"idle-timeout", 0, "close a gateway client idle for this long (blocked and subscribed clients are spared); 0: never")
	fs.StringVar(&l.output, prefix+"output-limit", "64mb 16mb 60",
		"output buffer limit of a gateway client, as Redis's client-output-buffer-limit normal: HARD SOFT SECONDS; a client whose unread replies reach HARD, or stay over SOFT for SECONDS, is disconnected (0 0 0: none)")
	fs.BoolVar(&l.allowAdmin, prefix+"allow-admin", false, "forward the commands that administer the backend or reveal its state (Redis's @admin and @dangerous: CONFIG, ACL, SAVE, DEBUG, CLIENT KILL, MONITOR, INFO, ...); by default refused with -NOPERM. CONFIG GET of a password is refused even so")
	fs.StringVar(&l.allow, prefix+"allow", "", "forward these refused commands only (comma-separated, e.g. info,config|get)")
	fs.StringVar(&l.deny, prefix+"deny", "", "refuse these commands too (comma-separated, e.g. flushall,flushdb)")
	registerTLSFiles(fs, &l.tls, strings.TrimSuffix(prefix, "-"), "the gateway")
}

// apply sets the limits in cfg.
func (l *gatewayLimitFlags) apply(cfg *gateway.Config) error {
	cfg.MaxClients, cfg.IdleTimeout, cfg.AllowAdmin = l.maxClients, l.idle, l.allowAdmin
	cfg.AllowHint = "--" + l.prefix + "allow-admin"
	cfg.Allow, cfg.Deny = splitList(l.allow), splitList(l.deny)
	tc, err := l.tls.ServerConfig()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.TLS = tc
	f := strings.Fields(l.output)
	if len(f) != 3 {
		return fmt.Errorf("%w: --%soutput-limit %q: give HARD SOFT SECONDS, e.g. \"64mb 16mb 60\"", errUsage, l.prefix, l.output)
	}
	hard, err1 := parseMemory(f[0])
	soft, err2 := parseMemory(f[1])
	secs, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
		return fmt.Errorf("%w: --%soutput-limit %q: sizes like 64mb, seconds an integer", errUsage, l.prefix, l.output)
	}
	cfg.OutputHard, cfg.OutputSoft, cfg.OutputSoftFor = orNone(hard), orNone(soft), time.Duration(secs)*time.Second
	return nil
}

// orNone maps Redis's 0 (no limit) to the gateway's negative.
func orNone(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseMemory reads a size as redis.conf writes it (memtoull in Redis's util.c):
// 1024, 1k (1000), 1kb (1024), 64mb, 1gb.
func parseMemory(s string) (int64, error) {
	s = strings.ToLower(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	return n * mult, nil
}
