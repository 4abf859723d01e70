package resp

import (
	"errors"
	"io"
)

const (
	// readerMinSize is the size of a Reader's buffer when it is first needed, and the
	// size it goes back to after an item grew it past readerShrinkSize.
	readerMinSize = 16 << 10
	// readerShrinkSize is the largest buffer a Reader keeps once it has been
	// drained readerShrinkAfter times in a row without an item that needed it.
	readerShrinkSize  = 1 << 20
	readerShrinkAfter = 64
	// maxEmptyReads is how many (0, nil) reads in a row count as no progress.
	maxEmptyReads = 100
)

// Reader reads RESP from a stream into an internal buffer and hands out slices of it.
// Every slice returned (arguments, values, lines) stays valid only until the next
// call on the Reader. The buffer grows only as far as one item needs, is compacted as
// items are consumed, and, when it grew past 1 MiB, is let go once no item has needed
// that much for 64 drains in a row. A Reader is not safe for concurrent use.
//
// A malformed item gives a *ProtocolError whose Pos is on the Offset scale; it is
// sticky: every later call returns it. Errors of the wrapped io.Reader are returned
// as they are (io.ErrUnexpectedEOF when the stream ends inside an item) and are not
// sticky: the Reader keeps what it buffered, so a call after a read deadline expired
// carries on where it was.
type Reader struct {
	rd   io.Reader
	lim  Limits
	buf  []byte
	r, w int   // buf[r:w] is buffered and not consumed
	off  int64 // bytes consumed so far; buf[r] is at offset off
	args [][]byte
	err  error // sticky protocol error
	rerr error // error of the last read, returned by the next fill
	skip skipper
	// bigSeen counts the drains of an outsized buffer since an item needed it.
	bigSeen int
	// beforeRead, when set, runs before every read of the wrapped io.Reader
	// (SetBeforeRead).
	beforeRead func() error
}

// SetBeforeRead makes r call f before each read of the wrapped io.Reader, that
// is whenever what is buffered does not hold the next item; nil removes it. An
// error of f ends the call that was reading, is returned as it is, and is not
// sticky. A replication link uses it to hand over the work it collected before
// it may wait for the network.
func (r *Reader) SetBeforeRead(f func() error) { r.beforeRead = f }

// NewReader returns a Reader of rd; zero fields of lim take the defaults.
func NewReader(rd io.Reader, lim Limits) *Reader {
	return &Reader{rd: rd, lim: lim.withDefaults()}
}

// Reset makes r read from rd from offset 0, keeping its buffers.
func (r *Reader) Reset(rd io.Reader) {
	r.rd, r.r, r.w, r.off, r.err, r.rerr = rd, 0, 0, 0, nil, nil
	r.skip.reset()
}

// Buffered returns the number of bytes read from the stream and not yet consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// Offset returns the total number of bytes consumed so far: every byte of every item
// returned, of the empty commands skipped by ReadCommand and of Read.
func (r *Reader) Offset() int64 { return r.off }

// ReadCommand reads one command (see ParseCommand for the forms). n is the exact
// number of bytes of this command on the wire plus those of the empty commands
// skipped just before it: an empty or blank inline line (a "\n" keep-alive), "*0"
// or "*-1", which Redis reads and ignores, are consumed, counted, and not returned,
// so that adding up n (or watching Offset) follows the replication offset exactly.
// When an error ends the call, n counts the empty commands consumed before it.
// args is valid until the next call on r.
func (r *Reader) ReadCommand() (args [][]byte, n int, err error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	skipped := 0
	for {
		s := scanner{buf: r.buf[r.r:r.w], base: r.off, lim: r.lim}
		args, m, err := s.command(r.args)
		r.args = args[:0]
		switch {
		case err == nil:
			r.consume(m)
			if len(args) == 0 {
				skipped += m
				continue
			}
			return args, skipped + m, nil
		case err == ErrIncomplete:
			if err := r.wait(s.need, true); err != nil {
				return nil, skipped, err
			}
		default:
			r.err = err
			return nil, skipped, err
		}
	}
}

// ReadValue reads one reply of any RESP2 or RESP3 type (see ParseValue). n is the
// exact number of bytes of the reply on the wire. The byte slices of v are valid
// until the next call on r.
func (r *Reader) ReadValue() (v Value, n int, err error) {
	if r.err != nil {
		return Value{}, 0, r.err
	}
	for {
		s := scanner{buf: r.buf[r.r:r.w], base: r.off, lim: r.lim, framed: r.skip.done && !r.skip.bad && !r.skip.command}
		v = Value{}
		m, err := s.value(&v, 0, 0)
		switch {
		case err == nil:
			r.consume(m)
			return v, m, nil
		case err == ErrIncomplete:
			if err := r.wait(s.need, false); err != nil {
				return Value{}, 0, err
			}
		default:
			r.err = err
			return Value{}, 0, err
		}
	}
}

// ReadLine reads one line and returns it without its end, "\r\n" or a bare "\n"
// (the replication handshake: "+FULLRESYNC <replid> <offset>", "$<len>" or
// "$EOF:<mark>" of the RDB transfer, and the "\n" keep-alives before it, which come
// back as empty lines with n == 1). n counts the line end. A line over MaxInlineLen
// bytes is a *ProtocolError wrapping ErrTooLarge.
func (r *Reader) ReadLine() (line []byte, n int, err error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	scanned := 0
	for {
		max := r.lim.MaxInlineLen
		buf := r.buf[r.r:r.w]
		if len(buf) > max+2 {
			buf = buf[:max+2]
		}
		for i := scanned; i < len(buf); i++ {
			if buf[i] != '\n' {
				continue
			}
			line = buf[:i]
			if i > 0 && line[i-1] == '\r' {
				line = line[:i-1]
			}
			if len(line) > max {
				break
			}
			r.consume(i + 1)
			return line[:len(line):len(line)], i + 1, nil
		}
		if len(buf) >= max+1 && (len(buf) == max+2 || buf[len(buf)-1] != '\r') {
			r.err = &ProtocolError{Pos: r.off, Msg: "line over the limit", Err: ErrTooLarge}
			return nil, 0, r.err
		}
		scanned = len(buf)
		if err := r.fill(len(buf) + 1); err != nil {
			return nil, 0, err
		}
	}
}

// Read reads raw bytes, the buffered ones first, then from the stream; it is how the
// RDB transfer of a full sync is read between ReadLine and ReadCommand. It counts in
// Offset.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.consume(n)
		return n, nil
	}
	if err := r.rerr; err != nil {
		r.rerr = nil
		return 0, err
	}
	n, err := r.rd.Read(p)
	if n < 0 || n > len(p) {
		return 0, ErrNegativeRead
	}
	r.off += int64(n)
	return n, err
}

// endErr maps the end of the stream inside an item to io.ErrUnexpectedEOF.
func (r *Reader) endErr(err error) error {
	if errors.Is(err, io.EOF) && r.w > r.r {
		return io.ErrUnexpectedEOF
	}
	return err
}

// wait reads more of an item that the parser found incomplete, needing at least
// need bytes. For a length-framed item (a reply, a multibulk command) the skipper
// follows the framing through the reads, so that the parser runs again only once
// the whole item is buffered (or a fault is).
func (r *Reader) wait(need int, command bool) error {
	k := &r.skip
	if r.w == r.r || (command && r.buf[r.r] != TypeArray) {
		return r.fill(need)
	}
	if !k.active || k.command != command {
		k.start(command)
	} else if k.done {
		k.bad = true // cannot happen: the parser disagrees with the skipper; let it be
	}
	for !k.bad {
		s := scanner{buf: r.buf[r.r:r.w], base: r.off, lim: r.lim}
		var done bool
		var n int
		if command {
			done, n = k.advanceCommand(&s)
		} else {
			done, n = k.advance(&s)
		}
		if done || k.bad {
			return nil
		}
		if err := r.fill(max(n, need)); err != nil {
			return err
		}
	}
	return r.fill(need)
}

// consume marks n buffered bytes as read and ends the item being followed.
func (r *Reader) consume(n int) {
	r.skip.reset()
	r.r += n
	r.off += int64(n)
	big := n > readerShrinkSize/2
	if big {
		r.bigSeen = 0 // items this big come: keep the room for the next one
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
		if len(r.buf) > readerShrinkSize && !big {
			if r.bigSeen++; r.bigSeen >= readerShrinkAfter {
				r.buf, r.bigSeen = nil, 0 // the next fill allocates a small one
			}
		}
	}
}

// fill reads from the stream until at least need bytes are buffered, and at least
// once. A read error that comes with data is held back for the next fill, so that
// the data is parsed first. A stream that ends returns io.EOF when nothing is
// buffered and io.ErrUnexpectedEOF otherwise.
func (r *Reader) fill(need int) error {
	if err := r.rerr; err != nil {
		r.rerr = nil
		return r.endErr(err)
	}
	for empty, got := 0, 0; ; {
		if r.beforeRead != nil {
			if err := r.beforeRead(); err != nil {
				return err
			}
		}
		r.makeRoom(need)
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return ErrNegativeRead
		}
		r.w += n
		got += n
		if r.w-r.r >= need && n > 0 {
			r.rerr = err
			return nil
		}
		if err != nil {
			if got > 0 {
				// Let the caller parse what came first: a malformed item is then
				// reported as such, not as the end of the stream.
				r.rerr = err
				return nil
			}
			return r.endErr(err)
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty >= maxEmptyReads {
			return io.ErrNoProgress
		}
	}
}

// makeRoom makes space to read into: it moves the buffered bytes to the front when
// need does not fit behind them, and doubles the buffer only when it is full of
// unconsumed bytes. A declared length therefore costs memory only as its bytes
// arrive (at most twice the largest item), never on its word alone.
func (r *Reader) makeRoom(need int) {
	if r.r+need <= len(r.buf) && r.w < len(r.buf) {
		return
	}
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w < len(r.buf) {
		return
	}
	nb := make([]byte, max(2*len(r.buf), readerMinSize))
	r.w = copy(nb, r.buf[:r.w])
	r.buf = nb
}
