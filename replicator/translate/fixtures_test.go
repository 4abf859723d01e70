package translate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xsync/xsync/internal/fixtures"
	"github.com/xsync/xsync/internal/redistest"
	"github.com/xsync/xsync/resp"
)

// streamCmd is one command of a captured replication stream and the db
// selected when it ran.
type streamCmd struct {
	db   int
	args [][]byte
	end  int64 // offset after the command
}

// fixtureStream reads the command stream at the end of psync/redis-<v>.bin.
func fixtureStream(t *testing.T, v string) []streamCmd {
	t.Helper()
	dir := filepath.Join(fixtures.Dir(t), "psync")
	var meta struct {
		StreamBytes int64 `json:"stream_bytes"`
	}
	mb, err := os.ReadFile(filepath.Join(dir, "redis-"+v+".meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &meta); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "redis-"+v+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	s := bin[int64(len(bin))-meta.StreamBytes:]
	var out []streamCmd
	db := 0
	for pos := 0; pos < len(s); {
		args, n, err := resp.ParseCommand(s[pos:], nil, nil)
		if err != nil {
			t.Fatalf("%s: stream at %d: %v", v, pos, err)
		}
		pos += n
		if len(args) == 0 {
			continue
		}
		if len(args) == 2 && strings.EqualFold(string(args[0]), "select") {
			if n, ok := parseInt(args[1]); ok {
				db = int(n)
			}
		}
		out = append(out, streamCmd{db: db, args: args, end: int64(pos)})
	}
	return out
}

var fixtureVersions = []string{"4.0.14", "5.0.14", "6.2.16", "7.0.15", "7.2.6", "7.4.1"}

// fixtureConfig maps the dbs the workloads use to prefixes. The destination
// (7.0 by default) drops the 7.4 stream's hash field expires (TestDowngradeArgs).
func fixtureConfig() Config {
	return Config{SourceKind: SourceStandalone, SwapDB: Ignore, Downgrade: Ignore,
		DBs: map[int]Target{0: {}, 3: {Prefix: "db3:"}, 5: {Prefix: "db5:"}}}
}

// TestFixtureStreams translates what every Redis version really put on the
// wire: no command is unknown or malformed, and the version differences show.
func TestFixtureStreams(t *testing.T) {
	for _, v := range fixtureVersions {
		t.Run(v, func(t *testing.T) {
			cmds := fixtureStream(t, v)
			tr, err := New(fixtureConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				if _, err := tr.Translate(c.db, c.args, c.end, time.Now()); err != nil {
					t.Fatalf("%q: %v", c.args[0], err)
				}
			}
			s := tr.Stats()
			if s.Unknown != 0 || s.Mixed != 0 || tr.InTransaction() {
				t.Errorf("stats %+v, in transaction %v", s, tr.InTransaction())
			}
			// db 6 and 7 are not synced: SET in db 6 and SWAPDB 6 7 are filtered.
			if s.Flushes != 1 || s.Filtered != 2 || s.Emulated == 0 || s.Split == 0 {
				t.Errorf("want one FLUSHDB, two filtered commands, emulations and splits: %+v", s)
			}
		})
	}
}

// TestFixtureReplay applies the streams of the versions a 7.0 server can load
// (4.0 to 7.0; the later ones carry RDB 11/12 RESTORE payloads) raw to a
// standalone server and translated to a 3-master cluster, and compares the
// keys of db 0, 3 and 5 (db 3 and 5 under their prefixes).
func TestFixtureReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref := redistest.Start(t, redistest.Options{}).Client()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Masters: 3})
	dest := testDest{c: cl.Client()}
	for _, v := range fixtureVersions[:4] {
		t.Run(v, func(t *testing.T) {
			if err := ref.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			ref.FunctionFlush(ctx)
			if err := dest.c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
				n.FunctionFlush(ctx)
				return n.FlushAll(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
			tr, err := New(fixtureConfig())
			if err != nil {
				t.Fatal(err)
			}
			conn := ref.Conn()
			defer conn.Close()
			for _, c := range fixtureStream(t, v) {
				name := strings.ToLower(string(c.args[0]))
				if name != "ping" && name != "replconf" {
					err := conn.Do(ctx, anyArgs(c.args)...).Err()
					if err != nil && !errors.Is(err, redis.Nil) {
						t.Fatalf("reference %q: %v", c.args, err)
					}
				}
				ops, err := tr.Translate(c.db, c.args, c.end, time.Now())
				if err != nil {
					t.Fatalf("%q: %v", c.args, err)
				}
				dest.apply(ctx, t, ops)
			}
			compared := 0
			for _, db := range []int{0, 3, 5} {
				prefix := map[int]string{0: "", 3: "db3:", 5: "db5:"}[db]
				if err := conn.Select(ctx, db).Err(); err != nil {
					t.Fatal(err)
				}
				keys := conn.Keys(ctx, "*").Val()
				slices.Sort(keys)
				for _, k := range keys {
					compared++
					want := snapshotKey(ctx, conn, k)
					if got := snapshotKey(ctx, dest.c, prefix+k); got != want {
						t.Errorf("db %d key %q: cluster %s, standalone %s", db, k, got, want)
					}
				}
			}
			conn.Select(ctx, 0)
			total := dest.c.DBSize(ctx).Val() // go-redis sums every master
			if int(total) != compared || compared < 40 {
				t.Errorf("cluster holds %d keys, the reference %d (db 0, 3, 5)", total, compared)
			}
		})
	}
}
