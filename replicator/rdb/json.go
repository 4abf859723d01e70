package rdb

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// JSONOptions tunes WriteJSON. Zero fields take their defaults.
type JSONOptions struct {
	// Decoder configures the decoder (zero: defaults).
	Decoder Options
	// Now is the clock deciding which keys and 7.4 hash fields have expired
	// and are left out, as Redis leaves them out at load. Default time.Now.
	Now func() time.Time
	// Sort buffers the whole output and sorts it by db, then key bytes, as the
	// fixture files are. Default false: keys are written in RDB order as they
	// are decoded, with bounded memory.
	Sort bool
}

// WriteJSON decodes the RDB read from r and writes one JSON object per line
// and key, in the format of the shared fixtures:
//
//	{"db": 0, "expire_ms": 4102444800123, "key": "<base64>", "type": "string", "value": "<base64>"}
//
// lists as arrays in order, sets as arrays sorted by bytes, zsets as
// [[member, score], ...] in score order with scores as strings ("inf", "2.5"),
// hashes as [[field, value], ...] sorted by field with "field_expire_ms" for
// 7.4 field expires, streams as [[id, [f, v, ...]], ...] with a "stream"
// object (length, last_generated_id, groups with pel and consumers; 7.0+ also
// entries_added, max_deleted_entry_id, entries_read). Function libraries
// follow as {"code": ..., "function_library": name}. Keys, members and values
// are standard base64; names and code are JSON strings.
//
// Memory: strings and lists stream; a set, zset or hash is held whole while
// it is sorted, and so is the output when Sort is set.
func WriteJSON(w io.Writer, r io.Reader, opts JSONOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	j := &jsonWriter{opts: opts, now: opts.Now().UnixMilli()}
	d := NewDecoder(r, opts.Decoder)
	var sorted []sortLine
	var funcs [][]byte
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch rec.Kind {
		case KindKey:
			j.buf = j.buf[:0]
			ok, err := j.key(rec, bw, opts.Sort)
			if err != nil {
				return err
			}
			if ok && opts.Sort {
				sorted = append(sorted, sortLine{rec.DB, string(rec.Key), slices.Clone(j.buf)})
			}
		case KindFunction:
			b := []byte(`{"code": `)
			b = appendPyString(b, rec.FuncCode)
			b = append(b, `, "function_library": `...)
			b = appendPyString(b, rec.FuncName)
			b = append(b, "}\n"...)
			if opts.Sort {
				funcs = append(funcs, b)
			} else if _, err := bw.Write(b); err != nil {
				return err
			}
		}
	}
	if opts.Sort {
		slices.SortFunc(sorted, func(a, b sortLine) int {
			if a.db != b.db {
				return a.db - b.db
			}
			return bytes.Compare([]byte(a.key), []byte(b.key))
		})
		for _, l := range sorted {
			bw.Write(l.line)
		}
		for _, f := range funcs {
			bw.Write(f)
		}
	}
	return bw.Flush()
}

type sortLine struct {
	db   int
	key  string
	line []byte
}

type jsonWriter struct {
	opts  JSONOptions
	now   int64
	buf   []byte
	items []jsonItem
	arena []byte
	meta  StreamMeta
	grps  []jsonGroup
}

type jsonItem struct {
	a, b  span
	score float64
	exp   int64
}

type jsonGroup struct {
	head []byte // "consumers": ... up to "pel": (without the pel)
}

func (j *jsonWriter) str(s span) []byte { return j.arena[s.off : s.off+s.n] }

func (j *jsonWriter) keep(p []byte) span {
	s := span{len(j.arena), len(p)}
	j.arena = append(j.arena, p...)
	return s
}

// key writes one key's line into j.buf (flushed to w when not sorting). ok is
// false when the key is left out (expired, or empty once expired fields are).
func (j *jsonWriter) key(rec *Record, w *bufio.Writer, sorting bool) (bool, error) {
	if rec.ExpireAt != 0 && j.now > rec.ExpireAt {
		return false, rec.Elements(nil)
	}
	b := append(j.buf, `{"db": `...)
	b = strconv.AppendInt(b, int64(rec.DB), 10)
	if rec.ExpireAt != 0 {
		b = append(b, `, "expire_ms": `...)
		b = strconv.AppendInt(b, rec.ExpireAt, 10)
	}
	j.buf = b
	var ok bool
	var err error
	switch rec.Type {
	case ValueSet, ValueZSet, ValueHash:
		ok, err = j.collection(rec)
	case ValueStream:
		if rec.Raw == nil {
			return j.streamed(rec, w, sorting)
		}
		err = j.stream(rec)
		ok = err == nil
	default:
		return j.streamed(rec, w, sorting)
	}
	// A collection or a raw stream is built whole in j.buf: write it out now
	// unless the caller sorts (it keeps j.buf then).
	if ok && !sorting {
		if _, werr := w.Write(j.buf); werr != nil {
			return false, werr
		}
	}
	return ok, err
}

// streamed writes a string, list, module value or big stream as it is
// decoded, flushing to w after each chunk unless sorting.
func (j *jsonWriter) streamed(rec *Record, w *bufio.Writer, sorting bool) (bool, error) {
	var err error
	j.buf = j.appendKey(j.buf, rec)
	typ := rec.Type.String()
	j.buf = append(j.buf, `, "type": "`+typ+`", "value": `...)
	flush := func() error {
		if sorting {
			return nil
		}
		_, err := w.Write(j.buf)
		j.buf = j.buf[:0]
		return err
	}
	switch rec.Type {
	case ValueString, ValueModule:
		err = j.base64Value(rec, flush)
	case ValueList:
		j.buf = append(j.buf, '[')
		first := true
		err = rec.Elements(func(c *Chunk) error {
			for _, it := range c.Items {
				if !first {
					j.buf = append(j.buf, ", "...)
				}
				first = false
				j.buf = appendB64(j.buf, it)
			}
			return flush()
		})
		j.buf = append(j.buf, ']')
		if first && err == nil {
			// No element: an empty list is no key (only seen when not held raw).
			j.buf = j.buf[:0]
			return false, nil
		}
	case ValueStream:
		j.buf = append(j.buf, '[')
		first := true
		j.grps = j.grps[:0]
		err = rec.Elements(func(c *Chunk) error {
			j.streamChunk(c, &first)
			return flush()
		})
		j.buf = append(j.buf, "], "...)
		j.buf = j.appendStreamMeta(j.buf)
	}
	if err != nil {
		return false, err
	}
	j.buf = append(j.buf, "}\n"...)
	return true, flush()
}

// base64Value writes a string (or module raw bytes) as one base64 JSON
// string, encoding the pieces as they come.
func (j *jsonWriter) base64Value(rec *Record, flush func() error) error {
	j.buf = append(j.buf, '"')
	var carry []byte
	err := rec.Elements(func(c *Chunk) error {
		p := c.Str
		if len(carry) > 0 {
			for len(carry) < 3 && len(p) > 0 {
				carry = append(carry, p[0])
				p = p[1:]
			}
			if len(carry) == 3 {
				j.buf = base64.StdEncoding.AppendEncode(j.buf, carry)
				carry = carry[:0]
			}
		}
		n := len(p) / 3 * 3
		j.buf = base64.StdEncoding.AppendEncode(j.buf, p[:n])
		carry = append(carry, p[n:]...)
		return flush()
	})
	if rec.Type == ValueModule && rec.Raw != nil {
		j.buf = base64.StdEncoding.AppendEncode(j.buf, rec.Raw)
	}
	j.buf = base64.StdEncoding.AppendEncode(j.buf, carry)
	j.buf = append(j.buf, '"')
	return err
}

func (j *jsonWriter) appendKey(b []byte, rec *Record) []byte {
	b = append(b, `, "key": `...)
	return appendB64(b, rec.Key)
}

func appendB64(b, p []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

func (j *jsonWriter) collection(rec *Record) (bool, error) {
	j.items, j.arena = j.items[:0], j.arena[:0]
	hasExp := false
	err := rec.Elements(func(c *Chunk) error {
		for i, it := range c.Items {
			x := jsonItem{a: j.keep(it)}
			if c.Values != nil {
				x.b = j.keep(c.Values[i])
			}
			if c.Scores != nil {
				x.score = c.Scores[i]
			}
			if c.FieldExpires != nil {
				x.exp = c.FieldExpires[i]
				if x.exp != 0 && j.now > x.exp {
					continue
				}
				hasExp = hasExp || x.exp != 0
			}
			j.items = append(j.items, x)
		}
		return nil
	})
	if err != nil || len(j.items) == 0 {
		return false, err
	}
	if rec.Type == ValueZSet {
		slices.SortStableFunc(j.items, func(x, y jsonItem) int {
			if x.score != y.score {
				if x.score < y.score {
					return -1
				}
				return 1
			}
			return bytes.Compare(j.str(x.a), j.str(y.a))
		})
	} else {
		slices.SortFunc(j.items, func(x, y jsonItem) int { return bytes.Compare(j.str(x.a), j.str(y.a)) })
	}
	b := j.buf
	if hasExp {
		b = append(b, `, "field_expire_ms": {`...)
		first := true
		for _, x := range j.items {
			if x.exp == 0 {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = appendB64(b, j.str(x.a))
			b = append(b, ": "...)
			b = strconv.AppendInt(b, x.exp, 10)
		}
		b = append(b, '}')
	}
	b = j.appendKey(b, rec)
	b = append(b, `, "type": "`+rec.Type.String()+`", "value": [`...)
	for i, x := range j.items {
		if i > 0 {
			b = append(b, ", "...)
		}
		switch rec.Type {
		case ValueSet:
			b = appendB64(b, j.str(x.a))
		case ValueZSet:
			b = append(b, '[')
			b = appendB64(b, j.str(x.a))
			b = append(b, ", \""...)
			b = AppendScore(b, x.score)
			b = append(b, "\"]"...)
		case ValueHash:
			b = append(b, '[')
			b = appendB64(b, j.str(x.a))
			b = append(b, ", "...)
			b = appendB64(b, j.str(x.b))
			b = append(b, ']')
		}
	}
	j.buf = append(b, "]}\n"...)
	return true, nil
}

// AppendScore appends a score as Redis prints it: "inf", "-inf", integers
// without a fraction, others in the shortest form that reads back the same.
func AppendScore(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == math.Trunc(f) && math.Abs(f) < 1e17:
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// stream writes a stream held in Raw: metadata first (sorted keys), entries after.
func (j *jsonWriter) stream(rec *Record) error {
	j.grps = j.grps[:0]
	if err := rec.Elements(func(c *Chunk) error {
		if c.Stream != nil || c.Group != nil {
			first := true
			j.streamChunk(c, &first)
		}
		return nil
	}); err != nil {
		return err
	}
	b := j.appendKey(j.buf, rec)
	b = append(b, ", "...)
	j.buf = j.appendStreamMeta(b)
	j.buf = append(j.buf, `, "type": "stream", "value": [`...)
	first := true
	if err := rec.Elements(func(c *Chunk) error {
		if c.Stream == nil && c.Group == nil {
			j.streamChunk(c, &first)
		}
		return nil
	}); err != nil {
		return err
	}
	j.buf = append(j.buf, "]}\n"...)
	return nil
}

func (j *jsonWriter) streamChunk(c *Chunk, first *bool) {
	b := j.buf
	for _, e := range c.Entries {
		if !*first {
			b = append(b, ", "...)
		}
		*first = false
		b = append(b, `["`...)
		b = e.ID.Append(b)
		b = append(b, `", [`...)
		for i, f := range e.Fields {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendB64(b, f)
		}
		b = append(b, "]]"...)
	}
	j.buf = b
	if c.Stream != nil {
		j.meta = *c.Stream
	}
	if g := c.Group; g != nil {
		var h []byte
		h = append(h, `{"consumers": [`...)
		for i, cn := range g.Consumers {
			if i > 0 {
				h = append(h, ", "...)
			}
			h = appendPyString(h, cn.Name)
		}
		h = append(h, "], "...)
		if j.meta.V2 {
			h = append(h, `"entries_read": `...)
			if g.EntriesRead < 0 {
				h = append(h, "null"...)
			} else {
				h = strconv.AppendInt(h, g.EntriesRead, 10)
			}
			h = append(h, ", "...)
		}
		h = append(h, `"last_delivered_id": "`...)
		h = g.LastID.Append(h)
		h = append(h, `", "name": `...)
		h = appendPyString(h, g.Name)
		h = append(h, `, "pel": [`...)
		for i, p := range g.PEL {
			if i > 0 {
				h = append(h, ", "...)
			}
			h = append(h, `["`...)
			h = p.ID.Append(h)
			h = append(h, `", `...)
			if p.Consumer == nil {
				h = append(h, "null"...)
			} else {
				h = appendPyString(h, p.Consumer)
			}
			h = append(h, ", "...)
			h = strconv.AppendUint(h, p.DeliveryCount, 10)
			h = append(h, ']')
		}
		h = append(h, "]}"...)
		j.grps = append(j.grps, jsonGroup{head: h})
	}
}

func (j *jsonWriter) appendStreamMeta(b []byte) []byte {
	m := &j.meta
	b = append(b, `"stream": {`...)
	if m.V2 {
		b = append(b, `"entries_added": `...)
		b = strconv.AppendUint(b, m.EntriesAdded, 10)
		b = append(b, ", "...)
	}
	b = append(b, `"groups": [`...)
	for i, g := range j.grps {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, g.head...)
	}
	b = append(b, `], "last_generated_id": "`...)
	b = m.LastID.Append(b)
	b = append(b, `", "length": `...)
	b = strconv.AppendUint(b, m.Length, 10)
	if m.V2 {
		b = append(b, `, "max_deleted_entry_id": "`...)
		b = m.MaxDeletedID.Append(b)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendPyString appends s as a JSON string the way Python's json.dumps
// writes it (non-ASCII escaped as \uXXXX; invalid UTF-8 as U+FFFD).
func appendPyString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || r > 0x7e && r < 0x10000:
			if r == 0x7f {
				b = append(b, byte(r))
				continue
			}
			b = append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
		case r >= 0x10000:
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			b = append(b, '\\', 'u', hex[hi>>12&15], hex[hi>>8&15], hex[hi>>4&15], hex[hi&15])
			b = append(b, '\\', 'u', hex[lo>>12&15], hex[lo>>8&15], hex[lo>>4&15], hex[lo&15])
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// ErrFormat reports an output format Dump does not know.
var ErrFormat = errors.New("xsync/rdb: unknown format")

// Dump writes the RDB read from r to w in the given format ("json", sorted
// like the fixtures when sorted is set). The RESP format lives in package
// package snapshot (snapshot.Dump).
func Dump(w io.Writer, r io.Reader, format string, sorted bool) error {
	if format != "json" && format != "" {
		return ErrFormat
	}
	return WriteJSON(w, r, JSONOptions{Sort: sorted})
}
