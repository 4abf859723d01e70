package resp

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// errWant describes the error a case expects: none, ErrIncomplete, or a
// *ProtocolError at Pos (wrapping ErrTooLarge when tooLarge is set).
type errWant struct {
	incomplete bool
	proto      bool
	pos        int64
	tooLarge   bool
}

var (
	noErr      = errWant{}
	incomplete = errWant{incomplete: true}
)

func protoAt(pos int64) errWant { return errWant{proto: true, pos: pos} }
func largeAt(pos int64) errWant { return errWant{proto: true, pos: pos, tooLarge: true} }

// checkErr fails t unless err is what w describes.
func checkErr(t *testing.T, err error, w errWant) {
	t.Helper()
	switch {
	case w.incomplete:
		if err != ErrIncomplete {
			t.Fatalf("err = %v, want ErrIncomplete", err)
		}
	case w.proto:
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want *ProtocolError at %d", err, w.pos)
		}
		if pe.Pos != w.pos {
			t.Fatalf("error position = %d, want %d (%v)", pe.Pos, w.pos, err)
		}
		if got := errors.Is(err, ErrTooLarge); got != w.tooLarge {
			t.Fatalf("errors.Is(%v, ErrTooLarge) = %v, want %v", err, got, w.tooLarge)
		}
	default:
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
}

// strs converts arguments to strings for comparison and messages.
func strs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func equalStrs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newRand returns a seeded generator for tests that need one.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 7)) }
