package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

const healthcheckAbout = `Asks a running 'xsync sync' whether it is healthy: GET on its /healthz endpoint
(served with --metrics). Exit 0 when the answer is 200, 1 when it is anything else,
3 when the endpoint cannot be reached. Meant for container HEALTHCHECKs and exec
probes in images without curl (the xsync image is distroless).`

// runHealthcheck implements 'xsync healthcheck'.
func runHealthcheck(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "healthcheck", "xsync healthcheck [--url URL] [--timeout D]", healthcheckAbout)
	url := fs.String("url", "http://127.0.0.1:9121/healthz", "the /healthz URL of the xsync to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(env, fs, args); err != nil {
		return exitFor(env, err)
	}
	if fs.NArg() > 0 {
		return exitFor(env, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0)))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return exitFor(env, fmt.Errorf("%w: --url: %v", errUsage, err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(env.stderr, "xsync: healthcheck: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.stderr, "xsync: unhealthy: %s: %s\n", resp.Status, body)
		return exitDiffers
	}
	fmt.Fprintf(env.stdout, "%s", body)
	return exitOK
}
