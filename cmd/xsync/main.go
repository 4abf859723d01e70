// Command xsync keeps a destination Redis Cluster in step with a live source Redis
// (a cluster or a standalone server): full sync, then incremental sync, applied per
// hash slot. This package holds flags, the config file, wiring and signals only; the
// logic lives in the replicator, slots, resp and proxy packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes. Scripts rely on them; keep them stable.
const (
	exitOK      = 0 // success; for verify and check: everything equal / passed
	exitDiffers = 1 // verify found differences, check found a failing precheck
	exitUsage   = 2 // bad flags, bad config file, bad URL
	exitFailed  = 3 // the job failed: unreachable node, auth, a destination error under policy stop, corrupt input
	// exitLostLead (4, ha.go): sync --ha-lease led and lost the lead (the Lease, or
	// fenced by a newer leader); restarted, the process stands by again.
)

// command is one subcommand of xsync.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) int
}

// cliEnv is what a subcommand may use from the process: streams and environment.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"sync", "replicate a source Redis (cluster or standalone) into a destination, full then incremental", runSync},
		{"check", "run the prechecks of a sync without writing anything", runCheck},
		{"verify", "compare source and destination key by key and report what differs", runVerify},
		{"rdb", "decode an RDB file and print its keys as JSON or as the commands that recreate them", runRDB},
		{"reset", "remove the keys xsync keeps for itself (checkpoints) from a destination", runReset},
		{"gateway", "serve clients as one Redis, forward by slot to the source, follow a cutover to the target", runGateway},
		{"healthcheck", "ask a running sync's /healthz endpoint (for container probes; exit 0 healthy)", runHealthcheck},
		{"version", "print the version", runVersion},
	}
}

const mainUsage = `xsync moves and mirrors live Redis data: it poses as a replica to every master of a
source (a Redis Cluster or a standalone server), streams the snapshot and then the
replication stream, and applies both to a destination cluster, routed by hash slot.

Usage:
  xsync <command> [flags]

Commands:
%s
Run 'xsync <command> --help' for the flags of a command. Every flag can also be set in
a YAML config file (--config FILE) under the same name.

Exit codes: 0 ok (for sync: stopped cleanly by SIGINT/SIGTERM); 1 differences found
(verify) or a precheck failed (check); 2 usage or configuration error; 3 the job failed;
4 (sync --ha-lease) this process led and another one leads now: restart it to stand by.
`

func usage(w io.Writer) {
	var list string
	for _, c := range commands() {
		list += fmt.Sprintf("  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, list)
}

func main() {
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 {
		usage(env.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		usage(env.stdout)
		return exitOK
	case "-v", "--version":
		return runVersion(ctx, env, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "xsync: unknown command %q\n\n", args[0])
	usage(env.stderr)
	return exitUsage
}

func runVersion(_ context.Context, env *cliEnv, _ []string) int {
	fmt.Fprintf(env.stdout, "xsync %s\n", version)
	return exitOK
}

// errUsage marks errors that are the caller's to fix (flags, config, URLs).
var errUsage = errors.New("usage")
