package resp

import "bytes"

// maxNumLine bounds the text of a length or integer line ("*<n>", "$<n>", ":<n>");
// an int64 needs at most 20 characters.
const maxNumLine = 32

// minBulkWire is the fewest bytes one bulk argument of a multibulk command takes:
// "$0\r\n\r\n".
const minBulkWire = 6

// minValueWire is the fewest bytes one reply value takes: "_\r\n".
const minValueWire = 3

// scanner parses from buf; base is the absolute position of buf[0], added to the
// positions of errors. On ErrIncomplete the parse functions report in need the
// fewest total bytes of buf that the item is known to take, a hint for Reader.
type scanner struct {
	buf  []byte
	base int64
	lim  Limits
	need int
	// framed is set when the whole item is known to be in buf, well framed (the
	// Reader's skipper followed it to its end), so aggregates may be allocated
	// at their declared size.
	framed bool
}

// incomplete records that at least need bytes are needed and returns ErrIncomplete.
func (s *scanner) incomplete(need int) error {
	if need <= len(s.buf) {
		need = len(s.buf) + 1
	}
	s.need = need
	return ErrIncomplete
}

// line finds the CRLF-terminated line that starts at pos. It returns the index of the
// '\r' (the end of the content) and the index just past the '\n'. A line whose
// content is over max bytes is an error, found without looking past max+2 bytes, so
// that the answer does not depend on how much of the stream is buffered.
func (s *scanner) line(pos, max int, what string) (end, next int, err error) {
	window := s.buf[pos:]
	limit := max + 2
	if len(window) > limit {
		window = window[:limit]
	}
	i := bytes.IndexByte(window, '\n')
	if i < 0 {
		if len(window) >= limit {
			if what == "" {
				return 0, 0, protoErr(s.base, pos, "line too long")
			}
			return 0, 0, &ProtocolError{Pos: s.base + int64(pos), Msg: what + " line over the limit", Err: ErrTooLarge}
		}
		return 0, 0, s.incomplete(pos + len(window) + 1)
	}
	if i == 0 || window[i-1] != '\r' {
		return 0, 0, protoErr(s.base, pos+i, "line ends in LF without CR")
	}
	return pos + i - 1, pos + i + 1, nil
}

// parseInt parses an optionally signed decimal int64; it rejects empty input, other
// characters and overflow.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	// 19 digits fit in a uint64; check the int64 range.
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}
