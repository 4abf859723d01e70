package resp

// skipper follows the framing of one item across Reader fills, so that an item
// spread over many reads (a reply of a million elements, an MSET of a million
// arguments) is not parsed again from its first byte after every read: the parser
// runs again once the skipper has seen the item's last byte, or a fault.
//
// The skipper passes over each element with the parser's own functions (the scalar
// parsers, the aggregate header, the bulk argument of a command) at the depth the
// parser would use, so it stops where the parser would fail: it changes how often
// the parser runs, never what it returns.
type skipper struct {
	active  bool
	command bool // following a multibulk command rather than a reply
	bad     bool // the skipper met a fault: the parser runs now and reports it
	done    bool // the item ended within the buffer
	pos     int  // next byte to look at, counted from the start of the item
	stack   []skipFrame
}

// skipFrame is an open aggregate: how many elements are still to come, at which
// depth they are parsed, and whether it is an attribute (whose last element, the
// annotated value, counts in the enclosing aggregate).
type skipFrame struct {
	left  int
	depth int
	attr  bool
}

// reset forgets the item.
func (k *skipper) reset() {
	k.active, k.bad, k.done, k.pos, k.stack = false, false, false, 0, k.stack[:0]
}

// start begins following the item that the parser found incomplete.
func (k *skipper) start(command bool) {
	k.active, k.command, k.bad, k.done, k.pos = true, command, false, false, 0
	k.stack = append(k.stack[:0], skipFrame{left: 1})
}

// advance follows a reply in s.buf (which starts with it) as far as s.buf goes. It
// returns done when the reply ends within the buffer, or else the fewest bytes of
// the buffer it is known to take; it sets k.bad on a fault.
func (k *skipper) advance(s *scanner) (done bool, need int) {
	for {
		if len(k.stack) == 0 {
			k.done = true
			return true, 0
		}
		depth := k.stack[len(k.stack)-1].depth
		if k.pos >= len(s.buf) {
			return false, k.pos + 1
		}
		var next int
		var err error
		switch t := s.buf[k.pos]; t {
		case TypeArray, TypeSet, TypePush, TypeMap, TypeAttribute:
			var total int
			total, next, err = s.header(t, k.pos, depth)
			if err != nil {
				break
			}
			switch {
			case t == TypeAttribute:
				// The pairs, then the annotated value one level deeper.
				k.stack = append(k.stack, skipFrame{left: total + 1, depth: depth + 1, attr: true})
			case total > 0:
				k.pop() // an aggregate counts in its parent when it opens
				k.stack = append(k.stack, skipFrame{left: total, depth: depth + 1})
			default:
				k.pop()
			}
		default:
			var scalar Value
			next, err = s.value(&scalar, k.pos, depth)
			if err == nil {
				k.pop()
			}
		}
		switch {
		case err == ErrIncomplete:
			return false, s.need
		case err != nil:
			k.bad = true
			return false, 0
		}
		k.pos = next
	}
}

// advanceCommand follows a multibulk command in s.buf (which starts with it).
func (k *skipper) advanceCommand(s *scanner) (done bool, need int) {
	if k.pos == 0 {
		count, next, err := s.multibulkHeader()
		switch {
		case err == ErrIncomplete:
			return false, s.need
		case err != nil || count == 0:
			k.bad = true // a fault, or an empty command: nothing to follow
			return false, 0
		}
		k.pos, k.stack[0].left = next, count
	}
	for k.stack[0].left > 0 {
		_, next, err := s.bulkArg(k.pos)
		switch {
		case err == ErrIncomplete:
			return false, s.need
		case err != nil:
			k.bad = true
			return false, 0
		}
		k.pos = next
		k.stack[0].left--
	}
	k.done = true
	return true, 0
}

// pop counts one element done and closes the aggregates it completes: an aggregate
// was counted in its parent when it opened, an attribute counts when its annotated
// value is done.
func (k *skipper) pop() {
	for len(k.stack) > 0 {
		top := &k.stack[len(k.stack)-1]
		if top.left--; top.left > 0 {
			return
		}
		attr := top.attr
		k.stack = k.stack[:len(k.stack)-1]
		if !attr {
			return
		}
	}
}
