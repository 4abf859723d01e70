package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/conn"
)

// endpointFlags are the connection flags of one side (source or target).
type endpointFlags struct {
	side         string // "source" or "target"
	url          string
	passwordFile string
	addrMap      string
}

func (e *endpointFlags) register(fs *flag.FlagSet, side, about string) {
	e.side = side
	fs.StringVar(&e.addrMap, side+"-addr-map", "", "reach "+side+" nodes elsewhere than the address they announce (CLUSTER SLOTS): ANNOUNCED=REACHABLE,... e.g. 10.0.0.5:7000=127.0.0.1:17000 (NAT, port forwarding)")
	fs.StringVar(&e.url, side, "", about+": redis://[user:pass@]host:port[,host:port...] or rediss:// for TLS (?tls-ca=FILE&tls-cert=FILE&tls-key=FILE&tls-server-name=NAME; &tls-insecure=true skips verifying the server certificate: anyone on the path can then pose as the server, so only for a test). A password in the URL shows in ps: prefer --"+side+"-password-file")
	fs.StringVar(&e.passwordFile, side+"-password-file", "", "file holding the "+side+" password (instead of the URL; env XSYNC_"+strings.ToUpper(side)+"_PASSWORD also works)")
}

// endpoint is a parsed side: its seeds and connection options.
type endpoint struct {
	seeds []string
	opts  conn.Options
}

func (e *endpointFlags) parse(env *cliEnv) (endpoint, error) {
	if e.url == "" {
		return endpoint{}, fmt.Errorf("%w: --%s is required", errUsage, e.side)
	}
	seeds, o, err := conn.ParseURL(e.url)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: --%s: %v", errUsage, e.side, err)
	}
	if o.Password == "" {
		p, err := secret(env, "", e.passwordFile, "XSYNC_"+strings.ToUpper(e.side)+"_PASSWORD")
		if err != nil {
			return endpoint{}, err
		}
		o.Password = p
	}
	if e.addrMap != "" {
		m, err := parseAddrMap(e.addrMap)
		if err != nil {
			return endpoint{}, fmt.Errorf("%w: --%s-addr-map: %v", errUsage, e.side, err)
		}
		o.Dialer = mappedDialer(m)
	}
	return endpoint{seeds: seeds, opts: o}, nil
}

// parseAddrMap parses ANNOUNCED=REACHABLE,... (both host:port).
func parseAddrMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want ANNOUNCED=REACHABLE, both host:port", pair)
		}
		for _, a := range []string{from, to} {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("%q: %q is not host:port", pair, a)
			}
		}
		m[from] = to
	}
	return m, nil
}

// mappedDialer dials the address m maps addr to, or addr itself.
func mappedDialer(m map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := m[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
}

// logFlags configure log/slog.
type logFlags struct {
	format string
	level  string
	file   string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.file, "log-file", "", "write logs to this file instead of stderr")
}

// logger builds the logger; the returned closer closes the log file, if any.
func (l *logFlags) logger(env *cliEnv) (*slog.Logger, func(), error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, l.level)
	}
	var w io.Writer = env.stderr
	closer := func() {}
	if l.file != "" {
		f, err := os.OpenFile(l.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --log-file: %v", errUsage, err)
		}
		w, closer = f, func() { f.Close() }
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), closer, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), closer, nil
	}
	closer()
	return nil, nil, fmt.Errorf("%w: --log-format %q: use text or json", errUsage, l.format)
}
