package main

import (
	"flag"
	"fmt"

	"github.com/xsync/xsync/proxy/admin"
	"github.com/xsync/xsync/proxy/gateway"
	"github.com/xsync/xsync/proxy/listener"
	"github.com/xsync/xsync/proxy/metrics"
)

// listenerFlags protect the admin port and the metrics endpoint of xsync sync:
// TLS (and mutual TLS) on both, a bearer token for the metrics.
type listenerFlags struct {
	adminTLS     listener.TLSFiles
	metricsTLS   listener.TLSFiles
	metricsToken secretFlag
}

func (l *listenerFlags) register(fs *flag.FlagSet) {
	registerTLSFiles(fs, &l.adminTLS, "admin", "the admin port")
	registerTLSFiles(fs, &l.metricsTLS, "metrics", "the metrics endpoint (HTTPS)")
	l.metricsToken.register(fs, "metrics-token", "bearer token /metrics and /debug/pprof/ require (Authorization: Bearer TOKEN); needed off loopback unless --metrics-tls-client-ca is set", "XSYNC_METRICS_TOKEN")
}

// registerTLSFiles adds NAME-tls-cert, NAME-tls-key and NAME-tls-client-ca (tls-*
// when name is empty).
func registerTLSFiles(fs *flag.FlagSet, f *listener.TLSFiles, name, what string) {
	p := "tls-"
	if name != "" {
		p = name + "-tls-"
	}
	fs.StringVar(&f.Cert, p+"cert", "", "serve TLS on "+what+" with this certificate (PEM; with --"+p+"key)")
	fs.StringVar(&f.Key, p+"key", "", "key of --"+p+"cert (PEM)")
	fs.StringVar(&f.ClientCA, p+"client-ca", "", "mutual TLS on "+what+": clients must present a certificate signed by this CA (PEM)")
}

// listenerConfigs builds and checks the configurations of the listeners before
// anything is opened or connected: a configuration error is a usage error.
func (f *syncFlags) listenerConfigs(env *cliEnv) (acfg *admin.Config, mcfg *metrics.Config, err error) {
	usage := func(err error) error { return fmt.Errorf("%w: %v", errUsage, err) }
	if f.pprof && f.metrics == "" {
		return nil, nil, usage(fmt.Errorf("--pprof serves the profiles on the --metrics address: give --metrics too"))
	}
	if f.admin != "off" && f.admin != "" {
		pass, err := f.adminPassword.get(env)
		if err != nil {
			return nil, nil, err
		}
		acfg = &admin.Config{Addr: f.admin, Password: pass}
		if acfg.TLS, err = f.lsn.adminTLS.ServerConfig(); err != nil {
			return nil, nil, usage(err)
		}
		if err := acfg.Check(); err != nil {
			return nil, nil, usage(err)
		}
	}
	if f.metrics != "" {
		tok, err := f.lsn.metricsToken.get(env)
		if err != nil {
			return nil, nil, err
		}
		mcfg = &metrics.Config{Addr: f.metrics, Pprof: f.pprof, Token: tok}
		if mcfg.TLS, err = f.lsn.metricsTLS.ServerConfig(); err != nil {
			return nil, nil, usage(err)
		}
		if err := mcfg.Check(); err != nil {
			return nil, nil, usage(err)
		}
	}
	if f.gateway.addr != "" {
		pass, err := f.gateway.password.get(env)
		if err != nil {
			return nil, nil, err
		}
		gcfg := gateway.Config{Addr: f.gateway.addr, Password: pass}
		if err := f.gateway.limits.apply(&gcfg); err != nil {
			return nil, nil, err
		}
		if err := gcfg.Check(); err != nil {
			return nil, nil, usage(err)
		}
	}
	return acfg, mcfg, nil
}
