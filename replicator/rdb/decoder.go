package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Defaults of Options.
const (
	DefaultRawLimit      = 8 << 20
	DefaultChunkElements = 1024
	DefaultChunkBytes    = 1 << 20
	DefaultMaxElement    = 512 << 20
	// MaxVersion is the newest RDB version the decoder reads (Redis 7.4).
	MaxVersion = 12
)

// Options tunes a Decoder. Zero fields take their defaults.
type Options struct {
	// RawLimit is the largest value (serialized bytes) kept in Record.Raw;
	// bigger values are only available through Record.Elements. Default 8 MiB;
	// negative: never keep raw bytes.
	RawLimit int
	// ChunkElements is the most elements in one Chunk. Default 1024.
	ChunkElements int
	// ChunkBytes is about the most bytes in one Chunk (a single element may be
	// bigger). Default 1 MiB.
	ChunkBytes int
	// MaxElement is the largest single string, element, key or encoded blob
	// accepted (Redis's proto-max-bulk-len). Default 512 MiB.
	MaxElement int
	// IgnoreChecksum skips the CRC64 check at the end. Default false.
	IgnoreChecksum bool
	// KeepEmpty yields keys whose value holds no element (Redis skips them at
	// load, and so does the decoder by default).
	KeepEmpty bool
}

func (o *Options) validate() error {
	if o.RawLimit == 0 {
		o.RawLimit = DefaultRawLimit
	}
	if o.ChunkElements <= 0 {
		o.ChunkElements = DefaultChunkElements
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultChunkBytes
	}
	if o.MaxElement <= 0 {
		o.MaxElement = DefaultMaxElement
	}
	return nil
}

// Decoder reads an RDB stream record by record. It holds one read buffer, the
// current record's raw bytes (at most Options.RawLimit) and one chunk of
// elements, whatever the size of the file or of its keys.
type Decoder struct {
	opts    Options
	src     source
	cur     cursor
	version int
	started bool
	done    bool
	err     error

	rec      Record
	db       int
	valStart int64
	pending  bool // a big value's elements are still in the stream
	empty    bool // set by scan: the value holds no element

	keyBuf, auxK, auxV, funcBuf []byte
	blobBuf                     []byte
	lzfIn, lzfOut               []byte
	num                         [24]byte
	b                           builder
	strFn                       func([]byte) error
	pel                         []pelRec
	mf                          []elem
	grpArena                    []byte
	cons                        []consRec
	grp                         StreamGroup
	meta                        StreamMeta

	// Skipped counts keys left out because they were empty.
	Skipped int
}

// NewDecoder returns a decoder reading an RDB (starting with "REDIS") from r.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	d := &Decoder{}
	d.Reset(r, opts)
	return d
}

// Reset makes d read a new RDB from r, keeping its buffers.
func (d *Decoder) Reset(r io.Reader, opts Options) {
	_ = opts.validate()
	d.opts = opts
	d.src.reset(r)
	d.cur = cursor{src: &d.src, tmp: d.cur.tmp, raw: d.cur.raw[:0]}
	d.version, d.started, d.done, d.err, d.db, d.pending = 0, false, false, nil, 0, false
	d.Skipped = 0
	d.strFn = d.b.str
}

// Version returns the RDB version (reading the header if needed).
func (d *Decoder) Version() (int, error) {
	if !d.started {
		if err := d.header(); err != nil {
			return 0, d.fail(err, nil)
		}
	}
	return d.version, nil
}

// Offset returns the number of bytes read so far.
func (d *Decoder) Offset() int64 { return d.src.off }

func (d *Decoder) header() error {
	d.started = true
	p, err := d.cur.next(9)
	if err != nil {
		return err
	}
	if !bytes.Equal(p[:5], []byte("REDIS")) {
		return ErrNotRDB
	}
	v, err := strconv.Atoi(string(p[5:]))
	if err != nil || v < 1 || v > MaxVersion {
		return fmt.Errorf("%w %q", ErrVersion, p[5:])
	}
	d.version = v
	return nil
}

// fail makes err sticky, wrapped with the offset and key.
func (d *Decoder) fail(err error, key []byte) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		var k []byte
		if key != nil {
			k = append([]byte{}, key...)
		}
		err = &DecodeError{Offset: d.cur.offset(), Key: k, Err: err}
	}
	d.err = err
	return err
}

// Next returns the next record, or io.EOF after the EOF opcode (and a
// matching checksum). The record is valid until the next call.
func (d *Decoder) Next() (*Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.done {
		return nil, io.EOF
	}
	if !d.started {
		if err := d.header(); err != nil {
			return nil, d.fail(err, nil)
		}
	}
	if d.pending {
		if d.rec.iterated {
			return nil, d.fail(ErrAbandoned, d.rec.Key)
		}
		if err := d.rec.Elements(nil); err != nil {
			return nil, err
		}
	}
	r := &d.rec
	*r = Record{d: d, Idle: -1, Freq: -1, DB: d.db}
	for {
		r.Offset = d.src.off
		t, err := d.cur.byte1()
		if err != nil {
			return nil, d.fail(err, nil)
		}
		if t == opEOF {
			return nil, d.eof()
		}
		ready, err := d.record(r, t)
		if err != nil {
			return nil, d.fail(err, r.Key)
		}
		if ready {
			return r, nil
		}
	}
}

// record reads what follows the type or opcode t into r; ready is false for
// opcodes that only set state for the next key (and for skipped keys).
func (d *Decoder) record(r *Record, t byte) (ready bool, err error) {
	switch t {
	case opSelectDB:
		n, err := d.length()
		if err == nil && n > 1<<20 {
			err = fmt.Errorf("db number %d is not plausible", n)
		}
		if err != nil {
			return false, err
		}
		d.db, r.DB = int(n), int(n)
	case opResizeDB:
		a, err := d.length()
		if err == nil {
			r.ExpiresSize, err = d.length()
		}
		if err != nil {
			return false, err
		}
		r.Kind, r.DBSize = KindResizeDB, a
		return true, nil
	case opExpireTime:
		p, err := d.cur.next(4)
		if err != nil {
			return false, err
		}
		r.ExpireAt = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
	case opExpireTimeMS:
		v, err := d.u64le()
		if err != nil {
			return false, err
		}
		r.ExpireAt = int64(v)
	case opIdle:
		v, err := d.length()
		if err != nil {
			return false, err
		}
		r.Idle = int64(v & (1<<62 - 1))
	case opFreq:
		v, err := d.cur.byte1()
		if err != nil {
			return false, err
		}
		r.Freq = int(v)
	case opAux:
		if err := d.aux(r); err != nil {
			return false, err
		}
		return true, nil
	case opSlotInfo:
		var err error
		if r.Slot, err = d.length(); err == nil {
			if r.SlotSize, err = d.length(); err == nil {
				r.SlotExpires, err = d.length()
			}
		}
		if err != nil {
			return false, err
		}
		r.Kind = KindSlotInfo
		return true, nil
	case opFunction2, opFunctionPreGA:
		if err := d.function(r, t); err != nil {
			return false, err
		}
		return true, nil
	case opModuleAux:
		if err := d.moduleAux(r); err != nil {
			return false, err
		}
		return true, nil
	default:
		ok, err := d.key(r, t)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
		*r = Record{d: d, Idle: -1, Freq: -1, DB: d.db}
	}
	return false, nil
}

// eof reads the checksum after the EOF opcode.
func (d *Decoder) eof() error {
	d.done = true
	if d.version < 5 {
		return io.EOF
	}
	d.src.flushCRC()
	sum := d.src.crc
	v, err := d.u64le()
	if err != nil {
		return d.fail(fmt.Errorf("reading checksum: %w", err), nil)
	}
	if v != 0 && v != sum && !d.opts.IgnoreChecksum {
		return d.fail(fmt.Errorf("%w: file says %016x, content is %016x", ErrChecksum, v, sum), nil)
	}
	return io.EOF
}

func (d *Decoder) aux(r *Record) error {
	var err error
	if d.auxK, err = d.str(d.auxK[:0]); err != nil {
		return err
	}
	if d.auxV, err = d.str(d.auxV[:0]); err != nil {
		return err
	}
	r.Kind, r.AuxKey, r.AuxValue = KindAux, d.auxK, d.auxV
	if string(d.auxK) == "lua" {
		r.Kind = KindScript
	}
	return nil
}

// function reads a function library. FUNCTION2 is one string, the code,
// whose first line is "#!<engine> name=<library> ...". The 7.0 release
// candidates' FUNCTION is: name, engine, has-description (length), [description], code.
func (d *Decoder) function(r *Record, op byte) error {
	var err error
	r.Kind = KindFunction
	if op == opFunctionPreGA {
		if d.auxK, err = d.str(d.auxK[:0]); err != nil {
			return err
		}
		if d.auxV, err = d.str(d.auxV[:0]); err != nil { // engine
			return err
		}
		has, err := d.length()
		if err != nil {
			return err
		}
		if has != 0 {
			if d.funcBuf, err = d.str(d.funcBuf[:0]); err != nil {
				return err
			}
		}
		if d.funcBuf, err = d.str(d.funcBuf[:0]); err != nil {
			return err
		}
		r.FuncName, r.FuncCode = d.auxK, d.funcBuf
		return nil
	}
	if d.funcBuf, err = d.str(d.funcBuf[:0]); err != nil {
		return err
	}
	r.FuncCode = d.funcBuf
	r.FuncName = libraryName(d.funcBuf)
	return nil
}

// libraryName finds name=<x> on the "#!" first line of a library's code.
func libraryName(code []byte) []byte {
	line := code
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if !bytes.HasPrefix(line, []byte("#!")) {
		return nil
	}
	for _, f := range bytes.Fields(line) {
		if bytes.HasPrefix(f, []byte("name=")) {
			return f[5:]
		}
	}
	return nil
}

// key reads a key and scans its value. ok is false when the key was skipped.
func (d *Decoder) key(r *Record, t byte) (ok bool, err error) {
	vt, known := ValueTypeOf(t)
	if !known {
		if t == TypeModulePreGA {
			return false, fmt.Errorf("module value of a 4.0 release candidate (type 6) is not supported")
		}
		return false, fmt.Errorf("unknown type or opcode %d", t)
	}
	r.Kind, r.Type, r.RDBType = KindKey, vt, t
	if d.keyBuf, err = d.str(d.keyBuf[:0]); err != nil {
		return false, err
	}
	r.Key = d.keyBuf
	d.valStart = d.cur.offset()
	r.ValueOffset = d.valStart
	d.cur.raw = d.cur.raw[:0]
	d.empty = false
	if d.opts.RawLimit < 0 {
		d.pending = true
		return true, nil
	}
	d.cur.capture, d.cur.rawLimit = true, d.opts.RawLimit
	err = d.scan(r, t)
	d.cur.capture = false
	switch {
	case err == nil:
		r.Raw = d.cur.raw
		if d.empty && !d.opts.KeepEmpty {
			d.Skipped++
			return false, nil
		}
		r.Empty = d.empty
		return true, nil
	case errors.Is(err, errOverLimit):
		d.pending = true
		return true, nil
	}
	return false, err
}

// Elements hands the value's elements to fn in chunks (see Chunk), in RDB
// order, and returns fn's first error. The chunk is valid only during the call.
// fn may be nil to skip the value. A value held in Raw may be walked more than
// once; a bigger one is read from the stream, once: stopping it mid-way (fn
// returning an error) makes the decoder unusable.
func (r *Record) Elements(fn func(*Chunk) error) error {
	d := r.d
	if r.Kind != KindKey || d == nil {
		return nil
	}
	if r.Raw != nil {
		saved := d.cur
		d.cur = cursor{mem: r.Raw, mbase: d.valStart, tmp: saved.tmp}
		err := d.parseValue(r, fn)
		if err == nil && d.cur.mpos != len(r.Raw) {
			err = fmt.Errorf("%d bytes left after the value", len(r.Raw)-d.cur.mpos)
		}
		off := d.cur.offset()
		saved.tmp = d.cur.tmp
		d.cur = saved
		if err != nil && !isCallerErr(err) {
			return &DecodeError{Offset: off, Key: append([]byte{}, r.Key...), Err: err}
		}
		return unwrapCaller(err)
	}
	if !d.pending {
		return ErrConsumed
	}
	r.iterated = true
	d.cur.mem, d.cur.mpos, d.cur.mbase = d.cur.raw, 0, d.valStart
	err := d.parseValue(r, fn)
	if err == nil && d.cur.mpos < len(d.cur.mem) {
		err = fmt.Errorf("value ends inside its first %d bytes", len(d.cur.mem))
	}
	d.pending = false
	if err != nil {
		if isCallerErr(err) {
			d.err = fmt.Errorf("%w: %w", ErrAbandoned, unwrapCaller(err))
			return unwrapCaller(err)
		}
		return d.fail(err, r.Key)
	}
	d.cur.mem, d.cur.mpos = nil, 0
	return nil
}

// callerErr marks an error returned by the caller's function, so that it is
// passed back as it is.
type callerErr struct{ err error }

func (e callerErr) Error() string { return e.err.Error() }

// isCallerErr reports a caller's error; parsers return those unwrapped.
func isCallerErr(err error) bool {
	_, ok := err.(callerErr)
	return ok
}

func unwrapCaller(err error) error {
	if c, ok := err.(callerErr); ok {
		return c.err
	}
	return err
}
