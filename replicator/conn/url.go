package conn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is used for a seed written without a port.
const DefaultPort = "6379"

// ParseURL accepts redis://[user:pass@]host:port[,host:port...][/0] and the same with
// rediss:// for TLS, with the query options tls-ca, tls-cert, tls-key (file paths),
// tls-server-name, tls-insecure (true|false), dial-timeout and read-timeout (Go
// durations). It returns the seeds and Options without Addr (set it per node).
// User and password may be percent-encoded.
func ParseURL(u string) (seeds []string, o Options, err error) {
	bad := func(format string, a ...any) ([]string, Options, error) {
		return nil, Options{}, fmt.Errorf("%w: %s", ErrBadURL, fmt.Sprintf(format, a...))
	}
	var rest string
	var useTLS bool
	switch {
	case strings.HasPrefix(u, "redis://"):
		rest = u[len("redis://"):]
	case strings.HasPrefix(u, "rediss://"):
		rest, useTLS = u[len("rediss://"):], true
	default:
		return bad("%q: the URL must start with redis:// or rediss:// (TLS)", redact(u))
	}
	var rawQuery string
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, rawQuery = rest[:i], rest[i+1:]
	}
	// The user info may hold '/' or '@' only percent-encoded; the last '@' ends it.
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		info := rest[:i]
		rest = rest[i+1:]
		user, pass, hasPass := strings.Cut(info, ":")
		if o.Username, err = url.PathUnescape(user); err != nil {
			return bad("user name in %q: %v", redact(u), err)
		}
		if hasPass {
			if o.Password, err = url.PathUnescape(pass); err != nil {
				return bad("password in %q is not valid percent-encoding", redact(u))
			}
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if db := rest[i+1:]; db != "" && db != "0" {
			return bad("%q: database %q: only database 0 can be named (a replica receives every database)", redact(u), db)
		}
		rest = rest[:i]
	}
	if rest == "" {
		return bad("%q: no host:port", redact(u))
	}
	for _, h := range strings.Split(rest, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: "host" or "[::1]".
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), DefaultPort
		}
		if host == "" {
			return bad("%q: empty host in %q", redact(u), h)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return bad("%q: bad port in %q", redact(u), h)
		}
		seeds = append(seeds, net.JoinHostPort(host, port))
	}
	if len(seeds) == 0 {
		return bad("%q: no host:port", redact(u))
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("query of %q: %v", redact(u), err)
	}
	if err := applyQuery(&o, q, useTLS); err != nil {
		return nil, Options{}, err
	}
	return seeds, o, nil
}

// applyQuery reads the query options into o.
func applyQuery(o *Options, q url.Values, useTLS bool) error {
	var ca, cert, key, serverName string
	insecure := false
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "tls-ca":
			ca = v
		case "tls-cert":
			cert = v
		case "tls-key":
			key = v
		case "tls-server-name":
			serverName = v
		case "tls-insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%w: tls-insecure=%q: want true or false", ErrBadURL, v)
			}
			insecure = b
		case "dial-timeout", "read-timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%w: %s=%q: want a duration such as 5s", ErrBadURL, k, v)
			}
			if k == "dial-timeout" {
				o.DialTimeout = d
			} else {
				o.ReadTimeout = d
			}
		default:
			return fmt.Errorf("%w: unknown option %q (known: tls-ca, tls-cert, tls-key, tls-server-name, tls-insecure, dial-timeout, read-timeout)", ErrBadURL, k)
		}
		if strings.HasPrefix(k, "tls-") && !useTLS {
			return fmt.Errorf("%w: option %s needs TLS: write rediss:// instead of redis://", ErrBadURL, k)
		}
	}
	if !useTLS {
		return nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure} //nolint:gosec // tls-insecure is an explicit user choice
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Errorf("%w: tls-ca: %v", ErrBadURL, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%w: tls-ca %s holds no PEM certificate", ErrBadURL, ca)
		}
		tc.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return fmt.Errorf("%w: tls-cert and tls-key go together: give both or neither", ErrBadURL)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("%w: tls-cert/tls-key: %v", ErrBadURL, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	o.TLS = tc
	return nil
}

// redact hides the password of a URL for messages.
func redact(u string) string {
	at := strings.LastIndexByte(u, '@')
	start := strings.Index(u, "://")
	if at < 0 || start < 0 || at < start {
		return u
	}
	info := u[start+3 : at]
	if user, _, ok := strings.Cut(info, ":"); ok {
		return u[:start+3] + user + ":xxxxx" + u[at:]
	}
	return u
}
