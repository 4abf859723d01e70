package resp

import (
	"math"
	"math/rand/v2"
	"strings"
)

// Generators of random wire items, shared by the stream tests, the fuzz seeds and
// the benchmarks.

// randBytes returns n random bytes, binary (CR, LF, NUL included) half of the time.
func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	binary := rng.IntN(2) == 0
	for i := range b {
		if binary {
			b[i] = byte(rng.UintN(256))
		} else {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789:_-"[rng.IntN(39)]
		}
	}
	return b
}

// randLen returns a length, mostly small, sometimes a few KiB.
func randLen(rng *rand.Rand) int {
	if rng.IntN(20) == 0 {
		return rng.IntN(20000)
	}
	return rng.IntN(40)
}

// randCommand returns a random multibulk command and its arguments.
func randCommand(rng *rand.Rand) ([]byte, []string) {
	args := make([][]byte, 1+rng.IntN(6))
	for i := range args {
		args[i] = randBytes(rng, randLen(rng))
	}
	return AppendCommand(nil, args...), strs(args)
}

// randInline returns a random inline command (unquoted, quoted or both) and its
// arguments.
func randInline(rng *rand.Rand) ([]byte, []string) {
	var line strings.Builder
	args := make([]string, 1+rng.IntN(5))
	for i := range args {
		if i > 0 {
			line.WriteString([]string{" ", "\t", " \t"}[rng.IntN(3)])
		}
		word := string(randWord(rng))
		args[i] = word
		switch rng.IntN(4) {
		case 0:
			line.WriteString(`"` + strings.ReplaceAll(word, `x`, `\x78`) + `"`)
		case 1:
			line.WriteString(`'` + word + `'`)
		default:
			if word == "" {
				word = "e"
				args[i] = word
			}
			line.WriteString(word)
		}
	}
	line.WriteString([]string{"\r\n", "\n"}[rng.IntN(2)])
	return []byte(line.String()), args
}

func randWord(rng *rand.Rand) []byte {
	w := make([]byte, rng.IntN(12))
	for i := range w {
		w[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[rng.IntN(36)]
	}
	return w
}

// randEmpty returns an empty command: a keep-alive or a zero multibulk.
func randEmpty(rng *rand.Rand) []byte {
	return []byte([]string{"\n", "\r\n", "  \t\r\n", "*0\r\n", "*-1\r\n"}[rng.IntN(5)])
}

// randValue returns a random reply whose AppendValue encoding is canonical (parsing
// it and encoding again gives the same bytes).
func randValue(rng *rand.Rand, depth int) Value {
	types := []byte("+-:$_#,(!=*%~>")
	if depth > 3 {
		types = types[:10]
	}
	var v Value
	switch t := types[rng.IntN(len(types))]; t {
	case TypeSimpleString, TypeError:
		v = Value{Type: t, Str: randWord(rng)}
	case TypeInteger:
		v = Value{Type: t, Int: int64(rng.Uint64())}
	case TypeBulkString:
		if rng.IntN(8) == 0 {
			v = Value{Type: t, Null: true}
		} else {
			v = Value{Type: t, Str: randBytes(rng, randLen(rng))}
		}
	case TypeNull:
		v = Value{Type: t, Null: true}
	case TypeBoolean:
		v = Value{Type: t, Int: int64(rng.IntN(2))}
	case TypeDouble:
		f := []float64{math.Inf(1), math.Inf(-1), rng.NormFloat64() * 1e6, math.Ldexp(rng.Float64(), rng.IntN(2000)-1000)}[rng.IntN(4)]
		v = Value{Type: t, Float: f, Str: appendFloat(nil, f)}
	case TypeBigNumber:
		v = Value{Type: t, Str: []byte("-12345678901234567890123456789"[rng.IntN(2):])}
	case TypeBulkError, TypeVerbatim:
		v = Value{Type: t, Str: randBytes(rng, randLen(rng))}
	case TypeArray, TypeSet, TypePush, TypeMap:
		if t == TypeArray && rng.IntN(8) == 0 {
			v = Value{Type: t, Null: true}
			break
		}
		n := rng.IntN(5)
		if t == TypeMap {
			n *= 2
		}
		v = Value{Type: t, Elems: []Value{}}
		for range n {
			v.Elems = append(v.Elems, randValue(rng, depth+1))
		}
	}
	if rng.IntN(10) == 0 && depth < 3 {
		v.Attrs = []Value{randValue(rng, depth+1), randValue(rng, depth+1)}
	}
	return v
}
