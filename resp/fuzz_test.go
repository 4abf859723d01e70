package resp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// The fuzz targets check, for any input and under the default and tiny limits: no
// panic; n within the input; errors either ErrIncomplete (n == 0) or a
// *ProtocolError at a position inside the input; every prefix of the input either
// incomplete or parsed exactly as the whole; a Reader fed the input in chunks of
// 1..7 bytes agreeing with the parser; and re-encoding stable (commands re-encoded
// as multibulk parse back equal, replies re-encode to the same bytes twice).
//
// Run them with a short minimization time: the fuzzer minimizes every input that
// finds new coverage, and with the default of 60s that stalls a short run:
//
//	go test -run='^$' -fuzz=FuzzParseCommand -fuzztime=60s -fuzzminimizetime=5s ./resp/
//	go test -run='^$' -fuzz=FuzzParseValue -fuzztime=60s -fuzzminimizetime=5s ./resp/
//
// Inputs that once failed are kept in testdata/fuzz and run with every go test.

// smallLimits makes the limit checks reachable by short fuzz inputs.
var smallLimits = &Limits{MaxBulkLen: 16, MaxArrayLen: 4, MaxInlineLen: 16, MaxDepth: 3}

// commandSeeds are the fuzz seeds of FuzzParseCommand: hand-written edge cases and
// random commands (testdata/fuzz adds the crashers found so far).
func commandSeeds() [][]byte {
	seeds := [][]byte{
		[]byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), []byte("*0\r\n"), []byte("*-1\r\n"),
		[]byte("\n"), []byte("\r\n"), []byte("PING\r\n"), []byte("set \"a\\x41\" 'b\\'c'\n"),
		[]byte("*1\r\n$-1\r\n"), []byte("*1\r\n$4\r\nab\r\n"), []byte("a\"b\"c\n"), []byte("\"a\x00\"\n"),
		[]byte("*1\n"), []byte("*99999999999999999999\r\n"), []byte("*1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n"),
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for len(seeds) < 40 {
		c, _ := randCommand(rng)
		i, _ := randInline(rng)
		seeds = append(seeds, small(c), small(i))
	}
	return seeds
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lim := range []*Limits{nil, smallLimits} {
			checkCommandParse(t, in, lim)
			checkCommandReader(t, in, lim)
		}
	})
}

// checkCommandParse checks the invariants of one ParseCommand call on in: n in
// range, errors well formed, prefixes incomplete or equal, and the arguments
// re-encoded as multibulk parse back equal.
func checkCommandParse(t *testing.T, in []byte, lim *Limits) {
	buf := bytes.Clone(in)
	args, n, err := ParseCommand(buf, nil, lim)
	checkParseErr(t, in, n, err)
	if err == nil && n == 0 {
		t.Fatalf("%q: success with n == 0", in)
	}
	for _, cut := range prefixes(len(in)) {
		pa, pn, perr := ParseCommand(bytes.Clone(in[:cut]), nil, lim)
		if perr == ErrIncomplete {
			continue
		}
		if !sameErr(perr, err) || pn != n || !equalStrs(strs(pa), strs(args)) {
			t.Fatalf("%q: prefix of %d bytes gives %q, %d, %v; the whole gives %q, %d, %v",
				in, cut, pa, pn, perr, args, n, err)
		}
	}
	if err != nil {
		return
	}
	enc := AppendCommand(nil, args...)
	again, n2, err := ParseCommand(enc, nil, nil)
	if err != nil || n2 != len(enc) || !equalStrs(strs(again), strs(args)) {
		t.Fatalf("%q: re-encoded %q parses as %q, %d, %v", in, enc, again, n2, err)
	}
}

func FuzzParseValue(f *testing.F) {
	seeds := [][]byte{
		[]byte("+OK\r\n"), []byte("-ERR x\r\n"), []byte(":1\r\n"), []byte("$1\r\nx\r\n"), []byte("$-1\r\n"),
		[]byte("*-1\r\n"), []byte("_\r\n"), []byte("#t\r\n"), []byte(",1.5\r\n"), []byte(",nan\r\n"),
		[]byte("(123\r\n"), []byte("!1\r\nx\r\n"), []byte("=5\r\ntxt:x\r\n"), []byte("%1\r\n+a\r\n:1\r\n"),
		[]byte("~1\r\n+a\r\n"), []byte(">1\r\n+a\r\n"), []byte("|1\r\n+a\r\n+b\r\n+c\r\n"),
		[]byte("|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n:1\r\n"), []byte("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for len(seeds) < 50 {
		seeds = append(seeds, small(AppendValue(nil, randValue(rng, 0))))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lim := range []*Limits{nil, smallLimits} {
			checkValueParse(t, in, lim)
			checkValueReader(t, in, lim)
		}
	})
}

// checkValueParse checks the invariants of one ParseValue call on in, and that its
// re-encoding is stable: parsing and encoding it again gives the same bytes.
func checkValueParse(t *testing.T, in []byte, lim *Limits) {
	v, n, err := ParseValue(in, lim)
	checkParseErr(t, in, n, err)
	if err == nil && n == 0 {
		t.Fatalf("%q: success with n == 0", in)
	}
	var enc []byte
	if err == nil {
		enc = AppendValue(nil, v)
	}
	for _, cut := range prefixes(len(in)) {
		pv, pn, perr := ParseValue(in[:cut], lim)
		if perr == ErrIncomplete {
			continue
		}
		if !sameErr(perr, err) || pn != n || (err == nil && !bytes.Equal(AppendValue(nil, pv), enc)) {
			t.Fatalf("%q: prefix of %d bytes gives %v, %d, %v; the whole gives %v, %d, %v", in, cut, pv, pn, perr, v, n, err)
		}
	}
	if err != nil {
		return
	}
	v2, n2, err := ParseValue(enc, lim)
	if err != nil || n2 != len(enc) {
		t.Fatalf("%q: re-encoded %q: n %d, %v", in, enc, n2, err)
	}
	if enc2 := AppendValue(nil, v2); !bytes.Equal(enc2, enc) {
		t.Fatalf("%q: encoding not stable: %q then %q", in, enc, enc2)
	}
}

// checkCommandReader checks that a Reader fed in in chunks of 1..7 bytes reads the
// first command of in as ParseCommand does (an incomplete one as an unexpected end).
func checkCommandReader(t *testing.T, in []byte, lim *Limits) {
	args, n, err := ParseCommand(bytes.Clone(in), nil, lim)
	if err == nil && len(args) == 0 {
		return // skipped by the Reader
	}
	var l Limits
	if lim != nil {
		l = *lim
	}
	r := NewReader(&chunkReader{data: bytes.Clone(in), rng: rand.New(rand.NewPCG(uint64(len(in)), 1)), max: 7}, l)
	rargs, rn, rerr := r.ReadCommand()
	switch {
	case err == ErrIncomplete:
		if rerr != io.ErrUnexpectedEOF && (len(in) > 0 || rerr != io.EOF) {
			t.Fatalf("%q: Reader gives %q, %v for an incomplete command", in, rargs, rerr)
		}
	case !sameErr(rerr, err) || rn != n || !equalStrs(strs(rargs), strs(args)):
		t.Fatalf("%q: Reader gives %q, %d, %v; ParseCommand %q, %d, %v", in, rargs, rn, rerr, args, n, err)
	}
}

// checkValueReader checks that a Reader fed in in chunks of 1..7 bytes reads the
// first reply of in as ParseValue does.
func checkValueReader(t *testing.T, in []byte, lim *Limits) {
	v, n, err := ParseValue(in, lim)
	var l Limits
	if lim != nil {
		l = *lim
	}
	r := NewReader(&chunkReader{data: in, rng: rand.New(rand.NewPCG(uint64(len(in)), 2)), max: 7}, l)
	rv, rn, rerr := r.ReadValue()
	switch {
	case err == ErrIncomplete:
		if rerr != io.ErrUnexpectedEOF && (len(in) > 0 || rerr != io.EOF) {
			t.Fatalf("%q: Reader gives %v, %v for an incomplete reply", in, rv, rerr)
		}
	case !sameErr(rerr, err) || rn != n || !bytes.Equal(AppendValue(nil, rv), AppendValue(nil, v)):
		t.Fatalf("%q: Reader gives %v, %d, %v; ParseValue %v, %d, %v", in, rv, rn, rerr, v, n, err)
	}
}

// small cuts a seed to 256 bytes: the fuzzer minimizes every input that finds new
// coverage, and minimizing large inputs stalls it for a minute at a time.
func small(b []byte) []byte { return b[:min(len(b), 256)] }

// checkParseErr checks n and err of a parse of in.
func checkParseErr(t *testing.T, in []byte, n int, err error) {
	t.Helper()
	if n < 0 || n > len(in) {
		t.Fatalf("%q: n = %d out of range", in, n)
	}
	if err == nil {
		return
	}
	if n != 0 {
		t.Fatalf("%q: n = %d with error %v", in, n, err)
	}
	var pe *ProtocolError
	if err != ErrIncomplete && (!errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > int64(len(in))) {
		t.Fatalf("%q: bad error %#v", in, err)
	}
}

// prefixes returns up to 12 cut points in [0, n): the last bytes, where an item's
// end is judged, and evenly spaced ones. Few enough to keep each run cheap: the
// fuzzer minimizes every input that finds new coverage, with many runs.
func prefixes(n int) []int {
	var cuts []int
	for c := max(0, n-3); c < n; c++ {
		cuts = append(cuts, c)
	}
	step := max(1, n/9)
	for c := 0; c < n-3; c += step {
		cuts = append(cuts, c)
	}
	return cuts
}

// sameErr reports whether a and b are both nil or protocol errors at one position.
func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var pa, pb *ProtocolError
	return errors.As(a, &pa) && errors.As(b, &pb) && pa.Pos == pb.Pos && pa.Msg == pb.Msg
}
