package slots

import "fmt"

// keyRange is a run of key indexes first, first+step, ... up to last (inclusive).
type keyRange struct{ first, last, step int }

// maxRanges is the most key ranges a command yields: one per key spec (at most
// gencmd.MaxKeySpecs), or what a key procedure finds.
const maxRanges = 4

// KeyIndexes returns the indexes in args of every key of the command in args,
// appended to dst[:0], in the order of the command's key specs (as COMMAND GETKEYS
// lists them). It handles fixed positions, numkeys arguments (EVAL, ZUNIONSTORE,
// LMPOP, ...), keywords (XREAD STREAMS, SORT STORE, GEORADIUS STORE, MIGRATE KEYS)
// and ranges counted from the end (MSET, DEL, BLPOP). Shard channels (SPUBLISH) are
// not keys. It does not allocate when dst has room for the keys.
//
// It returns an error, wrapping one of ErrNoCommand, ErrUnknownCommand,
// ErrWrongArity or ErrBadKeys, when the command is unknown or its arguments do not
// say where the keys are; every index returned is within args.
func KeyIndexes(args [][]byte, dst []int) ([]int, error) {
	c, err := Lookup(args)
	if err != nil {
		return dst[:0], lookupError(args, err)
	}
	return c.KeyIndexes(args, dst)
}

// KeyIndexes is the package function KeyIndexes for a command already looked up:
// c must be the spec of args (the subcommand's for a container).
func (c *CommandSpec) KeyIndexes(args [][]byte, dst []int) ([]int, error) {
	dst = dst[:0]
	var rs [maxRanges]keyRange
	n, err := c.keyRanges(args, &rs, false)
	if err != nil {
		return dst, err
	}
	for _, r := range rs[:n] {
		for i := r.first; i <= r.last; i += r.step {
			dst = append(dst, i)
		}
	}
	return dst, nil
}

// SameSlot reports whether every key of the command in args hashes to one slot,
// and which. Shard channels (SPUBLISH, SSUBSCRIBE) count as keys here, as Redis
// Cluster routes them by slot. slot is -1 (and ok true) when the command has no
// keys; when the keys span slots, ok is false and slot is the first key's slot.
func SameSlot(args [][]byte) (slot int, ok bool, err error) {
	c, err := Lookup(args)
	if err != nil {
		return -1, false, lookupError(args, err)
	}
	return c.SameSlot(args)
}

// SameSlot is the package function SameSlot for a command already looked up.
func (c *CommandSpec) SameSlot(args [][]byte) (slot int, ok bool, err error) {
	var rs [maxRanges]keyRange
	n, err := c.keyRanges(args, &rs, true)
	if err != nil {
		return -1, false, err
	}
	slot = -1
	for _, r := range rs[:n] {
		for i := r.first; i <= r.last; i += r.step {
			s := Slot(args[i])
			if slot == -1 {
				slot = s
			} else if s != slot {
				return slot, false, nil
			}
		}
	}
	return slot, true, nil
}

func lookupError(args [][]byte, err error) error {
	if len(args) == 0 {
		return err
	}
	if len(args) > 1 && err == ErrWrongArity {
		return err
	}
	return fmt.Errorf("%w %.64q", err, args[0])
}

// keyRanges checks the arity and fills rs with the key ranges of args; notKeys adds
// the specs marked not_key (shard channels).
func (c *CommandSpec) keyRanges(args [][]byte, rs *[maxRanges]keyRange, notKeys bool) (int, error) {
	argc := len(args)
	if (c.Arity > 0 && argc != c.Arity) || (c.Arity < 0 && argc < -c.Arity) {
		return 0, fmt.Errorf("%w for %s: %d (arity %d)", ErrWrongArity, c.Name, argc, c.Arity)
	}
	switch c.proc {
	case keyProcSort:
		return sortKeys(args, rs), nil
	case keyProcMigrate:
		return migrateKeys(c, args, rs)
	}
	n := 0
	for i := range c.KeySpecs {
		ks := &c.KeySpecs[i]
		if ks.Flags&KeyNotKey != 0 && !notKeys {
			continue
		}
		r, found, err := ks.find(args)
		if err != nil {
			return 0, fmt.Errorf("%w for %s: %s", ErrBadKeys, c.Name, err.Error())
		}
		if !found || n == maxRanges {
			continue
		}
		rs[n] = r
		n++
	}
	return n, nil
}

// keyError is a detail of ErrBadKeys; a string type keeps it cheap.
type keyError string

func (e keyError) Error() string { return string(e) }

// find applies the spec to args as Redis does (getKeysUsingKeySpecs): found is false
// when the spec does not apply (keyword absent, unknown search, numkeys 0).
func (ks *KeySpec) find(args [][]byte) (r keyRange, found bool, err error) {
	argc := len(args)
	first := 0
	switch ks.Begin.Type {
	case BeginIndex:
		first = ks.Begin.Index
	case BeginKeyword:
		first = searchKeyword(args, ks.Begin.Keyword, ks.Begin.StartFrom)
		if first == 0 {
			return r, false, nil
		}
	default:
		return r, false, nil
	}
	if first == argc && ks.Begin.Type == BeginIndex && ks.Find.Type == FindRange && ks.Find.LastKey < 0 {
		// A range "to the end" that starts just past the last argument is
		// empty: PFMERGE destkey with no source key (Redis 7.2+ accept and
		// propagate it; their sourcekey is optional).
		return r, false, nil
	}
	if first < 1 || first >= argc {
		return r, false, keyError("first key out of range")
	}
	step := ks.Find.KeyStep
	if step < 1 {
		step = 1
	}
	last := 0
	switch ks.Find.Type {
	case FindRange:
		switch {
		case ks.Find.LastKey >= 0:
			last = first + ks.Find.LastKey
		case ks.Find.Limit <= 0:
			last = argc + ks.Find.LastKey
		default:
			last = first + ((argc-first)/ks.Find.Limit + ks.Find.LastKey)
		}
	case FindKeynum:
		at := first + ks.Find.KeyNumIdx
		if at < 1 || at >= argc {
			return r, false, keyError("no numkeys argument")
		}
		num, ok := parseCount(args[at])
		if !ok {
			return r, false, keyError("numkeys is not a count")
		}
		if num == 0 {
			return r, false, nil
		}
		first += ks.Find.FirstKey
		if num > argc {
			return r, false, keyError("numkeys larger than the arguments")
		}
		last = first + (num-1)*step
	default:
		return r, false, nil
	}
	if first >= argc || last >= argc || last < first {
		return r, false, keyError("keys beyond the arguments")
	}
	return keyRange{first, last, step}, true, nil
}

// searchKeyword finds keyword as Redis does: forward from startFrom to the
// second-to-last argument, or backward from argc+startFrom to index 2 when
// startFrom is negative. It returns the index after the keyword, or 0.
func searchKeyword(args [][]byte, keyword string, startFrom int) int {
	argc := len(args)
	start, end, inc := startFrom, argc-1, 1
	if startFrom <= 0 {
		start, end, inc = argc+startFrom, 1, -1
	}
	for i := start; i != end; i += inc {
		if i >= argc || i < 1 {
			break
		}
		if equalFold(args[i], keyword) {
			return i + 1
		}
	}
	return 0
}

// parseCount parses a non-negative decimal count without allocating.
func parseCount(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 || (b[0] == '0' && len(b) > 1) {
		return 0, false // Redis's string2ll refuses leading zeros too
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// equalFold reports whether b equals s, ASCII case-insensitively (s lower or upper).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
