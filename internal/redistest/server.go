package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options configure a standalone server (and, through ClusterOptions, cluster nodes).
type Options struct {
	// Config holds extra redis.conf lines ("maxmemory 64mb", "repl-backlog-size 1mb"),
	// written after the defaults, so they win where Redis keeps the last value.
	Config []string
	// Password sets requirepass (and masterauth, so replicas can sync). Default: none.
	Password string
	// Users adds ACL users (redis-server 6.0+). Default: none.
	Users []User
	// TLS serves TLS only (port 0, tls-port P), with tls-replication and, in
	// clusters, tls-cluster. Default: plain TCP.
	TLS bool
	// TLSAuth sets tls-auth-clients. Default: TLSAuthYes.
	TLSAuth TLSAuth
	// TLSFiles are the certificates to serve; default: generated into the server's dir.
	TLSFiles *TLSFiles
	// Binary is the redis-server to run. Default: the server of Version, else
	// $XSYNC_REDIS_SERVER, then $PATH.
	Binary string
	// Version picks the server by version: "3.2", "4.0", "5.0", "6.2", "7.0" (Debian's
	// on $PATH), "7.2", "7.4", "valkey-8.0" (see Versions), looked up in
	// ../shared/redis/ beside the project root or $XSYNC_REDIS_VERSIONS. The test is
	// skipped (failed when CI is set) when it is missing. Default: "" (see Binary).
	Version string
	// StartTimeout bounds the wait for the server to answer. Default: 20s.
	StartTimeout time.Duration
	// NoReplication stands in for a managed service (ElastiCache, MemoryDB, Azure
	// Cache, Memorystore): SYNC, PSYNC and REPLCONF are renamed to "" (redis.conf
	// rename-command), so a client asking for them gets "unknown command", as
	// those services answer. A node of such a server cannot be a replica itself
	// (its master refuses its PSYNC): use it for masters without replicas.
	NoReplication bool
	// LogLines is how many lines of the server log are printed when the test failed.
	// Default: 40; negative: none.
	LogLines int
}

// User is an ACL user: "user <Name> on ><Password> <Rules>".
type User struct {
	Name     string
	Password string
	Rules    string // default "~* &* +@all"
}

// Server is one redis-server process.
type Server struct {
	tb      testing.TB
	opts    Options
	bin     binaries
	cluster []string // extra lines for cluster nodes; nil for standalone
	dir     string
	conf    string
	logFile string
	tls     *TLSFiles

	mu     sync.Mutex
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	client *redis.Client
	id     string // cluster node id, cached
}

// errPortBusy reports that the server could not bind its port.
var errPortBusy = errors.New("xsync/redistest: port already in use")

// Start starts a standalone redis-server and stops it when the test ends. It fails the
// test when the server does not come up.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin := findBinaries(tb, opts, false)
	return start(tb, opts, bin, nil)
}

func start(tb testing.TB, opts Options, bin binaries, cluster []string) *Server {
	tb.Helper()
	if opts.TLSAuth == "" {
		opts.TLSAuth = TLSAuthYes
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 20 * time.Second
	}
	if opts.LogLines == 0 {
		opts.LogLines = 40
	}
	s := &Server{tb: tb, opts: opts, bin: bin, cluster: cluster, dir: tb.TempDir()}
	s.conf = filepath.Join(s.dir, "redis.conf")
	s.logFile = filepath.Join(s.dir, "redis.log")
	if opts.TLS {
		s.tls = opts.TLSFiles
		if s.tls == nil {
			s.tls = NewTLSFiles(tb, s.dir)
		}
	}
	tb.Cleanup(s.cleanup)
	var err error
	for range 20 {
		var port int
		if port, err = freePort(cluster != nil); err != nil {
			break
		}
		if err = s.launch(port); !errors.Is(err, errPortBusy) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("xsync/redistest: start redis-server: %v\n%s", err, s.LogTail(20))
	}
	return s
}

// configLines returns redis.conf for the given port.
func (s *Server) configLines(port int) []string {
	v := s.bin.version
	l := []string{
		"bind 127.0.0.1",
		"dir " + s.dir,
		"logfile " + s.logFile,
		"daemonize no",
		`save ""`,
		"appendonly no",
		"protected-mode no",
		"repl-diskless-sync-delay 0",
	}
	if v.AtLeast(7, 0) { // DEBUG is refused by default from 7.0 (config.c)
		l = append(l, "enable-debug-command yes")
	}
	if s.tls != nil {
		l = append(l, "port 0", "tls-port "+strconv.Itoa(port),
			"tls-cert-file "+s.tls.ServerCert, "tls-key-file "+s.tls.ServerKey,
			"tls-ca-cert-file "+s.tls.CACert, "tls-auth-clients "+string(s.opts.TLSAuth),
			"tls-replication yes")
		if s.cluster != nil {
			l = append(l, "tls-cluster yes")
		}
	} else {
		l = append(l, "port "+strconv.Itoa(port))
	}
	if p := s.opts.Password; p != "" {
		l = append(l, "requirepass "+quote(p), "masterauth "+quote(p))
	}
	for _, u := range s.opts.Users {
		rules := u.Rules
		if rules == "" {
			rules = "~* &* +@all"
		}
		l = append(l, fmt.Sprintf("user %s on >%s %s", u.Name, u.Password, rules))
	}
	l = append(l, s.cluster...)
	if s.opts.NoReplication {
		l = append(l, `rename-command SYNC ""`, `rename-command PSYNC ""`, `rename-command REPLCONF ""`)
	}
	for _, c := range s.opts.Config {
		l = append(l, configFor(v, c))
	}
	return l
}

// configFor renames a redis.conf line for servers older than 5.0, which know the
// replica-* settings (replica-read-only, replica-serve-stale-data, ...) and
// replicaof by their former names slave-* and slaveof (5.0's config.c keeps both).
func configFor(v Version, line string) string {
	if v.AtLeast(5, 0) {
		return line
	}
	if rest, ok := strings.CutPrefix(line, "replicaof "); ok {
		return "slaveof " + rest
	}
	if rest, ok := strings.CutPrefix(line, "replica-"); ok {
		return "slave-" + rest
	}
	return line
}

// quote makes a redis.conf string argument.
func quote(s string) string { return strconv.Quote(s) }

// launch writes the config for port, runs the server and waits until it answers.
func (s *Server) launch(port int) error {
	conf := strings.Join(s.configLines(port), "\n") + "\n"
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("xsync/redistest: write config: %w", err)
	}
	logStart := fileSize(s.logFile)
	cmd := exec.Command(s.bin.server, s.conf)
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("xsync/redistest: run %s: %w", s.bin.server, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.port, s.cmd, s.exited = port, cmd, exited
	s.mu.Unlock()

	err := s.waitReady(cmd.Process.Pid, exited)
	if err == nil {
		return nil
	}
	s.killProcess()
	out := stderr.String() + readFrom(s.logFile, logStart)
	if strings.Contains(out, "Address already in use") {
		return fmt.Errorf("%w: %d", errPortBusy, port)
	}
	return fmt.Errorf("%w\n%s", err, lastLines(out, 20))
}

// waitReady polls the port until the server with our pid answers.
func (s *Server) waitReady(pid int, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StartTimeout)
	defer cancel()
	go func() { // stop a probe that hangs on someone else's listener when ours exits
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	o := s.ClientOptions()
	o.DialTimeout, o.ReadTimeout, o.MaxRetries, o.PoolSize = time.Second, time.Second, -1, 1
	c := redis.NewClient(o)
	defer c.Close()
	want := "process_id:" + strconv.Itoa(pid) + "\r"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := c.Info(ctx, "server").Result()
		if err == nil && strings.Contains(info, want) {
			return nil
		}
		select {
		case <-exited:
			return errors.New("xsync/redistest: redis-server exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("xsync/redistest: redis-server did not answer within %v (last error: %v)", s.opts.StartTimeout, err)
		case <-tick.C:
		}
	}
}

// ClientOptions returns new go-redis options for this server (password, TLS, RESP2).
func (s *Server) ClientOptions() *redis.Options {
	o := &redis.Options{
		Addr:                     s.Addr(),
		Password:                 s.opts.Password,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if s.tls != nil {
		o.TLSConfig = s.tls.ClientConfig()
	}
	return o
}

// Client returns a go-redis client for this server, closed when the test ends. It
// reconnects by itself after Restart.
func (s *Server) Client() *redis.Client {
	o := s.ClientOptions()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		s.client = redis.NewClient(o)
	}
	return s.client
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())) }

// Port returns the port the server listens on (its TLS port with TLS).
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// URL returns redis://[:password@]127.0.0.1:port, or rediss://... with the query
// parameters tls-ca, tls-cert and tls-key naming the client certificate files.
func (s *Server) URL() string {
	u := url.URL{Scheme: "redis", Host: s.Addr()}
	if s.opts.Password != "" {
		u.User = url.UserPassword("", s.opts.Password)
	}
	if s.tls != nil {
		u.Scheme = "rediss"
		q := url.Values{}
		q.Set("tls-ca", s.tls.CACert)
		q.Set("tls-cert", s.tls.ClientCert)
		q.Set("tls-key", s.tls.ClientKey)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Dir returns the server's working directory (config, log, nodes.conf).
func (s *Server) Dir() string { return s.dir }

// ConfigFile returns the path of the server's redis.conf.
func (s *Server) ConfigFile() string { return s.conf }

// LogFile returns the path of the server's log.
func (s *Server) LogFile() string { return s.logFile }

// Version returns the redis-server version.
func (s *Server) Version() Version { return s.bin.version }

// Valkey reports whether the server is valkey-server.
func (s *Server) Valkey() bool { return s.bin.valkey }

// Product returns "valkey" or "redis".
func (s *Server) Product() string {
	if s.bin.valkey {
		return "valkey"
	}
	return "redis"
}

// Password returns the requirepass password ("" when none).
func (s *Server) Password() string { return s.opts.Password }

// TLS returns the certificate files, or nil without TLS.
func (s *Server) TLS() *TLSFiles { return s.tls }

// Pid returns the process id, or 0 when the server is not running.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Running reports whether the process is alive (it may not answer yet, or any more).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runningLocked()
}

func (s *Server) runningLocked() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the server's process group and waits for it to exit.
func (s *Server) Kill() error {
	s.killProcess()
	return nil
}

func (s *Server) killProcess() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return // never signal a pid that may have been reused
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
	<-exited
}

// Stop shuts the server down with SIGTERM (nothing is saved: save "") and waits for
// it to exit, killing it after 10s.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // forked children, if any
		return nil
	case <-time.After(10 * time.Second):
		s.killProcess()
		return fmt.Errorf("xsync/redistest: %s did not stop within 10s after SIGTERM; killed", s.Addr())
	}
}

// Restart stops the server (when running) and starts it again on the same port, dir
// and config; a cluster node keeps its nodes.conf and rejoins.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	var err error
	for range 50 { // the port may be held for a moment by a racing process
		if err = s.launch(s.Port()); !errors.Is(err, errPortBusy) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("xsync/redistest: restart %s: %w", s.Addr(), err)
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string {
	return lastLines(readFrom(s.logFile, 0), n)
}

func (s *Server) cleanup() {
	s.killProcess()
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	if s.tb.Failed() && s.opts.LogLines > 0 {
		s.tb.Logf("xsync/redistest: last lines of the log of redis-server %s (%s):\n%s", s.Addr(), s.dir, s.LogTail(s.opts.LogLines))
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func readFrom(p string, off int64) string {
	b, err := os.ReadFile(p)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
