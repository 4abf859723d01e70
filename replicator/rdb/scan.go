package rdb

import (
	"encoding/binary"
	"fmt"
)

// scan walks a value without decoding it, while the cursor captures its raw
// bytes. It finds where the value ends and whether it is empty.
func (d *Decoder) scan(r *Record, t byte) error {
	switch t {
	case TypeString:
		_, _, err := d.skipStr()
		return err
	case TypeList, TypeSet:
		return d.scanN(1, false)
	case TypeHash:
		return d.scanN(2, false)
	case TypeZSet, TypeZSet2:
		n, err := d.count()
		if err != nil {
			return err
		}
		d.empty = n == 0
		for i := 0; i < n; i++ {
			if _, _, err := d.skipStr(); err != nil {
				return err
			}
			if t == TypeZSet {
				err = d.skipStrDouble()
			} else {
				_, err = d.cur.next(8)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case TypeHashMetadata, TypeHashMetadataPreGA:
		if t == TypeHashMetadata {
			if _, err := d.cur.next(8); err != nil {
				return err
			}
		}
		return d.scanN(2, true)
	case TypeHashListpackEx, TypeHashListpackExPreGA:
		if t == TypeHashListpackEx {
			if _, err := d.cur.next(8); err != nil {
				return err
			}
		}
		return d.scanBlob(t)
	case TypeHashZipmap, TypeListZiplist, TypeSetIntset, TypeZSetZiplist,
		TypeHashZiplist, TypeHashListpack, TypeZSetListpack, TypeSetListpack:
		return d.scanBlob(t)
	case TypeListQuicklist, TypeListQuicklist2:
		n, err := d.count()
		if err != nil {
			return err
		}
		empty := true
		for i := 0; i < n; i++ {
			if t == TypeListQuicklist2 {
				c, err := d.length()
				if err != nil {
					return err
				}
				if c == qlPlain {
					if _, _, err := d.skipStr(); err != nil {
						return err
					}
					empty = false
					continue
				}
				if c != qlPacked {
					return fmt.Errorf("bad quicklist container %d", c)
				}
			}
			if err := d.scanBlob(t); err != nil {
				return err
			}
			empty = empty && d.empty
		}
		d.empty = empty
		return nil
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return d.scanStream(t)
	case TypeModule2:
		return d.scanModule(r)
	}
	return fmt.Errorf("unknown type %d", t)
}

// scanN skips a count, then count groups of per strings (each after a
// length when ttl is set).
func (d *Decoder) scanN(per int, ttl bool) error {
	n, err := d.count()
	if err != nil {
		return err
	}
	d.empty = n == 0
	for i := 0; i < n; i++ {
		if ttl {
			if _, err := d.length(); err != nil {
				return err
			}
		}
		for j := 0; j < per; j++ {
			if _, _, err := d.skipStr(); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanBlob skips an encoded blob and sets d.empty from its header.
func (d *Decoder) scanBlob(t byte) error {
	n, plain, err := d.skipStr()
	if err != nil {
		return err
	}
	d.empty = false
	if !plain {
		return nil
	}
	raw := d.cur.raw
	if uint64(len(raw)) < n {
		return nil
	}
	b := raw[uint64(len(raw))-n:]
	switch t {
	case TypeHashZipmap:
		d.empty = len(b) >= 2 && b[1] == 0xFF
	case TypeSetIntset:
		d.empty = len(b) >= 8 && binary.LittleEndian.Uint32(b[4:]) == 0
	case TypeListZiplist, TypeZSetZiplist, TypeHashZiplist, TypeListQuicklist:
		d.empty = len(b) >= 11 && binary.LittleEndian.Uint16(b[8:]) == 0
	default:
		d.empty = len(b) >= 7 && binary.LittleEndian.Uint16(b[4:]) == 0
	}
	return nil
}

// Quicklist 2 node containers.
const (
	qlPlain  = 1 // the node is one element, a plain string
	qlPacked = 2 // the node is a listpack
)

// scanStream skips a stream (see parseStream for the layout).
func (d *Decoder) scanStream(t byte) error {
	n, err := d.count()
	if err != nil {
		return err
	}
	for i := 0; i < 2*n; i++ {
		if _, _, err := d.skipStr(); err != nil {
			return err
		}
	}
	k := 3
	if t >= TypeStreamListpacks2 {
		k = 8
	}
	for i := 0; i < k; i++ {
		if _, err := d.length(); err != nil {
			return err
		}
	}
	groups, err := d.count()
	if err != nil {
		return err
	}
	for g := 0; g < groups; g++ {
		if _, _, err := d.skipStr(); err != nil {
			return err
		}
		k := 2
		if t >= TypeStreamListpacks2 {
			k = 3
		}
		for i := 0; i < k; i++ {
			if _, err := d.length(); err != nil {
				return err
			}
		}
		pel, err := d.count()
		if err != nil {
			return err
		}
		for i := 0; i < pel; i++ {
			if _, err := d.cur.next(24); err != nil {
				return err
			}
			if _, err := d.length(); err != nil {
				return err
			}
		}
		cons, err := d.count()
		if err != nil {
			return err
		}
		for c := 0; c < cons; c++ {
			if _, _, err := d.skipStr(); err != nil {
				return err
			}
			k := 8
			if t >= TypeStreamListpacks3 {
				k = 16
			}
			if _, err := d.cur.next(k); err != nil {
				return err
			}
			np, err := d.count()
			if err != nil {
				return err
			}
			for i := 0; i < np; i++ {
				if _, err := d.cur.next(16); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
