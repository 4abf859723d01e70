package redistest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// EnvVersions names the folder that holds servers of other versions, one folder per
// version named like "redis-4.0.14" or "valkey-8.0.1" with redis-server/redis-cli (or
// valkey-server/valkey-cli) inside. Default: ../shared/redis/ beside the project root
// (the folder holding go.mod).
const EnvVersions = "XSYNC_REDIS_VERSIONS"

// Versions lists the server versions the end-to-end tests know of, oldest first: the
// folders of ../shared/redis/ and Debian's redis-server 7.0 on $PATH.
var Versions = []string{"3.2", "4.0", "5.0", "6.2", "7.0", "7.2", "7.4", "valkey-8.0"}

// versionsDir returns the folder of the other versions' servers.
func versionsDir() string {
	if d := os.Getenv(EnvVersions); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "redis")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			return filepath.Join(filepath.Dir(d), "shared", "redis")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "..", "shared", "redis")
		}
	}
}

// splitVersion reads "4.0", "7.4.1", "valkey-8.0" or "redis-5.0" into the product
// ("redis" or "valkey") and the version prefix ("4.0").
func splitVersion(v string) (product, prefix string) {
	v = strings.ToLower(strings.TrimSpace(v))
	if p, rest, ok := strings.Cut(v, "-"); ok && (p == "redis" || p == "valkey") {
		return p, rest
	}
	return "redis", v
}

// errNoVersion reports that no server of the asked version was found.
var errNoVersion = errors.New("no such server")

// lookupVersion returns the path of the server of version want: the newest folder of
// versionsDir() whose name is product-prefix[.patch], else redis-server on $PATH when
// its version matches (Debian's 7.0).
func lookupVersion(want string) (string, error) {
	product, prefix := splitVersion(want)
	dir := versionsDir()
	entries, _ := os.ReadDir(dir)
	var found []string
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, product+"-")
		if !ok || (rest != prefix && !strings.HasPrefix(rest, prefix+".")) {
			continue
		}
		if bin := filepath.Join(dir, name, product+"-server"); fileExists(bin) {
			found = append(found, bin)
		}
	}
	if len(found) > 0 {
		sort.Strings(found)
		return found[len(found)-1], nil
	}
	if product == "redis" {
		if p, err := exec.LookPath("redis-server"); err == nil {
			if out, err := exec.Command(p, "--version").Output(); err == nil {
				if m := versionRE.FindSubmatch(out); m != nil {
					if v := string(m[1]) + "." + string(m[2]) + "." + string(m[3]); v == prefix || strings.HasPrefix(v, prefix+".") {
						return p, nil
					}
				}
			}
		}
	}
	return "", fmt.Errorf("%w: %s-%s in %s (set %s to the folder of the versions' servers; see ../shared/redis/README.md)", errNoVersion, product, prefix, dir, EnvVersions)
}

// NeedVersions skips the test (fails it when CI is set) unless every one of the
// versions is found, naming the folder where they are looked for.
func NeedVersions(tb interface {
	Helper()
	Skip(...any)
	Fatal(...any)
}, versions ...string) {
	tb.Helper()
	var miss []string
	for _, v := range versions {
		if _, err := lookupVersion(v); err != nil {
			miss = append(miss, v)
		}
	}
	if len(miss) == 0 {
		return
	}
	msg := fmt.Sprintf("xsync/redistest: servers of versions %s not found in %s (../shared/redis/ beside the project root, or $%s)", strings.Join(miss, ", "), versionsDir(), EnvVersions)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}
