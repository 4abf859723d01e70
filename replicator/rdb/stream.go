package rdb

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// A stream value (STREAM_LISTPACKS v1, v2 = 7.0, v3 = 7.2):
//
//	<n nodes> (<node key: master id, 16 bytes big-endian> <listpack>)...
//	<length> <last id ms> <last id seq>
//	v2+: <first id ms/seq> <max deleted id ms/seq> <entries added>
//	<n groups> (<name> <last id ms/seq> [v2+: <entries read>]
//	    <n pel> (<id 16 bytes> <delivery time 8 bytes le> <delivery count>)...
//	    <n consumers> (<name> <seen time 8 le> [v3: <active time 8 le>]
//	        <n pel> (<id 16 bytes>)...)...)...
//
// A node's listpack starts with the master entry: count, deleted, number of
// master fields, the fields, 0. Then each entry: flags, ms delta, seq delta,
// values (flag SAMEFIELDS) or number of fields and field/value pairs, then
// the number of listpack elements of the entry.
const (
	streamDeleted    = 1 // entry flag: deleted
	streamSameFields = 2 // entry flag: has the master entry's fields
)

type pelRec struct {
	id    StreamID
	time  int64
	count uint64
	cons  int32
}

type consRec struct {
	name         span
	seen, active int64
	pending      int
}

func rawID(p []byte) StreamID {
	return StreamID{binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:])}
}

func (d *Decoder) streamID() (StreamID, error) {
	ms, err := d.length()
	if err != nil {
		return StreamID{}, err
	}
	seq, err := d.length()
	return StreamID{ms, seq}, err
}

func (d *Decoder) parseStream(t byte) error {
	b := &d.b
	n, err := d.count()
	if err != nil {
		return err
	}
	var key [16]byte
	for i := 0; i < n; i++ {
		k, err := d.str(key[:0])
		if err != nil {
			return err
		}
		if len(k) != 16 {
			return fmt.Errorf("stream node key of %d bytes", len(k))
		}
		master := rawID(k)
		lp, err := d.blob()
		if err != nil {
			return err
		}
		if err := d.streamNode(master, lp); err != nil {
			return err
		}
	}
	m := &d.meta
	*m = StreamMeta{}
	if m.Length, err = d.length(); err != nil {
		return err
	}
	if m.LastID, err = d.streamID(); err != nil {
		return err
	}
	if t >= TypeStreamListpacks2 {
		m.V2 = true
		if m.FirstID, err = d.streamID(); err != nil {
			return err
		}
		if m.MaxDeletedID, err = d.streamID(); err != nil {
			return err
		}
		if m.EntriesAdded, err = d.length(); err != nil {
			return err
		}
	}
	groups, err := d.count()
	if err != nil {
		return err
	}
	m.Groups = uint64(groups)
	if err := b.emit(Chunk{Stream: m}); err != nil {
		return err
	}
	for g := 0; g < groups; g++ {
		if err := d.streamGroup(t); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) streamNode(master StreamID, lp []byte) error {
	b := &d.b
	it, err := newLP(lp)
	if err != nil {
		return err
	}
	ints := func(k int) ([3]int64, error) {
		var v [3]int64
		for i := 0; i < k; i++ {
			e, err := it.must()
			if err == nil {
				v[i], err = e.integer()
			}
			if err != nil {
				return v, err
			}
		}
		return v, nil
	}
	hdr, err := ints(3) // count, deleted, master fields
	if err != nil {
		return err
	}
	nmf := hdr[2]
	if nmf < 0 || nmf > int64(len(lp)) {
		return fmt.Errorf("stream node with %d master fields", nmf)
	}
	mf := d.mf[:0]
	for i := int64(0); i < nmf; i++ {
		e, err := it.must()
		if err != nil {
			return err
		}
		mf = append(mf, e)
	}
	d.mf = mf
	if z, err := ints(1); err != nil || z[0] != 0 {
		return fmt.Errorf("stream master entry not terminated: %v", err)
	}
	for {
		e, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		flags, err := e.integer()
		if err != nil {
			return err
		}
		v, err := ints(2)
		if err != nil {
			return err
		}
		id := StreamID{master.Ms + uint64(v[0]), master.Seq + uint64(v[1])}
		keep := flags&streamDeleted == 0
		f0 := len(b.fields)
		if flags&streamSameFields != 0 {
			for _, f := range mf {
				val, err := it.must()
				if err != nil {
					return err
				}
				if keep {
					b.fields = append(b.fields, b.addE(f), b.addE(val))
				}
			}
		} else {
			nf, err := ints(1)
			if err != nil {
				return err
			}
			if nf[0] < 0 || nf[0] > int64(len(lp)) {
				return fmt.Errorf("stream entry with %d fields", nf[0])
			}
			for j := int64(0); j < 2*nf[0]; j++ {
				x, err := it.must()
				if err != nil {
					return err
				}
				if keep {
					b.fields = append(b.fields, b.addE(x))
				}
			}
		}
		if _, err := ints(1); err != nil { // lp-count
			return err
		}
		if keep {
			b.entries = append(b.entries, entrySpan{id: id, f0: f0, f1: len(b.fields)})
			if err := b.done(); err != nil {
				return err
			}
		}
	}
}

// streamGroup reads one consumer group, joins its PEL with its consumers'
// PELs and hands it on as one chunk.
func (d *Decoder) streamGroup(t byte) error {
	g := &d.grp
	d.grpArena = d.grpArena[:0]
	var err error
	if d.grpArena, err = d.str(d.grpArena); err != nil {
		return err
	}
	nameEnd := len(d.grpArena)
	if g.LastID, err = d.streamID(); err != nil {
		return err
	}
	g.EntriesRead = -1
	if t >= TypeStreamListpacks2 {
		v, err := d.length()
		if err != nil {
			return err
		}
		g.EntriesRead = int64(v)
	}
	if err := d.groupPEL(); err != nil {
		return err
	}
	if err := d.groupConsumers(t); err != nil {
		return err
	}
	a := d.grpArena
	g.Name = a[:nameEnd:nameEnd]
	g.Consumers = g.Consumers[:0]
	for _, c := range d.cons {
		g.Consumers = append(g.Consumers, Consumer{Name: a[c.name.off : c.name.off+c.name.n],
			SeenTime: c.seen, ActiveTime: c.active, Pending: c.pending})
	}
	g.PEL = g.PEL[:0]
	for _, r := range d.pel {
		pe := PendingEntry{ID: r.id, DeliveryTime: r.time, DeliveryCount: r.count}
		if r.cons >= 0 {
			pe.Consumer = g.Consumers[r.cons].Name
		}
		g.PEL = append(g.PEL, pe)
	}
	return d.b.emit(Chunk{Group: g})
}

func cmpPEL(r pelRec, id StreamID) int {
	switch {
	case idLess(r.id, id):
		return -1
	case idLess(id, r.id):
		return 1
	}
	return 0
}

// groupPEL reads a group's PEL into d.pel, in id order.
func (d *Decoder) groupPEL() error {
	np, err := d.count()
	if err != nil {
		return err
	}
	d.pel = d.pel[:0]
	sorted := true
	for i := 0; i < np; i++ {
		p, err := d.cur.next(24)
		if err != nil {
			return err
		}
		r := pelRec{id: rawID(p), time: int64(binary.LittleEndian.Uint64(p[16:])), cons: -1}
		if r.count, err = d.length(); err != nil {
			return err
		}
		if n := len(d.pel); n > 0 && !idLess(d.pel[n-1].id, r.id) {
			sorted = false
		}
		d.pel = append(d.pel, r)
	}
	if !sorted {
		slices.SortFunc(d.pel, func(a, b pelRec) int { return cmpPEL(a, b.id) })
	}
	return nil
}

// groupConsumers reads a group's consumers into d.cons, marking the PEL
// entries each one owns.
func (d *Decoder) groupConsumers(t byte) error {
	nc, err := d.count()
	if err != nil {
		return err
	}
	d.cons = d.cons[:0]
	for c := 0; c < nc; c++ {
		off := len(d.grpArena)
		if d.grpArena, err = d.str(d.grpArena); err != nil {
			return err
		}
		cr := consRec{name: span{off, len(d.grpArena) - off}, active: -1}
		k := 8
		if t >= TypeStreamListpacks3 {
			k = 16
		}
		p, err := d.cur.next(k)
		if err != nil {
			return err
		}
		cr.seen = int64(binary.LittleEndian.Uint64(p))
		if k == 16 {
			cr.active = int64(binary.LittleEndian.Uint64(p[8:]))
		}
		if cr.pending, err = d.count(); err != nil {
			return err
		}
		for i := 0; i < cr.pending; i++ {
			p, err := d.cur.next(16)
			if err != nil {
				return err
			}
			id := rawID(p)
			j, found := slices.BinarySearchFunc(d.pel, id, cmpPEL)
			if !found {
				return fmt.Errorf("consumer's pending entry %s is not in the group's PEL", id)
			}
			if d.pel[j].cons >= 0 {
				return fmt.Errorf("pending entry %s owned by two consumers", id)
			}
			d.pel[j].cons = int32(c)
		}
		d.cons = append(d.cons, cr)
	}
	return nil
}

func idLess(a, b StreamID) bool {
	return a.Ms < b.Ms || a.Ms == b.Ms && a.Seq < b.Seq
}
