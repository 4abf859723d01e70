package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunkReader returns b in random-sized reads.
type chunkReader struct {
	b   []byte
	rng *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.b), 1+r.rng.IntN(200))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

func TestEOFReader(t *testing.T) {
	mark := []byte(strings.Repeat("0123456789", 4))
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	tests := []struct {
		name, body, after string
		wantErr           bool
	}{
		{name: "empty", body: "", after: ""},
		{name: "small", body: "REDIS0010abc", after: "*1\r\n$4\r\nPING\r\n"},
		{name: "partial mark inside", body: "REDIS" + string(mark[:39]) + "x", after: ""},
		{name: "big", body: string(big), after: "tail"},
		{name: "no mark", body: "REDIS0010", wantErr: true},
		{name: "truncated mark", body: "REDIS0010" + string(mark[:20]), wantErr: true},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				in := tt.body + tt.after
				if !tt.wantErr {
					in = tt.body + string(mark) + tt.after
				}
				var src io.Reader = strings.NewReader(in)
				if chunked {
					src = &chunkReader{b: []byte(in), rng: rng}
				}
				r := newEOFReader(src, mark)
				got, err := io.ReadAll(r)
				if tt.wantErr {
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("err = %v", err)
					}
					return
				}
				if err != nil || string(got) != tt.body || r.total != int64(len(tt.body)) {
					t.Fatalf("got %d bytes, err %v; want %d", len(got), err, len(tt.body))
				}
				// What was read past the mark plus what is left is the stream.
				rest, _ := io.ReadAll(src)
				if string(r.leftover)+string(rest) != tt.after {
					t.Fatalf("leftover %q + rest %q, want %q", r.leftover, rest, tt.after)
				}
			})
		}
	}
}

func FuzzEOFReader(f *testing.F) {
	mark := []byte(strings.Repeat("ab", 20))
	f.Add([]byte("REDIS0010"), []byte("after"), uint64(1))
	f.Add([]byte(""), []byte(""), uint64(2))
	f.Add(mark[:30], []byte("*1\r\n"), uint64(3))
	f.Fuzz(func(t *testing.T, body, after []byte, seed uint64) {
		if bytes.Contains(append(append([]byte{}, body...), mark...), mark) && bytes.Index(append(append([]byte{}, body...), mark...), mark) < len(body) {
			t.Skip("the body holds the mark")
		}
		in := append(append(append([]byte{}, body...), mark...), after...)
		src := &chunkReader{b: in, rng: rand.New(rand.NewPCG(seed, seed))}
		r := newEOFReader(src, mark)
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("got %q, %v; want %q", got, err, body)
		}
		rest, _ := io.ReadAll(src)
		if !bytes.Equal(append(r.leftover, rest...), after) {
			t.Fatalf("stream %q, want %q", append(r.leftover, rest...), after)
		}
	})
}

// FuzzMarkIndex compares markFinder.index with bytes.Index, on inputs with the
// mark (or its pieces) planted at the fuzzer's positions.
func FuzzMarkIndex(f *testing.F) {
	mark := []byte("0f3a9c1e5b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d")
	f.Add([]byte("REDIS0010"), uint16(3), uint16(0), uint8(40))
	f.Add(bytes.Repeat([]byte("0f3a"), 50), uint16(17), uint16(90), uint8(39))
	f.Add(make([]byte, 300), uint16(299), uint16(1), uint8(40))
	f.Fuzz(func(t *testing.T, b []byte, at1, at2 uint16, cut uint8) {
		in := append([]byte{}, b...)
		plant := func(at int, piece []byte) {
			if at <= len(in) {
				in = append(in[:at:at], append(append([]byte{}, piece...), in[at:]...)...)
			}
		}
		plant(int(at1), mark[:min(int(cut), len(mark))])
		plant(int(at2), mark)
		f := newMarkFinder(mark)
		if got, want := f.index(in), bytes.Index(in, mark); got != want {
			t.Fatalf("index %d, bytes.Index %d in %q", got, want, in)
		}
	})
}

func BenchmarkMarkIndex(b *testing.B) {
	mark := []byte("0f3a9c1e5b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d")
	rng := rand.New(rand.NewPCG(1, 2))
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, kind := range []string{"binary", "alnum"} {
		in := make([]byte, 64<<10)
		for i := range in {
			if kind == "binary" {
				in[i] = byte(rng.Uint32())
			} else {
				in[i] = alnum[rng.IntN(len(alnum))]
			}
		}
		f := newMarkFinder(mark)
		b.Run("finder/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if f.index(in) >= 0 {
					b.Fatal("found")
				}
			}
		})
		b.Run("bytes.Index/"+kind, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				//lint:ignore S1003 this benchmark measures bytes.Index itself
				if bytes.Index(in, mark) >= 0 {
					b.Fatal("found")
				}
			}
		})
	}
}

func FuzzHandshakeParsers(f *testing.F) {
	for _, s := range []string{"+FULLRESYNC abc 12", "+CONTINUE", "+CONTINUE x", "-LOADING", "$EOF:x", "$12", "$-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s := &session{l: &Link{cfg: LinkConfig{Addr: "fuzz"}}}
		_, _ = s.parsePSYNCReply(line) // no panic
		_, _, _ = parseRDBHeader(line)
	})
}

func TestLenReader(t *testing.T) {
	r := &lenReader{src: strings.NewReader("abcdefXYZ"), left: 6, size: 6}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abcdef" {
		t.Fatalf("%q %v", got, err)
	}
	r = &lenReader{src: strings.NewReader("abc"), left: 6, size: 6}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "after 3 of 6") {
		t.Fatalf("err = %v", err)
	}
}

// fakeClock advances only when a waiter sleeps: After moves time forward at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestRateReader(t *testing.T) {
	tests := []struct {
		rate, size int64
	}{
		{rate: 1 << 20, size: 10 << 20},
		{rate: 100 << 10, size: 1 << 20},
		{rate: 1000, size: 100 << 10},
	}
	for _, tt := range tests {
		clk := &fakeClock{now: time.Unix(0, 0)}
		b := newTokenBucket(tt.rate, clk)
		r := &rateReader{ctx: context.Background(), r: bytes.NewReader(make([]byte, tt.size)), b: b}
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != tt.size {
			t.Fatal(n, err)
		}
		want := time.Duration(float64(tt.size-int64(b.burst)) / float64(tt.rate) * float64(time.Second))
		if clk.slept < want*95/100 || clk.slept > want*105/100+time.Second {
			t.Errorf("rate %d size %d: slept %v, want about %v", tt.rate, tt.size, clk.slept, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	for n, ceil := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		ceil *= time.Millisecond
		if n >= 5 {
			ceil = 2 * time.Second
		}
		for range 50 {
			d := b.Delay(n)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, ceil/2, ceil)
			}
		}
	}
}
