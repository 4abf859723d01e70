package redistest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/xsync/xsync/replicator/redisver"
)

// Environment variables that choose the binaries.
const (
	EnvServer = "XSYNC_REDIS_SERVER" // path of redis-server; default: redis-server in $PATH
	EnvCLI    = "XSYNC_REDIS_CLI"    // path of redis-cli; default: beside redis-server, then $PATH
)

// Version is a redis-server version: the project's one Version type, named here too
// so that tests keep writing redistest.Version (redisver imports nothing of ours, so
// importing it here makes no cycle).
type Version = redisver.Version

var versionRE = regexp.MustCompile(`v=(\d+)\.(\d+)\.(\d+)`)

// binaries holds the paths and version found for one Start or StartCluster.
type binaries struct {
	server  string
	cli     string
	version Version
	valkey  bool // valkey-server ("Valkey server v=8.0.1 ...")
}

// missing fails the test when CI is set and skips it otherwise.
func missing(tb testing.TB, what string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("xsync/redistest: %s not found (%v): install it with `apt-get install redis-server` or set %s/%s", what, err, EnvServer, EnvCLI)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// findBinaries locates redis-server (and redis-cli when needCLI) and reads the
// version: Options.Binary, else the server of Options.Version (see lookupVersion),
// else $XSYNC_REDIS_SERVER, else redis-server on $PATH.
func findBinaries(tb testing.TB, opts Options, needCLI bool) binaries {
	tb.Helper()
	if testing.Short() {
		tb.Skip("xsync/redistest: -short runs no real redis-server (end-to-end test); run without -short")
	}
	var b binaries
	name := opts.Binary
	if name == "" && opts.Version != "" {
		p, err := lookupVersion(opts.Version)
		if err != nil {
			missing(tb, "redis-server "+opts.Version, err)
			return b
		}
		name = p
	}
	if name == "" {
		name = os.Getenv(EnvServer)
	}
	if name == "" {
		name = "redis-server"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		missing(tb, "redis-server", err)
		return b
	}
	b.server = p
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		tb.Fatalf("xsync/redistest: %s --version: %v", p, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("xsync/redistest: cannot read the version in %q", out)
	}
	b.version.Major, _ = strconv.Atoi(string(m[1]))
	b.version.Minor, _ = strconv.Atoi(string(m[2]))
	b.version.Patch, _ = strconv.Atoi(string(m[3]))
	b.valkey = bytes.HasPrefix(out, []byte("Valkey"))
	if needCLI {
		b.cli = findCLI(tb, p, b.version)
	}
	return b
}

// findCLI finds the CLI for server: $XSYNC_REDIS_CLI, else the one beside it, else
// redis-cli on $PATH. Before 5.0 redis-cli has no --cluster (redis-trib.rb did that
// job), so for those servers the one on $PATH comes first: its --cluster commands
// (reshard, add-node) speak to 3.0+ servers.
func findCLI(tb testing.TB, server string, v Version) string {
	tb.Helper()
	if c := os.Getenv(EnvCLI); c != "" {
		p, err := exec.LookPath(c)
		if err != nil {
			missing(tb, "redis-cli", err)
		}
		return p
	}
	if !v.AtLeast(5, 0) {
		if p, err := exec.LookPath("redis-cli"); err == nil {
			return p
		}
	}
	for _, name := range []string{"redis-cli", "valkey-cli"} {
		if c := filepath.Join(filepath.Dir(server), name); fileExists(c) {
			return c
		}
	}
	p, err := exec.LookPath("redis-cli")
	if err != nil {
		missing(tb, "redis-cli", err)
	}
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
