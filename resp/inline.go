package resp

import "bytes"

// inline parses one inline request: a line ending in "\n" (an optional "\r" before it
// is dropped), split into arguments as processInlineBuffer and sdssplitargs split it.
// A line over MaxInlineLen bytes is refused whether or not its end is buffered.
func (s *scanner) inline(dst [][]byte) ([][]byte, int, error) {
	args := dst[:0]
	max := s.lim.MaxInlineLen
	window := s.buf
	if len(window) > max+2 {
		window = window[:max+2]
	}
	i := bytes.IndexByte(window, '\n')
	if i < 0 {
		if z := bytes.IndexByte(window, 0); z >= 0 {
			return args, 0, protoErr(s.base, z, "NUL byte in inline request")
		}
		if len(window) >= max+2 {
			return args, 0, &ProtocolError{Pos: s.base, Msg: "inline request over the limit", Err: ErrTooLarge}
		}
		return args, 0, s.incomplete(len(window) + 1)
	}
	// Redis finds the end of an inline request with strchr, which stops at a NUL
	// byte: a request holding one never ends (Redis waits for more bytes, then
	// fails the connection past 64 KiB). Say so at once.
	if z := bytes.IndexByte(window[:i], 0); z >= 0 {
		return args, 0, protoErr(s.base, z, "NUL byte in inline request")
	}
	line := s.buf[:i]
	if i > 0 && line[i-1] == '\r' {
		line = line[:i-1]
	}
	if len(line) > max {
		return args, 0, &ProtocolError{Pos: s.base, Msg: "inline request over the limit", Err: ErrTooLarge}
	}
	if bytes.IndexByte(line, '"') >= 0 || bytes.IndexByte(line, '\'') >= 0 {
		// Validate before unescaping in place, so that a bad line is left as it was.
		if _, bad := splitArgs(line, nil, false); bad >= 0 {
			return args, 0, protoErr(s.base, bad, "unbalanced quotes in inline request")
		}
	}
	args, _ = splitArgs(line, args, true)
	return args, i + 1, nil
}

// splitArgs splits line into arguments with the rules of Redis's sdssplitargs: blanks
// separate arguments; "double quotes" take the escapes \xHH \n \r \t \b \a and \<c>;
// 'single quotes' take \'; a closing quote must be followed by a blank or the end; a
// NUL byte ends the line (inline refuses lines holding one before this runs). When write is set the arguments are appended to args,
// unescaped in place within line; otherwise line is only checked. bad is the position
// of the quote that does not balance, or -1.
func splitArgs(line []byte, args [][]byte, write bool) (_ [][]byte, bad int) {
	n := len(line)
	at := func(i int) byte {
		if i < n {
			return line[i]
		}
		return 0
	}
	p := 0
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if at(p) == 0 {
			return args, -1
		}
		start, w := p, p
		put := func(b byte) {
			if write && w != p {
				line[w] = b
			}
			w++
		}
		inq, insq, quote := false, false, 0
		for done := false; !done; {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					b := unhex(at(p+2))<<4 | unhex(at(p+3))
					p += 3
					put(b)
				case c == '\\' && at(p+1) != 0:
					p++
					put(unescape(line[p]))
				case c == '"':
					if next := at(p + 1); next != 0 && !isSpace(next) {
						return args, quote
					}
					done = true
				case c == 0:
					return args, quote
				default:
					put(c)
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					put('\'')
				case c == '\'':
					if next := at(p + 1); next != 0 && !isSpace(next) {
						return args, quote
					}
					done = true
				case c == 0:
					return args, quote
				default:
					put(c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq, quote = true, p
				case '\'':
					insq, quote = true, p
				default:
					put(c)
				}
			}
			if at(p) != 0 {
				p++
			}
		}
		if write {
			args = append(args, line[start:w:w])
		}
	}
}

// isSpace reports whether c is a blank for C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// unescape maps the character after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
