package rdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/xsync/xsync/internal/fixtures"
)

// decodeAll reads every record and walks every value.
func decodeAll(r io.Reader, opts Options) (keys int, err error) {
	d := NewDecoder(r, opts)
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return keys, err
		}
		if rec.Kind == KindKey {
			keys++
			if err := rec.Elements(func(*Chunk) error { return nil }); err != nil {
				return keys, err
			}
		}
	}
}

func readFile(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCorruptAssets(t *testing.T) {
	dir := fixtures.Dir(t)
	cases := []struct {
		file    string
		wantErr string // "" = decodes, skipping what Redis skips
		keys    int
	}{
		{"corrupt_empty_keys.rdb", "", 0},
		{"corrupt_ziplist.rdb", "ziplist", 0},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			in := readFile(t, filepath.Join(dir, "redis-assets", tc.file))
			keys, err := decodeAll(bytes.NewReader(in), Options{})
			if tc.wantErr == "" {
				if err != nil || keys != tc.keys {
					t.Fatalf("keys %d err %v", keys, err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.wantErr) || de.Key == nil {
				t.Fatalf("error %v: want a *DecodeError naming the key and %q", err, tc.wantErr)
			}
			t.Log(err)
		})
	}
}

// allocDuring returns the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func goodFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range rdbFixtures(t) {
		if !strings.HasPrefix(filepath.Base(f), "corrupt_") {
			out[filepath.Base(f)] = readFile(t, f)
		}
	}
	return out
}

func TestTruncated(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for name, in := range goodFixtures(t) {
		t.Run(name, func(t *testing.T) {
			// Record boundaries, and points inside each record.
			var cuts []int
			inValue := map[int]string{} // cut inside a value -> its key
			d := NewDecoder(bytes.NewReader(in), Options{})
			prev := int64(-1)
			for {
				rec, err := d.Next()
				if err != nil {
					break
				}
				if rec.Kind == KindKey && len(rec.Raw) >= 2 {
					n := int(rec.ValueOffset) + len(rec.Raw)/2
					inValue[n] = string(rec.Key)
					cuts = append(cuts, n)
				}
				cuts = append(cuts, int(rec.Offset))
				if prev >= 0 {
					cuts = append(cuts, int(prev+rec.Offset)/2)
				}
				prev = rec.Offset
			}
			for i := 0; i < 300; i++ {
				cuts = append(cuts, rng.Intn(len(in)))
			}
			cuts = append(cuts, len(in)-1, len(in)-8, len(in)-9)
			for _, n := range cuts {
				if n < 0 || n >= len(in) {
					continue
				}
				var err error
				alloc := allocDuring(func() { _, err = decodeAll(bytes.NewReader(in[:n]), Options{}) })
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("cut at %d: error %v is not a *DecodeError", n, err)
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut at %d: %v", n, err)
				}
				if de.Offset > int64(n) {
					t.Fatalf("cut at %d: error names offset %d", n, de.Offset)
				}
				if k, ok := inValue[n]; ok && string(de.Key) != k {
					t.Fatalf("cut at %d inside the value of %q: error %v names key %q", n, k, err, de.Key)
				}
				if alloc > 64<<20 {
					t.Fatalf("cut at %d: %d bytes allocated", n, alloc)
				}
			}
		})
	}
}

func TestFuzzedBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	n := 300
	if testing.Short() {
		n = 50
	}
	for name, in := range goodFixtures(t) {
		t.Run(name, func(t *testing.T) {
			buf := make([]byte, len(in))
			failed := 0
			for i := 0; i < n; i++ {
				copy(buf, in)
				for k := rng.Intn(4) + 1; k > 0; k-- {
					buf[rng.Intn(len(buf)-9)+9] = byte(rng.Intn(256))
				}
				var err error
				alloc := allocDuring(func() {
					_, err = decodeAll(bytes.NewReader(buf), Options{IgnoreChecksum: true})
				})
				if alloc > 64<<20 {
					t.Fatalf("case %d: %d bytes allocated", i, alloc)
				}
				if err != nil {
					failed++
					var de *DecodeError
					if !errors.As(err, &de) {
						t.Fatalf("case %d: error %v is not a *DecodeError", i, err)
					}
				}
			}
			t.Logf("%d/%d fuzzed copies rejected", failed, n)
		})
	}
}

// randomReader returns reads of random sizes (0 to 4 KiB).
type randomReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (r *randomReader) Read(p []byte) (int, error) {
	n := r.rng.Intn(4097)
	if n == 0 {
		return 0, nil
	}
	if n < len(p) {
		p = p[:n]
	}
	return r.r.Read(p)
}

func TestShortReads(t *testing.T) {
	for name, in := range goodFixtures(t) {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			opts := JSONOptions{Now: fixtureNow, Decoder: Options{RawLimit: 4096, ChunkElements: 7}}
			if err := WriteJSON(&want, bytes.NewReader(in), opts); err != nil {
				t.Fatal(err)
			}
			readers := map[string]io.Reader{
				"one byte": iotest.OneByteReader(bytes.NewReader(in)),
				"random":   &randomReader{bytes.NewReader(in), rand.New(rand.NewSource(3))},
				"half":     iotest.HalfReader(bytes.NewReader(in)),
			}
			for rname, r := range readers {
				var got bytes.Buffer
				if err := WriteJSON(&got, r, opts); err != nil {
					t.Fatalf("%s: %v", rname, err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("%s: output differs", rname)
				}
			}
		})
	}
}

// psyncRDB strips the +FULLRESYNC line and the bulk framing off a captured
// replication stream; it returns the RDB (and what follows) and, for the
// $<len> framing, its length (-1 for $EOF:<mark>), and the mark.
func psyncRDB(t *testing.T, b []byte) (rdb []byte, size int, mark []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	pos := 0
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatal("no RDB transfer line")
		}
		pos += len(line)
		l := strings.TrimRight(string(line), "\r\n")
		switch {
		case l == "" || strings.HasPrefix(l, "+"):
			continue
		case strings.HasPrefix(l, "$EOF:"):
			return b[pos:], -1, []byte(l[5:])
		case strings.HasPrefix(l, "$"):
			n, err := strconv.Atoi(l[1:])
			if err != nil {
				t.Fatal(err)
			}
			return b[pos:], n, nil
		}
		t.Fatalf("unexpected line %q", l)
	}
}

func TestPsyncFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures.Dir(t), "psync", "*.bin"))
	if len(files) == 0 {
		t.Fatal("no psync fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rdb, size, mark := psyncRDB(t, readFile(t, f))
			r := bytes.NewReader(rdb)
			d := NewDecoder(r, Options{})
			keys := 0
			for {
				rec, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Kind == KindKey {
					keys++
					if err := rec.Elements(nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			end := int(d.Offset())
			switch {
			case size >= 0 && end != size:
				t.Fatalf("RDB ends at %d, transfer says %d", end, size)
			case size < 0 && !bytes.HasPrefix(rdb[end:], mark):
				t.Fatalf("RDB end at %d not followed by the EOF mark", end)
			}
			t.Logf("%d keys, %d bytes (%s)", keys, end, fmt.Sprint(map[bool]string{true: "$len", false: "$EOF"}[size >= 0]))
		})
	}
}

// fuzzSeeds returns small RDBs: the small fixture files, and one RDB per key
// of the big ones (so that every encoding is a seed; big seeds make the
// fuzzer's minimization crawl).
func fuzzSeeds() [][]byte {
	dir, err := fixtures.Find()
	if err != nil {
		return nil
	}
	var seeds [][]byte
	for _, sub := range []string{"rdb", "redis-assets"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*.rdb"))
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if len(b) < 4096 {
				seeds = append(seeds, b)
				continue
			}
			d := NewDecoder(bytes.NewReader(b), Options{})
			v, _ := d.Version()
			for {
				rec, err := d.Next()
				if err != nil {
					break
				}
				if rec.Kind != KindKey || rec.Raw == nil || len(rec.Raw) > 2048 {
					continue
				}
				var buf bytes.Buffer
				w := newRDBWriter(&buf, v)
				if rec.ExpireAt != 0 {
					w.byte1(opExpireTimeMS)
					w.u64le(uint64(rec.ExpireAt))
				}
				w.byte1(rec.RDBType)
				w.str(rec.Key)
				w.raw(rec.Raw)
				w.end()
				seeds = append(seeds, buf.Bytes())
			}
		}
	}
	return seeds
}

// FuzzDecode checks that no input panics, hangs or escapes *DecodeError.
// Run it with a short minimization budget (the default minute is spent on
// each new input): go test -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 3s
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Add(bigListRDB(10))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, opts := range []Options{{IgnoreChecksum: true}, {RawLimit: 64, ChunkElements: 3, IgnoreChecksum: true}} {
			_, err := decodeAll(bytes.NewReader(in), opts)
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %v is not a *DecodeError", err)
				}
			}
		}
	})
}
