package resp

import (
	"math"
	"strconv"
)

// crlf ends every line of RESP.
const crlf = "\r\n"

// AppendArray appends an array header, "*<n>\r\n".
func AppendArray(dst []byte, n int) []byte {
	return appendHeader(dst, TypeArray, int64(n))
}

// AppendBulk appends b as a bulk string, "$<len>\r\n<b>\r\n".
func AppendBulk(dst []byte, b []byte) []byte {
	dst = appendHeader(dst, TypeBulkString, int64(len(b)))
	dst = append(dst, b...)
	return append(dst, crlf...)
}

// AppendBulkString appends s as a bulk string, "$<len>\r\n<s>\r\n".
func AppendBulkString(dst []byte, s string) []byte {
	dst = appendHeader(dst, TypeBulkString, int64(len(s)))
	dst = append(dst, s...)
	return append(dst, crlf...)
}

// AppendBulkInt appends the decimal text of i as a bulk string, "$<len>\r\n<i>\r\n".
func AppendBulkInt(dst []byte, i int64) []byte {
	var tmp [20]byte
	return AppendBulk(dst, strconv.AppendInt(tmp[:0], i, 10))
}

// AppendBulkFloat appends f as a bulk string in a form that Redis parses back to the
// same float64 (strtod, as ZADD and INCRBYFLOAT read scores): "inf" and "-inf" for
// the infinities, as Redis writes them, "nan" for NaN, and otherwise the shortest
// decimal that round-trips, plain for magnitudes in [1e-4, 1e21) ("1.5", "100",
// "0.0001") and with an exponent beyond ("1e+21", "1.5e-05").
func AppendBulkFloat(dst []byte, f float64) []byte {
	var tmp [32]byte
	return AppendBulk(dst, appendFloat(tmp[:0], f))
}

// appendFloat appends the text AppendBulkFloat and AppendValue write for f.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e21) {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// AppendInt appends an integer reply, ":<i>\r\n".
func AppendInt(dst []byte, i int64) []byte {
	return appendHeader(dst, TypeInteger, i)
}

// AppendSimple appends a simple string reply, "+<s>\r\n". s must not hold CR or LF.
func AppendSimple(dst []byte, s string) []byte {
	dst = append(dst, TypeSimpleString)
	dst = append(dst, s...)
	return append(dst, crlf...)
}

// AppendError appends an error reply, "-<s>\r\n" (s starts with the error code, as
// in "ERR unknown command"). s must not hold CR or LF.
func AppendError(dst []byte, s string) []byte {
	dst = append(dst, TypeError)
	dst = append(dst, s...)
	return append(dst, crlf...)
}

// AppendNullBulk appends the RESP2 null bulk string, "$-1\r\n".
func AppendNullBulk(dst []byte) []byte {
	return append(dst, "$-1\r\n"...)
}

// AppendCommand appends a command as a multibulk request: "*<n>\r\n" and one bulk
// string per argument.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}

// AppendCommandString appends a command of string arguments as a multibulk request.
func AppendCommandString(dst []byte, args ...string) []byte {
	dst = AppendArray(dst, len(args))
	for _, a := range args {
		dst = AppendBulkString(dst, a)
	}
	return dst
}

// AppendValue re-encodes a parsed value, attributes first. A value parsed by
// ParseValue is written back as it came when it came in canonical form (lengths and
// integers without sign or leading zeros beyond what strconv writes), with these
// exceptions: a double is written from Str when Str is set (else from Float), a
// verbatim string is always written with the format "txt", and a chain of
// attributes becomes one attribute.
// A Value with Null set is written as the RESP2 null of its type ("$-1", "*-1") for
// bulk strings and arrays and as "_\r\n" otherwise. An unknown Type is written as
// "_\r\n".
func AppendValue(dst []byte, v Value) []byte {
	if v.Attrs != nil {
		dst = appendHeader(dst, TypeAttribute, int64(len(v.Attrs)/2))
		for _, a := range v.Attrs[:len(v.Attrs)/2*2] {
			dst = AppendValue(dst, a)
		}
	}
	if v.Null {
		switch v.Type {
		case TypeBulkString:
			return append(dst, "$-1\r\n"...)
		case TypeArray:
			return append(dst, "*-1\r\n"...)
		}
		return append(dst, "_\r\n"...)
	}
	switch v.Type {
	case TypeSimpleString, TypeError, TypeBigNumber:
		dst = append(dst, v.Type)
		dst = append(dst, v.Str...)
		return append(dst, crlf...)
	case TypeDouble:
		dst = append(dst, v.Type)
		if len(v.Str) > 0 {
			dst = append(dst, v.Str...)
		} else {
			dst = appendFloat(dst, v.Float)
		}
		return append(dst, crlf...)
	case TypeInteger:
		return appendHeader(dst, TypeInteger, v.Int)
	case TypeBoolean:
		if v.Int != 0 {
			return append(dst, "#t\r\n"...)
		}
		return append(dst, "#f\r\n"...)
	case TypeBulkString, TypeBulkError:
		dst = appendHeader(dst, v.Type, int64(len(v.Str)))
		dst = append(dst, v.Str...)
		return append(dst, crlf...)
	case TypeVerbatim:
		dst = appendHeader(dst, v.Type, int64(len(v.Str)+4))
		dst = append(dst, "txt:"...)
		dst = append(dst, v.Str...)
		return append(dst, crlf...)
	case TypeArray, TypeSet, TypePush:
		dst = appendHeader(dst, v.Type, int64(len(v.Elems)))
		for _, e := range v.Elems {
			dst = AppendValue(dst, e)
		}
		return dst
	case TypeMap:
		dst = appendHeader(dst, v.Type, int64(len(v.Elems)/2))
		for _, e := range v.Elems[:len(v.Elems)/2*2] {
			dst = AppendValue(dst, e)
		}
		return dst
	}
	return append(dst, "_\r\n"...)
}

// appendHeader appends "<t><n>\r\n".
func appendHeader(dst []byte, t byte, n int64) []byte {
	dst = append(dst, t)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, crlf...)
}
