package replicator

import (
	"testing"
)

// FuzzParseCheckpoint: checkpoints and watermarks read back from the
// destination are parsed without panicking, and what parses encodes back to
// what parses the same.
func FuzzParseCheckpoint(f *testing.F) {
	for _, s := range []string{
		"8f2b1c 12345 0", "abc 0 3", "x -1 0", "x 1", "", "  a  9223372036854775807  2  ", "a 1 0 0-5460,10923-16383", "a 1 0 0-16383 extra",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := parseCkpt(b); err == nil {
			c2, err := parseCkpt([]byte(c.encode()))
			if err != nil || c2 != c {
				t.Fatalf("%q: parsed %+v, encoded %q, parsed again %+v, %v", b, c, c.encode(), c2, err)
			}
			if c.offset < 0 || c.db < 0 {
				t.Fatalf("%q: negative offset or db accepted: %+v", b, c)
			}
		}
		if w, err := parseWatermark(b); err == nil {
			if w.offset < 0 || w.db < 0 || w.ranges == "" {
				t.Fatalf("%q: bad watermark accepted: %+v", b, w)
			}
		}
	})
}
