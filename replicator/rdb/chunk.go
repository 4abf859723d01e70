package rdb

import "strconv"

type span struct{ off, n int }

type entrySpan struct {
	id     StreamID
	f0, f1 int // range in fields
}

// builder gathers elements into a Chunk and hands it on when it holds
// maxElems elements or maxBytes bytes. Element bytes are copied into one arena
// that is reused from chunk to chunk.
type builder struct {
	fn       func(*Chunk) error
	maxElems int
	maxBytes int
	arena    []byte
	items    []span
	vals     []span
	scores   []float64
	fexp     []int64
	hasFexp  bool
	entries  []entrySpan
	fields   []span
	isStr    bool
	c        Chunk
	views    [][]byte
	ents     []StreamEntry
}

func (b *builder) reset(fn func(*Chunk) error, maxElems, maxBytes int) {
	b.fn, b.maxElems, b.maxBytes = fn, maxElems, maxBytes
	b.clear()
	b.hasFexp, b.isStr = false, false
}

func (b *builder) clear() {
	b.arena = b.arena[:0]
	b.items = b.items[:0]
	b.vals = b.vals[:0]
	b.scores = b.scores[:0]
	b.fexp = b.fexp[:0]
	b.entries = b.entries[:0]
	b.fields = b.fields[:0]
}

func (b *builder) add(p []byte) span {
	s := span{len(b.arena), len(p)}
	b.arena = append(b.arena, p...)
	return s
}

func (b *builder) addE(e elem) span {
	off := len(b.arena)
	b.arena = e.appendTo(b.arena)
	return span{off, len(b.arena) - off}
}

func (b *builder) addInt(v int64) span {
	off := len(b.arena)
	b.arena = strconv.AppendInt(b.arena, v, 10)
	return span{off, len(b.arena) - off}
}

// from records the arena bytes from off on as a span.
func (b *builder) from(off int) span { return span{off, len(b.arena) - off} }

// done ends one element and flushes a full chunk.
func (b *builder) done() error {
	if len(b.items)+len(b.entries) >= b.maxElems || len(b.arena) >= b.maxBytes {
		return b.flush()
	}
	return nil
}

// str adds a piece of a string value.
func (b *builder) str(p []byte) error {
	b.isStr = true
	if len(b.arena) > 0 && len(b.arena)+len(p) > b.maxBytes {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if len(p) >= b.maxBytes && len(b.arena) == 0 {
		// Big piece: hand it on without copying.
		b.c = Chunk{Str: p}
		return b.call()
	}
	b.arena = append(b.arena, p...)
	return nil
}

func (b *builder) view(s span) []byte { return b.arena[s.off : s.off+s.n : s.off+s.n] }

// flush hands the gathered elements on (if any).
func (b *builder) flush() error {
	if len(b.items) == 0 && len(b.entries) == 0 && !(b.isStr && len(b.arena) > 0) {
		return nil
	}
	b.c = Chunk{}
	if b.isStr {
		b.c.Str = b.arena
	}
	v := b.views[:0]
	for _, s := range b.items {
		v = append(v, b.view(s))
	}
	for _, s := range b.vals {
		v = append(v, b.view(s))
	}
	for _, s := range b.fields {
		v = append(v, b.view(s))
	}
	b.views = v
	n := len(b.items)
	if n > 0 {
		b.c.Items = v[:n:n]
	}
	if len(b.vals) > 0 {
		b.c.Values = v[n : n+len(b.vals) : n+len(b.vals)]
	}
	if len(b.scores) > 0 {
		b.c.Scores = b.scores
	}
	if b.hasFexp && n > 0 {
		b.c.FieldExpires = b.fexp
	}
	if len(b.entries) > 0 {
		fv := v[n+len(b.vals):]
		e := b.ents[:0]
		for _, es := range b.entries {
			e = append(e, StreamEntry{ID: es.id, Fields: fv[es.f0:es.f1:es.f1]})
		}
		b.ents = e
		b.c.Entries = e
	}
	err := b.call()
	b.clear()
	return err
}

// emit flushes, then hands on a chunk of its own (stream metadata, groups).
func (b *builder) emit(c Chunk) error {
	if err := b.flush(); err != nil {
		return err
	}
	b.c = c
	return b.call()
}

// call hands b.c to fn, marking fn's error as the caller's.
func (b *builder) call() error {
	if b.fn == nil {
		return nil
	}
	if err := b.fn(&b.c); err != nil {
		return callerErr{err}
	}
	return nil
}
