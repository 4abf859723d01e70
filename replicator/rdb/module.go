package rdb

import (
	"errors"
	"fmt"
)

// Module values (MODULE_2) and module aux data are a 64-bit module id, then
// values each tagged with an opcode (a length), ending with opcode 0:
const (
	modEOF    = 0 // end of the module's data
	modSInt   = 1 // a length holding a signed integer
	modUInt   = 2 // a length holding an unsigned integer
	modFloat  = 3 // 4-byte float
	modDouble = 4 // 8-byte double
	modString = 5 // an RDB string
)

const moduleCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// ModuleName returns the 9-character name in a module type id (its top 54
// bits; the low 10 bits are the encoding version).
func ModuleName(id uint64) string {
	var b [9]byte
	id >>= 10
	for i := 8; i >= 0; i-- {
		b[i] = moduleCharset[id&63]
		id >>= 6
	}
	return string(b[:])
}

// walkModule skips opcode-tagged module data up to and including its EOF.
func (d *Decoder) walkModule() error {
	for {
		op, err := d.length()
		if err != nil {
			return err
		}
		switch op {
		case modEOF:
			return nil
		case modSInt, modUInt:
			_, err = d.length()
		case modFloat:
			_, err = d.cur.next(4)
		case modDouble:
			_, err = d.cur.next(8)
		case modString:
			_, _, err = d.skipStr()
		default:
			err = fmt.Errorf("unknown module opcode %d", op)
		}
		if err != nil {
			return err
		}
	}
}

func (d *Decoder) scanModule(r *Record) error {
	id, err := d.length()
	if err != nil {
		return err
	}
	r.ModuleID, r.ModuleName = id, ModuleName(id)
	return d.walkModule()
}

// moduleAux reads MODULE_AUX: module id, when-opcode (2), when, then data.
// The bytes after the opcode are kept in Raw.
func (d *Decoder) moduleAux(r *Record) error {
	r.Kind = KindModuleAux
	d.cur.raw = d.cur.raw[:0]
	d.cur.capture, d.cur.rawLimit = true, d.opts.MaxElement
	defer func() { d.cur.capture = false }()
	id, err := d.length()
	if err != nil {
		return err
	}
	r.ModuleID, r.ModuleName = id, ModuleName(id)
	op, err := d.length()
	if err != nil {
		return err
	}
	if op != modUInt {
		return fmt.Errorf("module aux of %s: when-opcode %d, want %d", r.ModuleName, op, modUInt)
	}
	if r.ModuleWhen, err = d.length(); err != nil {
		return err
	}
	if err := d.walkModule(); err != nil {
		if errors.Is(err, errOverLimit) {
			err = fmt.Errorf("module aux of %s over %d bytes", r.ModuleName, d.opts.MaxElement)
		}
		return err
	}
	r.Raw = d.cur.raw
	return nil
}
