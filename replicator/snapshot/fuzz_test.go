package snapshot

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/fixtures"
	"github.com/xsync/xsync/replicator/rdb"
	"github.com/xsync/xsync/resp"
)

// FuzzConvert checks that whatever the decoder accepts turns into well-formed
// commands within the limits.
func FuzzConvert(f *testing.F) {
	if dir, err := fixtures.Find(); err == nil {
		m, _ := filepath.Glob(filepath.Join(dir, "redis-assets", "*.rdb"))
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil && len(b) < 4096 {
				f.Add(b)
			}
		}
	}
	f.Add(oneKey(9, nil, rdb.TypeList, "l", listRaw(30)))
	f.Add(oneKey(9, expireMS(4102444800000), rdb.TypeString, "k", appendStr(nil, "hello")))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, mode := range []Mode{ModeAuto, ModeCommands} {
			opts := Options{Mode: mode, MaxBytes: 2048, MaxElements: 5,
				Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) }}
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			d := rdb.NewDecoder(bytes.NewReader(in), rdb.Options{IgnoreChecksum: true, RawLimit: 512})
			ver, _ := d.Version()
			for {
				rec, err := d.Next()
				if err == io.EOF || err != nil {
					break
				}
				err = c.Convert(rec, ver, func(cmd []byte, n int) error {
					if n > 1 && len(cmd) > opts.MaxBytes {
						t.Fatalf("%d commands in %d bytes", n, len(cmd))
					}
					for i := 0; i < n; i++ {
						args, used, err := resp.ParseCommand(cmd, nil, nil)
						if err != nil || len(args) == 0 {
							t.Fatalf("bad command: %v", err)
						}
						cmd = cmd[used:]
					}
					if len(cmd) != 0 {
						t.Fatalf("%d bytes after %d commands", len(cmd), n)
					}
					return nil
				})
				if err != nil {
					break
				}
			}
		}
	})
}
