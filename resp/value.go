package resp

import (
	"strconv"
	"strings"
)

// RESP type bytes: the first byte of every item on the wire.
const (
	TypeSimpleString = '+' // +<string>\r\n
	TypeError        = '-' // -<string>\r\n
	TypeInteger      = ':' // :<int>\r\n
	TypeBulkString   = '$' // $<len>\r\n<bytes>\r\n   ($-1\r\n is RESP2 null)
	TypeArray        = '*' // *<n>\r\n<n values>       (*-1\r\n is RESP2 null)
	TypeNull         = '_' // _\r\n
	TypeBoolean      = '#' // #t\r\n / #f\r\n
	TypeDouble       = ',' // ,<double>\r\n
	TypeBigNumber    = '(' // (<digits>\r\n
	TypeBulkError    = '!' // !<len>\r\n<bytes>\r\n
	TypeVerbatim     = '=' // =<len>\r\n<fmt>:<bytes>\r\n
	TypeMap          = '%' // %<n>\r\n<2n values>
	TypeSet          = '~' // ~<n>\r\n<n values>
	TypeAttribute    = '|' // |<n>\r\n<2n values> then the value it annotates
	TypePush         = '>' // ><n>\r\n<n values>
)

// Value is one parsed reply. Byte slices point into the parsed buffer.
//
// An attribute ('|') is not a Value of its own: it is parsed together with the value
// it annotates, which carries it in Attrs, so that every Value is one reply.
type Value struct {
	Type  byte    // one of the Type* constants other than TypeAttribute
	Str   []byte  // simple string, error, bulk string, bulk error, verbatim (without "txt:"), double/big number text
	Int   int64   // integer; boolean as 0/1
	Float float64 // double
	Null  bool    // RESP2 null bulk/array, or RESP3 null
	Elems []Value // array, set, push; map flattened as k1,v1,k2,v2...
	Attrs []Value // attribute that preceded the value on the wire, flattened as k1,v1,...; nil when none
}

// IsError reports whether v is an error reply (simple or bulk error).
func (v Value) IsError() bool { return v.Type == TypeError || v.Type == TypeBulkError }

// String renders v on one line, in the manner of redis-cli, for messages and tests:
// "OK", "(error) ERR x", "(integer) 1", "\"bytes\"", "(nil)", "[a, b]", "{k: v}".
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	if v.Attrs != nil {
		b.WriteString("|")
		formatPairs(b, v.Attrs)
		b.WriteString("| ")
	}
	if v.Null {
		b.WriteString("(nil)")
		return
	}
	switch v.Type {
	case TypeSimpleString:
		b.Write(v.Str)
	case TypeError, TypeBulkError:
		b.WriteString("(error) ")
		b.Write(v.Str)
	case TypeInteger:
		b.WriteString("(integer) ")
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case TypeBulkString, TypeVerbatim:
		b.WriteString(strconv.Quote(string(v.Str)))
	case TypeNull:
		b.WriteString("(nil)")
	case TypeBoolean:
		if v.Int != 0 {
			b.WriteString("(true)")
		} else {
			b.WriteString("(false)")
		}
	case TypeDouble:
		b.WriteString("(double) ")
		if len(v.Str) > 0 {
			b.Write(v.Str)
		} else {
			b.Write(appendFloat(nil, v.Float))
		}
	case TypeBigNumber:
		b.WriteString("(big number) ")
		b.Write(v.Str)
	case TypeArray, TypeSet, TypePush:
		switch v.Type {
		case TypeSet:
			b.WriteString("(set) ")
		case TypePush:
			b.WriteString("(push) ")
		}
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	case TypeMap:
		formatPairs(b, v.Elems)
	default:
		b.WriteString("(unknown type ")
		b.WriteString(strconv.QuoteRune(rune(v.Type)))
		b.WriteByte(')')
	}
}

func formatPairs(b *strings.Builder, kv []Value) {
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		kv[i].format(b)
		b.WriteString(": ")
		kv[i+1].format(b)
	}
	b.WriteByte('}')
}
