package resp

import "math"

// Default limits, as Redis applies them to clients.
const (
	DefaultMaxBulkLen   = 512 << 20 // Redis proto-max-bulk-len
	DefaultMaxArrayLen  = 1 << 24   // elements of one aggregate or arguments of one command
	DefaultMaxInlineLen = 64 << 10  // Redis PROTO_INLINE_MAX_SIZE
	DefaultMaxDepth     = 32        // nesting of aggregate replies
)

// hardMaxLen keeps every declared length computable in an int on every platform.
const hardMaxLen = math.MaxInt32 - 64

// Limits bound what a peer may declare; zero (or negative) fields take the defaults.
type Limits struct {
	MaxBulkLen   int64 // longest bulk string, bulk error, verbatim string or reply line (simple string, error, double, big number); default 512 MiB (Redis proto-max-bulk-len)
	MaxArrayLen  int64 // most elements of an aggregate or arguments of a command; default 1<<24
	MaxInlineLen int   // longest inline command or Reader.ReadLine line; default 64 KiB (Redis PROTO_INLINE_MAX_SIZE)
	MaxDepth     int   // deepest nesting of aggregate replies; default 32
}

// withDefaults returns a copy of l (nil meaning the zero Limits) with defaults filled
// and every bound clamped to what an int can index.
func (l *Limits) withDefaults() Limits {
	var o Limits
	if l != nil {
		o = *l
	}
	if o.MaxBulkLen <= 0 {
		o.MaxBulkLen = DefaultMaxBulkLen
	}
	if o.MaxBulkLen > hardMaxLen {
		o.MaxBulkLen = hardMaxLen
	}
	if o.MaxArrayLen <= 0 {
		o.MaxArrayLen = DefaultMaxArrayLen
	}
	if o.MaxArrayLen > hardMaxLen/8 {
		o.MaxArrayLen = hardMaxLen / 8
	}
	if o.MaxInlineLen <= 0 {
		o.MaxInlineLen = DefaultMaxInlineLen
	}
	if o.MaxInlineLen > hardMaxLen {
		o.MaxInlineLen = hardMaxLen
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}
