// Command fixturegen regenerates the repository's test fixtures (testdata/rdb,
// testdata/psync, testdata/redis-assets) with real redis-server binaries of every
// version: it loads the fixture dataset, saves the RDB, takes a full resync as a
// replica while a client runs the workload, and writes what every server holds as
// JSON read with ordinary commands. scripts/fixtures.sh runs it; testdata/README.md
// describes the outputs.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fixturegen: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	redisDir := flag.String("redis", "../shared/redis", "folder of the redis-<version>/redis-server builds")
	system := flag.String("system", "redis-server", "the system's redis-server (Debian's 7.0.15)")
	out := flag.String("out", "testdata", "output folder (rdb/, psync/ and redis-assets/ are written under it)")
	versions := flag.String("versions", "4.0.14,5.0.14,6.2.16,7.0.15,7.2.6,7.4.1,valkey-8.0.1", "versions to generate, comma-separated: a Redis version, or valkey-<version>")
	assets := flag.String("assets", "", "folder of the Redis source tree's test RDB assets (tests/assets) to copy into redis-assets/; empty keeps the ones in -out")
	assetsWith := flag.String("assets-version", "7.4.1", "version whose server reads the assets for their JSON")
	flag.Parse()

	work, err := os.MkdirTemp("", "fixturegen-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(work)
	for _, sub := range []string{"rdb", "psync", "redis-assets"} {
		if err := os.MkdirAll(filepath.Join(*out, sub), 0o755); err != nil {
			fatalf("%v", err)
		}
	}
	for _, v := range strings.Split(*versions, ",") {
		bin, err := binaryFor(v, *redisDir, *system)
		if err != nil {
			fatalf("%v", err)
		}
		if err := generate(v, bin, work, *out); err != nil {
			fatalf("redis %s: %v", v, err)
		}
		l := label(v)
		fmt.Printf("%s: rdb/%s.{rdb,json} psync/%s.{bin,json,meta.json}\n", l, l, l)
	}
	bin, err := binaryFor(*assetsWith, *redisDir, *system)
	if err != nil {
		fatalf("%v", err)
	}
	if err := redisAssets(*assets, filepath.Join(*out, "redis-assets"), *assetsWith, bin, work); err != nil {
		fatalf("redis-assets: %v", err)
	}
}

var versionRE = regexp.MustCompile(`v=(\d+\.\d+\.\d+)`)

// label is the folder and file name of version v: "redis-7.4.1", "valkey-8.0.1".
func label(v string) string {
	if strings.HasPrefix(v, "valkey-") {
		return v
	}
	return "redis-" + v
}

// binaryFor finds redis-server of version v: <redisDir>/redis-<v>/redis-server,
// else the system's server when it is that version.
func binaryFor(v, redisDir, system string) (string, error) {
	p := filepath.Join(redisDir, label(v), "redis-server")
	if strings.HasPrefix(v, "valkey-") {
		p = filepath.Join(redisDir, v, "valkey-server")
	}
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	sys, err := exec.LookPath(system)
	if err == nil {
		outp, err := exec.Command(sys, "--version").Output()
		if m := versionRE.FindSubmatch(outp); err == nil && m != nil && string(m[1]) == v {
			return sys, nil
		}
	}
	return "", fmt.Errorf("no redis-server %s: not at %s nor as %s on PATH", v, p, system)
}

func generate(lv, bin, work, out string) error {
	s, err := startServer(label(lv), bin, work)
	if err != nil {
		return err
	}
	defer s.stop()
	c, err := dial(s.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	v, name := s.version, s.label
	payload := dumpPayload(c)
	loadDataset(c, v)
	c.must("SAVE")
	rdb, err := os.ReadFile(filepath.Join(s.dir, "dump.rdb"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "rdb", name+".rdb"), rdb, 0o644); err != nil {
		return err
	}
	if err := writeDump(c, v, filepath.Join(out, "rdb", name+".json")); err != nil {
		return err
	}
	cmds := workload(v, payload)
	cp, err := capturePsync(s, cmds)
	if err != nil {
		return err
	}
	base := filepath.Join(out, "psync", name)
	if err := os.WriteFile(base+".bin", cp.bin, 0o644); err != nil {
		return err
	}
	meta := *cp
	meta.Workload = make([][]string, len(cmds))
	for i, cmd := range cmds {
		meta.Workload[i] = make([]string, len(cmd))
		for j, a := range cmd {
			meta.Workload[i][j] = latin1(a)
		}
	}
	var mb bytes.Buffer
	enc := json.NewEncoder(&mb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(meta); err != nil {
		return err
	}
	if err := os.WriteFile(base+".meta.json", mb.Bytes(), 0o644); err != nil {
		return err
	}
	return writeDump(c, v, base+".json")
}

func writeDump(c *client, v, path string) error {
	var b bytes.Buffer
	if err := dumpJSON(c, v, &b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// redisAssets copies the Redis source tree's test RDB files (when from is set)
// and writes the JSON of each one that loads, as the server of version v loads it.
func redisAssets(from, dir, v, bin, work string) error {
	if from != "" {
		files, err := filepath.Glob(filepath.Join(from, "*.rdb"))
		if err != nil {
			return err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				return err
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.rdb"))
	if err != nil {
		return err
	}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "corrupt_") {
			continue
		}
		if err := assetJSON(f, v, bin, filepath.Join(work, "assets")); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("redis-assets/%s: json as redis %s loads it\n", name, v)
	}
	return nil
}

func assetJSON(f, v, bin, work string) error {
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	dir := filepath.Join(work, label(v))
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "dump.rdb"), b, 0o644); err != nil {
		return err
	}
	s, err := startServer(label(v), bin, work)
	if err != nil {
		return err
	}
	defer s.stop()
	c, err := dial(s.addr())
	if err != nil {
		return err
	}
	defer c.Close()
	return writeDump(c, s.version, strings.TrimSuffix(f, ".rdb")+".json")
}
