package rdb

import (
	"fmt"
	"math"
)

// parseValue decodes the value of r from the cursor, handing chunks to fn.
func (d *Decoder) parseValue(r *Record, fn func(*Chunk) error) error {
	b := &d.b
	b.reset(fn, d.opts.ChunkElements, d.opts.ChunkBytes)
	var err error
	switch t := r.RDBType; t {
	case TypeString:
		err = d.strPieces(d.strFn)
	case TypeList, TypeSet:
		err = d.parseStrings()
	case TypeZSet, TypeZSet2:
		err = d.parseZSet(t)
	case TypeHash, TypeHashMetadata, TypeHashMetadataPreGA:
		err = d.parseHash(t)
	case TypeListZiplist, TypeSetListpack:
		err = d.parseBlobList(t == TypeSetListpack)
	case TypeListQuicklist, TypeListQuicklist2:
		err = d.parseQuicklist(t)
	case TypeSetIntset:
		err = d.parseIntset()
	case TypeZSetZiplist, TypeZSetListpack:
		err = d.parseBlobZSet(t == TypeZSetListpack)
	case TypeHashZiplist, TypeHashListpack, TypeHashListpackEx, TypeHashListpackExPreGA:
		err = d.parseBlobHash(t)
	case TypeHashZipmap:
		err = d.parseZipmap()
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		err = d.parseStream(t)
	case TypeModule2:
		err = d.scanModule(r)
	default:
		err = fmt.Errorf("unknown type %d", t)
	}
	if err != nil {
		return err
	}
	return b.flush()
}

// item reads one string straight into the chunk arena.
func (d *Decoder) item() (span, error) {
	b := &d.b
	off := len(b.arena)
	var err error
	b.arena, err = d.str(b.arena)
	return b.from(off), err
}

func (d *Decoder) parseStrings() error {
	b := &d.b
	n, err := d.count()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		s, err := d.item()
		if err != nil {
			return err
		}
		b.items = append(b.items, s)
		if err := b.done(); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) parseZSet(t byte) error {
	b := &d.b
	n, err := d.count()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		s, err := d.item()
		if err != nil {
			return err
		}
		var f float64
		if t == TypeZSet {
			f, err = d.strDouble()
		} else {
			f, err = d.binDouble()
		}
		if err != nil {
			return err
		}
		if math.IsNaN(f) {
			return fmt.Errorf("zset score is NaN")
		}
		b.items = append(b.items, s)
		b.scores = append(b.scores, f)
		if err := b.done(); err != nil {
			return err
		}
	}
	return nil
}

// parseHash reads a hashtable hash; the 7.4 types add a per-field TTL before
// each field: HASH_METADATA first stores the smallest expire (8 bytes) and
// then each TTL as a length, 0 for none, else expire - minExpire + 1; the
// release candidates' type stores the absolute expire.
func (d *Decoder) parseHash(t byte) error {
	b := &d.b
	var minExp uint64
	if t == TypeHashMetadata {
		v, err := d.u64le()
		if err != nil {
			return err
		}
		minExp = v
	}
	ttl := t != TypeHash
	b.hasFexp = ttl
	n, err := d.count()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		var exp uint64
		if ttl {
			if exp, err = d.length(); err != nil {
				return err
			}
			if exp != 0 && t == TypeHashMetadata {
				exp += minExp - 1
			}
		}
		f, err := d.item()
		if err != nil {
			return err
		}
		v, err := d.item()
		if err != nil {
			return err
		}
		b.items = append(b.items, f)
		b.vals = append(b.vals, v)
		if ttl {
			b.fexp = append(b.fexp, int64(exp))
		}
		if err := b.done(); err != nil {
			return err
		}
	}
	return nil
}

// blob reads one string that holds an encoded blob (ziplist, listpack,
// intset, zipmap). Held in memory it is not copied.
func (d *Decoder) blob() ([]byte, error) {
	n, enc, err := d.readLen()
	if err != nil {
		return nil, err
	}
	c := &d.cur
	if !enc {
		if n > uint64(d.opts.MaxElement) {
			return nil, fmt.Errorf("blob of %d bytes is over the limit", n)
		}
		if c.src == nil && uint64(len(c.mem)-c.mpos) >= n {
			p := c.mem[c.mpos : c.mpos+int(n)]
			c.mpos += int(n)
			return p, nil
		}
		d.blobBuf = d.blobBuf[:0]
		err = c.pieces(n, func(p []byte) error { d.blobBuf = append(d.blobBuf, p...); return nil })
		return d.blobBuf, err
	}
	if n != encLZF {
		return nil, fmt.Errorf("encoded blob is an integer")
	}
	clen, ulen, err := d.lzfLens()
	if err != nil {
		return nil, err
	}
	d.blobBuf = d.blobBuf[:0]
	err = d.lzf(clen, ulen, func(p []byte) error { d.blobBuf = append(d.blobBuf, p...); return nil })
	return d.blobBuf, err
}

func (d *Decoder) parseBlobList(isLP bool) error {
	p, err := d.blob()
	if err != nil {
		return err
	}
	return d.blobItems(p, isLP)
}

// blobItems adds every element of a ziplist or listpack as an item.
func (d *Decoder) blobItems(p []byte, isLP bool) error {
	b := &d.b
	it, err := newBlobIter(p, isLP)
	if err != nil {
		return err
	}
	for {
		e, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		b.items = append(b.items, b.addE(e))
		if err := b.done(); err != nil {
			return err
		}
	}
}

func (d *Decoder) parseQuicklist(t byte) error {
	n, err := d.count()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if t == TypeListQuicklist2 {
			c, err := d.length()
			if err != nil {
				return err
			}
			if c == qlPlain {
				s, err := d.item()
				if err != nil {
					return err
				}
				d.b.items = append(d.b.items, s)
				if err := d.b.done(); err != nil {
					return err
				}
				continue
			}
			if c != qlPacked {
				return fmt.Errorf("bad quicklist container %d", c)
			}
		}
		p, err := d.blob()
		if err != nil {
			return err
		}
		if err := d.blobItems(p, t == TypeListQuicklist2); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) parseIntset() error {
	b := &d.b
	p, err := d.blob()
	if err != nil {
		return err
	}
	it, err := newIntset(p)
	if err != nil {
		return err
	}
	for {
		v, ok := it.next()
		if !ok {
			return nil
		}
		b.items = append(b.items, b.addInt(v))
		if err := b.done(); err != nil {
			return err
		}
	}
}

func (d *Decoder) parseBlobZSet(isLP bool) error {
	b := &d.b
	p, err := d.blob()
	if err != nil {
		return err
	}
	it, err := newBlobIter(p, isLP)
	if err != nil {
		return err
	}
	for {
		m, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		s, err := it.must()
		if err != nil {
			return err
		}
		f, err := s.float()
		if err != nil {
			return err
		}
		b.items = append(b.items, b.addE(m))
		b.scores = append(b.scores, f)
		if err := b.done(); err != nil {
			return err
		}
	}
}

// parseBlobHash reads field/value pairs of a ziplist or listpack; the 7.4
// listpack-ex types hold field/value/expire triplets (expire 0: none), after
// the smallest expire (8 bytes) in the GA type.
func (d *Decoder) parseBlobHash(t byte) error {
	b := &d.b
	if t == TypeHashListpackEx {
		if _, err := d.u64le(); err != nil {
			return err
		}
	}
	ex := t == TypeHashListpackEx || t == TypeHashListpackExPreGA
	b.hasFexp = ex
	p, err := d.blob()
	if err != nil {
		return err
	}
	it, err := newBlobIter(p, t != TypeHashZiplist)
	if err != nil {
		return err
	}
	for {
		f, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		v, err := it.must()
		if err != nil {
			return err
		}
		if ex {
			e, err := it.must()
			if err != nil {
				return err
			}
			ms, err := e.integer()
			if err != nil {
				return err
			}
			b.fexp = append(b.fexp, ms)
		}
		b.items = append(b.items, b.addE(f))
		b.vals = append(b.vals, b.addE(v))
		if err := b.done(); err != nil {
			return err
		}
	}
}

func (d *Decoder) parseZipmap() error {
	b := &d.b
	p, err := d.blob()
	if err != nil {
		return err
	}
	it, err := newZM(p)
	if err != nil {
		return err
	}
	for {
		f, v, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		b.items = append(b.items, b.add(f))
		b.vals = append(b.vals, b.add(v))
		if err := b.done(); err != nil {
			return err
		}
	}
}
