package rdb

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrChecksum reports an RDB whose CRC64 does not match its content.
	ErrChecksum = errors.New("xsync/rdb: checksum mismatch")
	// ErrVersion reports an RDB version this package does not know.
	ErrVersion = errors.New("xsync/rdb: unsupported RDB version")
	// ErrNotRDB reports input that does not start with "REDIS".
	ErrNotRDB = errors.New("xsync/rdb: not an RDB file")
	// ErrConsumed reports a second iteration of a value read from the stream.
	ErrConsumed = errors.New("xsync/rdb: elements already read")
	// ErrAbandoned reports Next after an iteration of a big value stopped mid-way.
	ErrAbandoned = errors.New("xsync/rdb: previous value abandoned mid-way")
)

// DecodeError reports malformed input: where it was found and in which key.
type DecodeError struct {
	Offset int64  // byte offset in the RDB
	Key    []byte // the key being read (nil outside keys)
	Err    error
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Key != nil {
		k := e.Key
		if len(k) > 64 {
			k = k[:64]
		}
		return fmt.Sprintf("xsync/rdb: at byte %d, key %q: %v", e.Offset, k, e.Err)
	}
	return fmt.Sprintf("xsync/rdb: at byte %d: %v", e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }
