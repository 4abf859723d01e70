package rdb

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xsync/xsync/internal/fixtures"
)

// fixtureNow is the clock of the fixture comparisons: before the fixtures'
// far-future expires (2100), after the past ones of the redis assets.
var fixtureNow = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func rdbFixtures(t *testing.T) []string {
	t.Helper()
	dir := fixtures.Dir(t)
	var files []string
	for _, sub := range []string{"rdb", "redis-assets"} {
		m, err := filepath.Glob(filepath.Join(dir, sub, "*.rdb"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no fixture RDB files")
	}
	return files
}

func TestFixturesJSON(t *testing.T) {
	for _, f := range rdbFixtures(t) {
		if strings.HasPrefix(filepath.Base(f), "corrupt_") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".rdb") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			for i, dopts := range []Options{
				{},
				// Values over 1 KiB streamed from the input, in chunks of 5 elements.
				{RawLimit: 1024, ChunkElements: 5, ChunkBytes: 100},
				// Nothing kept raw.
				{RawLimit: -1},
			} {
				// Both orders: sorted by WriteJSON, and in RDB order (sorted here)
				// so that every record must be printed either way.
				for _, sorted := range []bool{true, false} {
					if !sorted && i == 1 {
						continue // the chunked decode is the same path as the first, sorted or not
					}
					var out bytes.Buffer
					if err := WriteJSON(&out, bytes.NewReader(in), JSONOptions{Sort: sorted, Now: fixtureNow, Decoder: dopts}); err != nil {
						t.Fatal(err)
					}
					got := out.Bytes()
					if !sorted {
						got = sortJSONLines(t, got)
					}
					compareJSONLines(t, want, got)
				}
			}
		})
	}
}

// compareJSONLines compares two fixture-format outputs line by line: scores as
// numbers, approximate expires within 10 s.
func compareJSONLines(t *testing.T, want, got []byte) {
	t.Helper()
	wl, gl := splitLines(want), splitLines(got)
	if len(wl) != len(gl) {
		t.Errorf("%d lines, want %d", len(gl), len(wl))
	}
	exact := 0
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if bytes.Equal(wl[i], gl[i]) {
			exact++
			continue
		}
		var w, g map[string]any
		if err := json.Unmarshal(wl[i], &w); err != nil {
			t.Fatalf("want line %d: %v", i, err)
		}
		if err := json.Unmarshal(gl[i], &g); err != nil {
			t.Fatalf("got line %d: %v\n%s", i, err, gl[i])
		}
		normalize(w, g)
		if !reflect.DeepEqual(w, g) {
			t.Errorf("line %d differs:\n got %.600s\nwant %.600s", i, gl[i], wl[i])
		}
	}
	t.Logf("%d/%d lines byte-identical", exact, len(wl))
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, append([]byte{}, sc.Bytes()...))
		}
	}
	return out
}

// sortJSONLines sorts WriteJSON's unsorted output as Sort does: key lines by
// db then key bytes, function libraries after them in their order.
func sortJSONLines(t *testing.T, b []byte) []byte {
	t.Helper()
	type line struct {
		db   float64
		key  []byte
		text []byte
	}
	var keys []line
	var funcs [][]byte
	for _, l := range splitLines(b) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("unsorted line: %v\n%s", err, l)
		}
		k, ok := m["key"].(string)
		if !ok {
			funcs = append(funcs, l)
			continue
		}
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			t.Fatalf("unsorted line key: %v", err)
		}
		db, _ := m["db"].(float64)
		keys = append(keys, line{db, key, l})
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].db != keys[j].db {
			return keys[i].db < keys[j].db
		}
		return bytes.Compare(keys[i].key, keys[j].key) < 0
	})
	var out []byte
	for _, l := range keys {
		out = append(append(out, l.text...), '\n')
	}
	for _, f := range funcs {
		out = append(append(out, f...), '\n')
	}
	return out
}

func normalize(w, g map[string]any) {
	if w["expire_approx"] == true {
		delete(w, "expire_approx")
		we, _ := w["expire_ms"].(float64)
		ge, _ := g["expire_ms"].(float64)
		if math.Abs(we-ge) <= 10000 {
			g["expire_ms"] = we
		}
	}
	if w["type"] == "zset" {
		for _, m := range []map[string]any{w, g} {
			v, _ := m["value"].([]any)
			for _, p := range v {
				pair, _ := p.([]any)
				if len(pair) == 2 {
					if s, ok := pair[1].(string); ok {
						f, err := strconv.ParseFloat(s, 64)
						if err == nil {
							pair[1] = f
						} else {
							pair[1] = fmt.Sprint("bad score ", s)
						}
					}
				}
			}
		}
	}
}

func TestFixtureRecords(t *testing.T) {
	// Every non-key record of the fixtures decodes; counts are logged.
	for _, f := range rdbFixtures(t) {
		if strings.HasPrefix(filepath.Base(f), "corrupt_") {
			continue
		}
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(bytes.NewReader(in), Options{})
		kinds := map[Kind]int{}
		for {
			rec, err := d.Next()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: %v", f, err)
				}
				break
			}
			kinds[rec.Kind]++
		}
		keys := make([]int, 0)
		for k := range kinds {
			keys = append(keys, int(k))
		}
		sort.Ints(keys)
		t.Logf("%s: %v", filepath.Base(f), kinds)
	}
}
