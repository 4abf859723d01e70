package gencmd

import (
	"errors"
	"fmt"
	"strconv"
)

// node is one RESP2 reply of a capture. The generator reads trusted, checked-in
// captures, so this small reader knows only what COMMAND and COMMAND DOCS send
// (simple strings, errors, integers, bulk strings, arrays).
type node struct {
	typ   byte
	str   string
	num   int64
	elems []node
}

var errIncomplete = errors.New("gencmd: incomplete RESP")

const maxDepth = 16

// parse reads one reply from b and returns it with the number of bytes used.
func parse(b []byte, depth int) (node, int, error) {
	if depth > maxDepth {
		return node{}, 0, errors.New("gencmd: RESP nested too deep")
	}
	line, n, err := readLine(b)
	if err != nil {
		return node{}, 0, err
	}
	if len(line) == 0 {
		return node{}, 0, errors.New("gencmd: empty RESP line")
	}
	v := node{typ: line[0]}
	switch line[0] {
	case '+', '-':
		v.str = string(line[1:])
		return v, n, nil
	case ':':
		v.num, err = strconv.ParseInt(string(line[1:]), 10, 64)
		return v, n, err
	case '$':
		size, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return node{}, 0, err
		}
		if size < 0 {
			return v, n, nil
		}
		if len(b) < n+size+2 {
			return node{}, 0, errIncomplete
		}
		v.str = string(b[n : n+size])
		return v, n + size + 2, nil
	case '*':
		count, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return node{}, 0, err
		}
		for i := 0; i < count; i++ {
			e, m, err := parse(b[n:], depth+1)
			if err != nil {
				return node{}, 0, err
			}
			v.elems = append(v.elems, e)
			n += m
		}
		return v, n, nil
	}
	return node{}, 0, fmt.Errorf("gencmd: unexpected RESP type %q", line[0])
}

func readLine(b []byte) ([]byte, int, error) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], i + 2, nil
		}
	}
	return nil, 0, errIncomplete
}

// parseAll reads exactly one reply filling all of b.
func parseAll(b []byte) (node, error) {
	v, n, err := parse(b, 0)
	if err != nil {
		return node{}, err
	}
	if n != len(b) {
		return node{}, fmt.Errorf("gencmd: %d bytes after the reply", len(b)-n)
	}
	if v.typ == '-' {
		return node{}, fmt.Errorf("gencmd: error reply: %s", v.str)
	}
	return v, nil
}

// asMap reads a RESP2 flattened map [k1, v1, k2, v2, ...].
func (v node) asMap() (map[string]node, error) {
	if v.typ != '*' || len(v.elems)%2 != 0 {
		return nil, fmt.Errorf("gencmd: want a flat map, got type %q with %d elements", v.typ, len(v.elems))
	}
	m := make(map[string]node, len(v.elems)/2)
	for i := 0; i < len(v.elems); i += 2 {
		m[v.elems[i].str] = v.elems[i+1]
	}
	return m, nil
}

// strings reads an array of strings.
func (v node) strings() []string {
	out := make([]string, 0, len(v.elems))
	for _, e := range v.elems {
		out = append(out, e.str)
	}
	return out
}

// Complete reports whether b holds one whole RESP reply (for capturing); err is
// set when b cannot be the start of a reply.
func Complete(b []byte) (done bool, err error) {
	_, _, err = parse(b, 0)
	if errors.Is(err, errIncomplete) {
		return false, nil
	}
	return err == nil, err
}
