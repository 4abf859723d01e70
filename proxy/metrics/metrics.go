package metrics

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xsync/xsync/proxy/listener"
	"github.com/xsync/xsync/replicator"
)

// Statuser is what the endpoint reports: the replicator's status
// (replicator.Replicator implements it).
type Statuser interface {
	Status() replicator.Status
}

// Config configures the Prometheus endpoint.
type Config struct {
	// Addr to listen on, e.g. "127.0.0.1:9121". Required.
	Addr string
	// Registry to serve; the status collector is registered into it. Other packages
	// may register their own collectors (reply latencies) before Serve. Default: a
	// new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// StuckAfter is how long a shard may make no progress while behind (or stay
	// disconnected) before /healthz fails. Default 60s.
	StuckAfter time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Pprof serves net/http/pprof under /debug/pprof/ too (go tool pprof
	// http://ADDR/debug/pprof/profile?seconds=30). The cmdline profile is never
	// served: it would show every password given on the command line.
	Pprof bool
	// Token, when set, is required as "Authorization: Bearer TOKEN" by /metrics
	// and /debug/pprof/ (/healthz stays open: it tells only ok or why not).
	// Default none.
	Token string
	// TLS, when set, serves HTTPS; with a client CA (ClientAuth
	// RequireAndVerifyClientCert) only clients with a certificate it signed get
	// in. Default plain HTTP.
	TLS *tls.Config
}

// Check rejects a configuration that would expose the endpoint: off loopback
// it needs a Token or mutual TLS. It opens nothing.
func (c *Config) Check() error {
	if c.Addr == "" {
		return errors.New("xsync/metrics: metrics address is empty")
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("xsync/metrics: metrics address %q: %w", c.Addr, err)
	}
	if !listener.IsLoopback(host) && c.Token == "" && !listener.MutualTLS(c.TLS) {
		what := "the metrics endpoint"
		if c.Pprof {
			what += " (and --pprof's profiles)"
		}
		return fmt.Errorf("xsync/metrics: %s on %s is not on loopback: set --metrics-token (a bearer token) or --metrics-tls-client-ca (mutual TLS), or bind it to 127.0.0.1", what, c.Addr)
	}
	return nil
}

// Server serves /metrics and /healthz.
type Server struct {
	cfg   Config
	ctl   Statuser
	ln    net.Listener
	srv   *http.Server
	stuck *stuckDetector
}

// New listens on cfg.Addr.
func New(cfg Config, ctl Statuser) (*Server, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if cfg.StuckAfter == 0 {
		cfg.StuckAfter = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Registry.Register(&statusCollector{ctl: ctl}); err != nil {
		return nil, fmt.Errorf("xsync/metrics: metrics: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("xsync/metrics: metrics port: %w (choose another --metrics)", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	m := &Server{cfg: cfg, ctl: ctl, ln: ln, stuck: &stuckDetector{after: cfg.StuckAfter, seen: map[int]progress{}}}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.guard(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("/healthz", m.healthz)
	if cfg.Pprof {
		mux.Handle("/debug/pprof/", m.guard(http.HandlerFunc(pprof.Index)))
		// Never /debug/pprof/cmdline: os.Args holds the passwords of URLs and flags.
		mux.Handle("/debug/pprof/cmdline", http.NotFoundHandler())
		mux.Handle("/debug/pprof/profile", m.guard(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/symbol", m.guard(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("/debug/pprof/trace", m.guard(http.HandlerFunc(pprof.Trace)))
	}
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return m, nil
}

// Addr is the address the endpoint listens on.
func (m *Server) Addr() string { return m.ln.Addr().String() }

// Serve answers until ctx is cancelled.
func (m *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.srv.Shutdown(sctx)
	})
	defer stop()
	err := m.srv.Serve(m.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// guard requires the bearer token, when one is configured.
func (m *Server) guard(h http.Handler) http.Handler {
	if m.cfg.Token == "" {
		return h
	}
	want := []byte("Bearer " + m.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="xsync"`)
			http.Error(w, "xsync/metrics: a bearer token is required (Authorization: Bearer ...)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	st := m.ctl.Status()
	if msg := destLossUnhealthy(st); msg != "" {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	if msg := m.stuck.check(st, time.Now()); msg != "" {
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintf(w, "ok: state %s, %d shards, lag %d bytes\n", st.State, len(st.Shards), st.LagBytes)
}

// stuckDetector tells a shard that is behind and makes no progress, or stays
// disconnected, for longer than after.
type stuckDetector struct {
	mu    sync.Mutex
	after time.Duration
	seen  map[int]progress
}

type progress struct {
	applied, bytes int64
	state          replicator.State
	since          time.Time
}

func (d *stuckDetector) check(st replicator.Status, now time.Time) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st.State == replicator.StateStopped {
		return "stopped"
	}
	for _, sh := range st.Shards {
		p, ok := d.seen[sh.Index]
		if !ok || p.applied != sh.AppliedOffset || p.bytes != sh.BytesDone || p.state != sh.State {
			d.seen[sh.Index] = progress{sh.AppliedOffset, sh.BytesDone, sh.State, now}
			continue
		}
		idle := now.Sub(p.since)
		if idle < d.after || st.State == replicator.StatePaused {
			continue
		}
		if sh.State == replicator.StateReconnecting || sh.State == replicator.StateHandshake {
			return fmt.Sprintf("shard %d (%s) has been %s for %s", sh.Index, sh.Addr, sh.State, idle.Round(time.Second))
		}
		if sh.LagBytes > 0 {
			return fmt.Sprintf("shard %d (%s) is %d bytes behind and has not progressed for %s", sh.Index, sh.Addr, sh.LagBytes, idle.Round(time.Second))
		}
	}
	return ""
}

// statusCollector turns the replicator's status into metrics at scrape time, so the
// figures are the ones INFO shows, with no second bookkeeping.
type statusCollector struct{ ctl Statuser }

var (
	descState      = prometheus.NewDesc("xsync_shard_state", "1 for the state the source shard is in.", []string{"shard", "addr", "state"}, nil)
	descReceived   = prometheus.NewDesc("xsync_received_offset", "Replication offset received from the source shard.", []string{"shard"}, nil)
	descApplied    = prometheus.NewDesc("xsync_applied_offset", "Replication offset applied to the destination.", []string{"shard"}, nil)
	descLagBytes   = prometheus.NewDesc("xsync_lag_bytes", "Source offset minus applied offset.", []string{"shard"}, nil)
	descLagSeconds = prometheus.NewDesc("xsync_lag_seconds", "Age of the oldest received command not yet applied.", []string{"shard"}, nil)
	descKeysDone   = prometheus.NewDesc("xsync_fullsync_keys_done", "Keys applied during full sync.", []string{"shard"}, nil)
	descKeysTotal  = prometheus.NewDesc("xsync_fullsync_keys_total", "Keys to apply during full sync (estimate).", []string{"shard"}, nil)
	descBytesDone  = prometheus.NewDesc("xsync_fullsync_bytes_done", "Snapshot bytes read.", []string{"shard"}, nil)
	descOps        = prometheus.NewDesc("xsync_ops_submitted_total", "Operations handed to the destination for the shard.", []string{"shard"}, nil)
	descOpsBare    = prometheus.NewDesc("xsync_ops_without_checkpoint_total", "Stream operations sent without their slot's checkpoint (assignments: SET, DEL, UNLINK), for the shard.", []string{"shard"}, nil)
	descOpsApplied = prometheus.NewDesc("xsync_ops_applied_total", "Operations acknowledged by the destination, all shards.", nil, nil)
	descErrors     = prometheus.NewDesc("xsync_errors_total", "Errors counted for the shard.", []string{"shard"}, nil)
	descFullSyncs  = prometheus.NewDesc("xsync_full_syncs_total", "Full syncs done by the shard.", []string{"shard"}, nil)
	descBarrierErr = prometheus.NewDesc("xsync_barrier_errors_total", "Emulated commands and other barriers the destination refused.", nil, nil)
	descDowngrade  = prometheus.NewDesc("xsync_downgrade_dropped_total", "What the destination's version cannot hold, left out under --downgrade drop, for the shard.", []string{"shard"}, nil)
	descDestErrors = prometheus.NewDesc("xsync_dest_errors_total", "Destination error replies by kind.", []string{"kind"}, nil)
	descRetries    = prometheus.NewDesc("xsync_dest_retries_total", "Destination writes retried, by cause.", []string{"kind"}, nil)
)

// ReplyLatency registers the histogram of destination reply latencies in reg and
// returns the observer to pass to the applier (apply.Config.OnReply).
func ReplyLatency(reg prometheus.Registerer) func(node string, d time.Duration) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "xsync_dest_reply_latency_seconds",
		Help:    "Time from writing a batch to a destination master to the reply of each write in it.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs to ~3.3s
	}, []string{"node"})
	reg.MustRegister(h)
	// Called for every op acknowledged: the observers are looked up without a
	// lock in a map that is copied when a node is new.
	var mu sync.Mutex
	var obs atomic.Pointer[map[string]prometheus.Observer]
	obs.Store(&map[string]prometheus.Observer{})
	return func(node string, d time.Duration) {
		o, ok := (*obs.Load())[node]
		if !ok {
			mu.Lock()
			m := *obs.Load()
			if o, ok = m[node]; !ok {
				o = h.WithLabelValues(node)
				n := maps.Clone(m)
				n[node] = o
				obs.Store(&n)
			}
			mu.Unlock()
		}
		o.Observe(d.Seconds())
	}
}

var allStates = []replicator.State{replicator.StateHandshake, replicator.StateFullSync, replicator.StateStream, replicator.StateReconnecting, replicator.StatePaused, replicator.StateStopped}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descReceived, descApplied, descLagBytes, descLagSeconds, descKeysDone, descKeysTotal, descBytesDone, descOps, descOpsBare, descOpsApplied, descDestErrors, descBarrierErr, descRetries, descErrors, descFullSyncs, descDowngrade} {
		ch <- d
	}
	describeDestLoss(ch)
	describeScan(ch)
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ctl.Status()
	collectDestLoss(ch, st)
	collectScan(ch, st)
	ch <- prometheus.MustNewConstMetric(descOpsApplied, prometheus.CounterValue, float64(st.OpsApplied))
	ch <- prometheus.MustNewConstMetric(descBarrierErr, prometheus.CounterValue, float64(st.BarrierErrors))
	for k, n := range st.DestErrors {
		ch <- prometheus.MustNewConstMetric(descDestErrors, prometheus.CounterValue, float64(n), k)
	}
	for k, n := range st.DestRetries {
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(n), k)
	}
	for _, sh := range st.Shards {
		id := strconv.Itoa(sh.Index)
		for _, s := range allStates {
			v := 0.0
			if s == sh.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, id, sh.Addr, string(s))
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, id)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, id)
		}
		gauge(descReceived, float64(sh.ReceivedOffset))
		gauge(descApplied, float64(sh.AppliedOffset))
		gauge(descLagBytes, float64(sh.LagBytes))
		gauge(descLagSeconds, sh.LagSeconds)
		gauge(descKeysDone, float64(sh.KeysDone))
		gauge(descKeysTotal, float64(sh.KeysTotal))
		gauge(descBytesDone, float64(sh.BytesDone))
		counter(descOps, float64(sh.OpsSubmitted))
		counter(descOpsBare, float64(sh.OpsWithoutCheckpoint))
		counter(descErrors, float64(sh.Errors))
		counter(descFullSyncs, float64(sh.FullSyncs))
		counter(descDowngrade, float64(sh.DowngradeDropped))
	}
}
