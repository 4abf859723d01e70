package resp

import (
	"strconv"
)

// maxPrealloc caps the elements allocated for an aggregate before they are parsed;
// beyond it the slice doubles as elements arrive, so a declared count alone never
// sizes an allocation (unless the Reader's skipper has seen the whole reply).
const maxPrealloc = 1024

// ParseValue parses one reply of any RESP2 or RESP3 type from the start of buf. n is
// the exact number of bytes of the reply on the wire; an attribute ('|') is parsed
// together with the value it annotates (see Value.Attrs).
//
// The byte slices of v point into buf; the Elems and Attrs slices of aggregates are
// allocated (they grow as elements are parsed). When buf holds only part of the reply
// ParseValue returns ErrIncomplete and n == 0. Malformed input returns a
// *ProtocolError with the position in buf; lengths over lim (nil means the defaults)
// wrap ErrTooLarge and are refused before any allocation.
func ParseValue(buf []byte, lim *Limits) (v Value, n int, err error) {
	s := scanner{buf: buf, lim: lim.withDefaults()}
	n, err = s.value(&v, 0, 0)
	if err != nil {
		return Value{}, 0, err
	}
	return v, n, nil
}

// value parses the reply at pos into v, which must be the zero Value, and returns
// the position just past it. On error v holds what was parsed so far.
func (s *scanner) value(v *Value, pos, depth int) (int, error) {
	if pos >= len(s.buf) {
		return 0, s.incomplete(pos + minValueWire)
	}
	t := s.buf[pos]
	v.Type = t
	switch t {
	case TypeSimpleString, TypeError, TypeBigNumber, TypeDouble:
		return s.lineValue(v, pos)
	case TypeInteger:
		end, next, err := s.line(pos+1, maxNumLine, "")
		if err != nil {
			return 0, err
		}
		i, ok := parseInt(s.buf[pos+1 : end])
		if !ok {
			return 0, protoErr(s.base, pos+1, "invalid integer")
		}
		v.Int = i
		return next, nil
	case TypeNull:
		end, next, err := s.line(pos+1, maxNumLine, "")
		if err != nil {
			return 0, err
		}
		if end != pos+1 {
			return 0, protoErr(s.base, pos+1, "invalid null")
		}
		v.Null = true
		return next, nil
	case TypeBoolean:
		end, next, err := s.line(pos+1, maxNumLine, "")
		if err != nil {
			return 0, err
		}
		if end != pos+2 || (s.buf[pos+1] != 't' && s.buf[pos+1] != 'f') {
			return 0, protoErr(s.base, pos+1, "invalid boolean")
		}
		if s.buf[pos+1] == 't' {
			v.Int = 1
		}
		return next, nil
	case TypeBulkString, TypeBulkError, TypeVerbatim:
		return s.bulkValue(v, pos)
	case TypeArray, TypeSet, TypePush, TypeMap:
		elems, next, err := s.elems(t, pos, depth)
		if err != nil {
			return 0, err
		}
		v.Elems, v.Null = elems, elems == nil
		return next, nil
	case TypeAttribute:
		attrs, next, err := s.elems(t, pos, depth)
		if err != nil {
			return 0, err
		}
		// The annotated value is parsed one level deeper, so that a chain of
		// attributes is bounded by MaxDepth too.
		v.Type = 0
		next, err = s.value(v, next, depth+1)
		if err != nil {
			return 0, err
		}
		if v.Attrs != nil {
			attrs = append(attrs, v.Attrs...)
		}
		v.Attrs = attrs
		return next, nil
	}
	return 0, protoErr(s.base, pos, "unknown type byte "+strconv.QuoteRune(rune(t)))
}

// lineValue parses the one-line types: simple string, error, big number, double.
func (s *scanner) lineValue(v *Value, pos int) (int, error) {
	end, next, err := s.line(pos+1, int(s.lim.MaxBulkLen), "reply")
	if err != nil {
		return 0, err
	}
	v.Str = s.buf[pos+1 : end : end]
	switch v.Type {
	case TypeBigNumber:
		if !isBigNumber(v.Str) {
			return 0, protoErr(s.base, pos+1, "invalid big number")
		}
	case TypeDouble:
		f, err := strconv.ParseFloat(string(v.Str), 64)
		if err != nil && !isRangeErr(err) {
			return 0, protoErr(s.base, pos+1, "invalid double")
		}
		v.Float = f
	}
	return next, nil
}

// isRangeErr reports a ParseFloat overflow, which still yields ±Inf or 0.
func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// isBigNumber reports whether b is an optionally signed run of decimal digits.
func isBigNumber(b []byte) bool {
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// bulkValue parses a bulk string (null when the length is -1), a bulk error or a
// verbatim string ("<fmt>:" then the text; Str holds the text).
func (s *scanner) bulkValue(v *Value, pos int) (int, error) {
	end, next, err := s.line(pos+1, maxNumLine, "")
	if err != nil {
		return 0, err
	}
	size, ok := parseInt(s.buf[pos+1 : end])
	if ok && size == -1 && v.Type == TypeBulkString {
		v.Null = true
		return next, nil
	}
	if !ok || size < 0 {
		return 0, protoErr(s.base, pos+1, "invalid bulk length")
	}
	if size > s.lim.MaxBulkLen {
		return 0, tooLarge(s.base, pos+1, "bulk length", size, s.lim.MaxBulkLen)
	}
	stop := next + int(size)
	if stop+2 > len(s.buf) {
		return 0, s.incomplete(stop + 2)
	}
	if s.buf[stop] != '\r' || s.buf[stop+1] != '\n' {
		return 0, protoErr(s.base, stop, "expected CRLF after bulk data")
	}
	str := s.buf[next:stop:stop]
	if v.Type == TypeVerbatim {
		if len(str) < 4 || str[3] != ':' {
			return 0, protoErr(s.base, next, "verbatim string without a format")
		}
		str = str[4:]
	}
	v.Str = str
	return stop + 2, nil
}

// elems parses the count line at pos and the elements that follow: count of them,
// or 2*count for a map or an attribute. elems is nil for a null array ("*-1").
func (s *scanner) elems(t byte, pos, depth int) ([]Value, int, error) {
	total, next, err := s.header(t, pos, depth)
	if err != nil {
		return nil, 0, err
	}
	if total < 0 {
		return nil, next, nil
	}
	if total == 0 {
		return []Value{}, next, nil
	}
	size := min(total, maxPrealloc)
	if s.framed {
		size = total // every element is known to be there
	}
	elems := make([]Value, 0, size)
	for i := range total {
		if len(elems) == cap(elems) {
			// Double (append grows large slices by a quarter, costing five times
			// the final size in all).
			grown := make([]Value, i, min(total, 2*cap(elems)))
			copy(grown, elems)
			elems = grown
		}
		elems = elems[:i+1]
		next, err = s.value(&elems[i], next, depth+1)
		if err != nil {
			if err == ErrIncomplete {
				s.need += (total - i - 1) * minValueWire
			}
			return nil, 0, err
		}
	}
	return elems, next, nil
}

// header parses the count line of an aggregate of type t at pos, nested depth
// deep. It returns the number of elements that follow (twice the count for a map or
// an attribute; -1 for a null array) and the position after the line.
func (s *scanner) header(t byte, pos, depth int) (total, next int, err error) {
	end, next, err := s.line(pos+1, maxNumLine, "")
	if err != nil {
		return 0, 0, err
	}
	count, ok := parseInt(s.buf[pos+1 : end])
	if ok && count == -1 && t == TypeArray {
		return -1, next, nil
	}
	if !ok || count < 0 {
		return 0, 0, protoErr(s.base, pos+1, "invalid aggregate length")
	}
	if count > s.lim.MaxArrayLen {
		return 0, 0, tooLarge(s.base, pos+1, "aggregate length", count, s.lim.MaxArrayLen)
	}
	if depth >= s.lim.MaxDepth {
		return 0, 0, protoErr(s.base, pos, "aggregate nested deeper than "+strconv.Itoa(s.lim.MaxDepth))
	}
	total = int(count)
	if t == TypeMap || t == TypeAttribute {
		total *= 2
	}
	return total, next, nil
}
