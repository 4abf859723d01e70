package resp

import "strconv"

// ParseCommand parses one command from the start of buf: a multibulk request
// ("*<n>\r\n" then n bulk strings "$<len>\r\n<bytes>\r\n") when buf starts with '*',
// otherwise an inline request (one line ending in "\n" or "\r\n", split on blanks
// as Redis splits it, with "double" and 'single' quotes).
//
// args is append(dst[:0], ...): with a dst of enough capacity ParseCommand allocates
// nothing. Every argument points into buf and has its capacity clipped to its length.
// n is the exact number of bytes of the command on the wire.
//
// An empty command, that Redis reads and skips, returns zero arguments and n > 0:
// an empty or blank inline line (the "\n" keep-alives a master sends while it
// prepares an RDB), "*0\r\n" and "*-1\r\n" (any count below one, as Redis reads it).
//
// An inline argument written with quotes and escapes is unescaped in place: for such
// a line ParseCommand writes into buf, within the line, once the line is complete and
// valid. Multibulk commands and unquoted inline lines are never written to.
//
// When buf holds only part of the command ParseCommand returns ErrIncomplete and
// n == 0. Malformed input returns a *ProtocolError with the position in buf; lengths
// over lim (nil means the defaults) wrap ErrTooLarge and are refused before any
// allocation. After an error args is dst[:0], possibly grown.
func ParseCommand(buf []byte, dst [][]byte, lim *Limits) (args [][]byte, n int, err error) {
	s := scanner{buf: buf, lim: lim.withDefaults()}
	args, n, err = s.command(dst)
	if err != nil {
		return args, 0, err
	}
	return args, n, nil
}

// command parses one command of s.buf into dst.
func (s *scanner) command(dst [][]byte) ([][]byte, int, error) {
	if len(s.buf) == 0 {
		return dst[:0], 0, s.incomplete(1)
	}
	if s.buf[0] == TypeArray {
		return s.multibulk(dst)
	}
	return s.inline(dst)
}

// multibulk parses "*<n>\r\n" and n bulk strings, as processMultibulkBuffer does,
// except that the CRLF after each bulk is checked rather than skipped.
func (s *scanner) multibulk(dst [][]byte) ([][]byte, int, error) {
	args := dst[:0]
	count, pos, err := s.multibulkHeader()
	if err != nil || count == 0 {
		return args, pos, err
	}
	for left := count; left > 0; left-- {
		arg, next, err := s.bulkArg(pos)
		if err != nil {
			if err == ErrIncomplete {
				s.need += (left - 1) * minBulkWire
			}
			return args[:0], 0, err
		}
		args = append(args, arg)
		pos = next
	}
	return args, pos, nil
}

// multibulkHeader parses "*<n>\r\n" and returns n (0 for any n below one, which
// Redis skips as an empty command) and the position after the line.
func (s *scanner) multibulkHeader() (count, next int, err error) {
	end, next, err := s.line(1, maxNumLine, "")
	if err != nil {
		return 0, 0, err
	}
	n, ok := parseInt(s.buf[1:end])
	if !ok {
		return 0, 0, protoErr(s.base, 1, "invalid multibulk length")
	}
	if n <= 0 {
		return 0, next, nil // Redis skips "*0" and "*-1" as empty commands
	}
	if n > s.lim.MaxArrayLen {
		return 0, 0, tooLarge(s.base, 1, "multibulk length", n, s.lim.MaxArrayLen)
	}
	return int(n), next, nil
}

// bulkArg parses the bulk string "$<len>\r\n<bytes>\r\n" of a multibulk command at
// pos and returns its bytes and the position after it.
func (s *scanner) bulkArg(pos int) (arg []byte, next int, err error) {
	if pos >= len(s.buf) {
		return nil, 0, s.incomplete(pos + minBulkWire)
	}
	if c := s.buf[pos]; c != TypeBulkString {
		return nil, 0, protoErr(s.base, pos, "expected '$', got "+strconv.QuoteRune(rune(c)))
	}
	end, next, err := s.line(pos+1, maxNumLine, "")
	if err != nil {
		return nil, 0, err
	}
	size, ok := parseInt(s.buf[pos+1 : end])
	if !ok || size < 0 {
		return nil, 0, protoErr(s.base, pos+1, "invalid bulk length")
	}
	if size > s.lim.MaxBulkLen {
		return nil, 0, tooLarge(s.base, pos+1, "bulk length", size, s.lim.MaxBulkLen)
	}
	stop := next + int(size)
	if stop+2 > len(s.buf) {
		return nil, 0, s.incomplete(stop + 2)
	}
	if s.buf[stop] != '\r' || s.buf[stop+1] != '\n' {
		return nil, 0, protoErr(s.base, stop, "expected CRLF after bulk data")
	}
	return s.buf[next:stop:stop], stop + 2, nil
}
