package resp

import (
	"errors"
	"strconv"
)

var (
	// ErrIncomplete is returned by ParseCommand and ParseValue when the buffer holds
	// only part of an item; nothing is consumed (n == 0).
	ErrIncomplete = errors.New("xsync/resp: incomplete input")
	// ErrTooLarge reports a declared length (bulk, array or inline line) over the
	// Limits. It is always wrapped in a *ProtocolError: test it with errors.Is.
	ErrTooLarge = errors.New("xsync/resp: declared length over the limit")
	// ErrNegativeRead is returned by Reader when the wrapped io.Reader returns an
	// impossible count.
	ErrNegativeRead = errors.New("xsync/resp: reader returned a bad count")
)

// ProtocolError reports malformed input and the byte position where it was found.
// For ParseCommand and ParseValue Pos counts from the start of the buffer; for a
// Reader it counts from the first byte the Reader ever read (the Offset scale).
type ProtocolError struct {
	Pos int64  // absolute byte position of the fault
	Msg string // what was wrong there
	Err error  // ErrTooLarge for declared lengths over the limit, nil otherwise
}

// Error returns "xsync/resp: protocol error at byte N: msg".
func (e *ProtocolError) Error() string {
	return "xsync/resp: protocol error at byte " + strconv.FormatInt(e.Pos, 10) + ": " + e.Msg
}

// Unwrap returns the sentinel the error wraps (ErrTooLarge) or nil.
func (e *ProtocolError) Unwrap() error { return e.Err }

// protoErr builds a *ProtocolError at position base+pos.
func protoErr(base int64, pos int, msg string) error {
	return &ProtocolError{Pos: base + int64(pos), Msg: msg}
}

// tooLarge builds a *ProtocolError wrapping ErrTooLarge.
func tooLarge(base int64, pos int, what string, got, limit int64) error {
	return &ProtocolError{
		Pos: base + int64(pos),
		Msg: what + " " + strconv.FormatInt(got, 10) + " over the limit " + strconv.FormatInt(limit, 10),
		Err: ErrTooLarge,
	}
}
