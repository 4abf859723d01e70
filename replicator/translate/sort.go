package translate

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// maxSortElements bounds what an evaluated SORT holds in memory.
const maxSortElements = 1 << 20

// sortSpec is a parsed SORT (sort.c sortCommandGeneric): the options that
// change the result, and where the STORE key is.
type sortSpec struct {
	by         []byte // BY pattern (nil: none)
	gets       [][]byte
	desc       bool
	alpha      bool
	limit      bool
	start, cnt int64
	store      int // arg index of the STORE key, 0: none
}

// parseSort parses SORT's options as sortCommandGeneric does (later BY and
// LIMIT win, GET accumulates).
func parseSort(args [][]byte) (sortSpec, error) {
	var s sortSpec
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case eqFold(a, "asc"):
			s.desc = false
		case eqFold(a, "desc"):
			s.desc = true
		case eqFold(a, "alpha"):
			s.alpha = true
		case eqFold(a, "limit") && left >= 2:
			st, ok1 := parseInt(args[j+1])
			ct, ok2 := parseInt(args[j+2])
			if !ok1 || !ok2 {
				return s, fmt.Errorf("%w: SORT LIMIT needs integers", ErrSyntax)
			}
			s.limit, s.start, s.cnt = true, st, ct
			j += 2
		case eqFold(a, "store") && left >= 1:
			s.store = j + 1
			j++
		case eqFold(a, "by") && left >= 1:
			s.by = args[j+1]
			j++
		case eqFold(a, "get") && left >= 1:
			s.gets = append(s.gets, args[j+1])
			j++
		default:
			return s, fmt.Errorf("%w: SORT: unexpected %s", ErrSyntax, printable(a))
		}
	}
	return s, nil
}

// patterns reports whether the SORT reads keys through patterns: a BY with a
// '*' (one without is "don't sort") or any GET. A Redis Cluster refuses those
// before 7.4, and from 7.4 on unless the pattern's hash slot is the key's.
func (s *sortSpec) patterns() bool {
	if s == nil {
		return false
	}
	return len(s.gets) > 0 || s.by != nil && bytes.IndexByte(s.by, '*') >= 0
}

// sortPatterns reports whether args is a SORT that reads keys through patterns.
func sortPatterns(args [][]byte) bool {
	s, err := parseSort(args)
	return err == nil && s.patterns()
}

// patternSlot is the slot every key a pattern can form hashes to, or -1
// (cluster.c patternHashSlot): a wildcard or escape before a complete
// non-empty tag means any slot.
func patternSlot(p []byte) int {
	s := -1
	for i, c := range p {
		switch {
		case c == '*' || c == '?' || c == '[' || c == '\\':
			return -1
		case s == -1 && c == '{':
			s = i
		case s >= 0 && c == '}' && i == s+1:
			s = -2
		case s >= 0 && c == '}':
			return slots.Slot(p[s+1 : i])
		}
	}
	return slots.Slot(p)
}

// sortCluster carries SORT ... BY/GET pattern ... STORE to a cluster
// destination. Routed as it is (patterns prefixed like the keys) when the
// destination is 7.4+ and every key the patterns can form is in the slot of
// the keys; otherwise evaluated by xsync in a barrier, over the keys as they
// stand on the destination at that point of the stream.
func (t *Translator) sortCluster(tg dbTarget, idx []int, offset int64, recv time.Time) error {
	spec, err := parseSort(t.argv)
	if err != nil {
		return fmt.Errorf("%w at offset %d", err, offset)
	}
	if spec.store == 0 {
		t.skip("SORT without STORE writes nothing", t.argv, offset)
		return nil
	}
	slot := t.kslot[0]
	routed := t.cfg.DestVersion.AtLeast(7, 4)
	for _, s := range t.kslot[1:len(idx)] {
		routed = routed && s == slot
	}
	pats := spec.gets
	if bytes.IndexByte(spec.by, '*') >= 0 {
		pats = append(slices.Clone(pats), spec.by)
	}
	for _, p := range pats {
		routed = routed && !bytes.Equal(p, []byte("#")) && patternSlot(append(slices.Clone(tg.p), p...)) == slot
	}
	if routed {
		if len(tg.p) > 0 {
			for j := 2; j+1 < len(t.argv); j++ {
				if eqFold(t.argv[j], "by") || eqFold(t.argv[j], "get") {
					t.argv[j+1] = append(slices.Clone(tg.p), t.argv[j+1]...)
					j++
				}
			}
		}
		return t.single(tg, "sort", t.argv, slot, t.argv[idx[0]], recv)
	}
	e := &sortEval{
		src: slices.Clone(t.argv[1]), dst: slices.Clone(t.argv[spec.store]),
		prefix: slices.Clone(tg.p), spec: spec, dstSlot: slots.Slot(t.argv[spec.store]),
	}
	e.spec.by = slices.Clone(spec.by)
	for i, g := range e.spec.gets {
		e.spec.gets[i] = slices.Clone(g)
	}
	e.tmp = []byte(fmt.Sprintf("%stmp:{%s}:%d:sort", t.cfg.InternalPrefix, slotTag(e.dstSlot), t.cfg.Source))
	t.st.emulated.Add(1)
	t.emitBarrier(e.dstSlot, e.dst, e)
	return nil
}

// sortEval computes SORT ... STORE the way sort.c does and writes the result.
type sortEval struct {
	src, dst []byte // destination names
	prefix   []byte // the db's key prefix, for the keys the patterns form
	spec     sortSpec
	dstSlot  int
	tmp      []byte // the result is built here, then renamed onto dst
}

func (e *sortEval) String() string {
	return fmt.Sprintf("evaluate SORT %s ... STORE %s", printable(e.src), printable(e.dst))
}

// sortItem is one element with what it sorts by.
type sortItem struct {
	v     []byte
	score float64
	cmp   []byte // alpha with BY: the BY value (nil: missing)
}

func replyErr(msg string) error { return &conn.ReplyError{Msg: msg} }

func (e *sortEval) run(ctx context.Context, d apply.Dest) error {
	elems, typ, err := e.load(ctx, d)
	if err != nil {
		return err
	}
	s := e.spec
	dontsort := s.by != nil && bytes.IndexByte(s.by, '*') < 0
	if dontsort && typ == "set" {
		// A set has no order of its own: with STORE, Redis forces an ALPHA sort.
		dontsort, s.alpha, s.by = false, true, nil
	}
	items := make([]sortItem, len(elems))
	for i, v := range elems {
		items[i].v = v
	}
	if dontsort {
		if s.desc && typ != "set" { // lists and zsets keep their order, reversed by DESC
			slices.Reverse(items)
		}
	} else if err := e.sort(ctx, d, items, s); err != nil {
		return err
	}
	start, end := int64(0), int64(len(items))-1
	if s.limit {
		start = max(s.start, 0)
		if s.cnt >= 0 {
			end = start + s.cnt - 1
		}
		if start >= int64(len(items)) {
			start, end = int64(len(items))-1, int64(len(items))-2
		}
		end = min(end, int64(len(items))-1)
	}
	var out [][]byte
	for j := start; j <= end && j >= 0; j++ {
		if len(s.gets) == 0 {
			out = append(out, items[j].v)
			continue
		}
		for _, g := range s.gets {
			v, err := e.lookup(ctx, d, g, items[j].v)
			if err != nil {
				return err
			}
			if v == nil {
				v = []byte{}
			}
			out = append(out, v)
		}
	}
	return e.store(ctx, d, out)
}

// load reads the elements of the key to sort, in its own order.
func (e *sortEval) load(ctx context.Context, d apply.Dest) ([][]byte, string, error) {
	slot := slots.Slot(e.src)
	tv, err := do(ctx, d, slot, []byte("TYPE"), e.src)
	if err != nil {
		return nil, "", err
	}
	typ := tv.Str
	var v resp.Value
	switch string(typ) {
	case "none":
		return nil, "none", nil
	case "list":
		v, err = do(ctx, d, slot, []byte("LRANGE"), e.src, []byte("0"), []byte("-1"))
	case "set":
		v, err = do(ctx, d, slot, []byte("SMEMBERS"), e.src)
	case "zset":
		v, err = do(ctx, d, slot, []byte("ZRANGE"), e.src, []byte("0"), []byte("-1"))
	default:
		return nil, "", replyErr("WRONGTYPE Operation against a key holding the wrong kind of value")
	}
	if err != nil {
		return nil, "", err
	}
	if len(v.Elems) > maxSortElements {
		// An error reply of xsync's own: it follows the destination error policy.
		return nil, "", fmt.Errorf("xsync/translate: SORT of %s: %w", printable(e.src),
			replyErr(fmt.Sprintf("ERR %d elements, more than xsync evaluates (%d)", len(v.Elems), maxSortElements)))
	}
	out := make([][]byte, len(v.Elems))
	for i, x := range v.Elems {
		out[i] = x.Str
	}
	return out, string(typ), nil
}

// sort orders items as sortCompare does with STORE (binary comparison; equal
// scores ordered by the elements' bytes).
func (e *sortEval) sort(ctx context.Context, d apply.Dest, items []sortItem, s sortSpec) error {
	for i := range items {
		byval := items[i].v
		if s.by != nil {
			v, err := e.lookup(ctx, d, s.by, items[i].v)
			if err != nil {
				return err
			}
			if v == nil {
				continue // score 0, or a missing compare object
			}
			byval = v
		}
		if s.alpha {
			if s.by != nil {
				items[i].cmp = byval
			}
			continue
		}
		f, ok := strtod(byval)
		if !ok {
			return replyErr("ERR One or more scores can't be converted into double")
		}
		items[i].score = f
	}
	cmp := func(a, b sortItem) int {
		var c int
		switch {
		case !s.alpha:
			switch {
			case a.score > b.score:
				c = 1
			case a.score < b.score:
				c = -1
			default:
				c = bytes.Compare(a.v, b.v)
			}
		case s.by != nil:
			switch {
			case a.cmp == nil && b.cmp == nil:
				c = 0
			case a.cmp == nil:
				c = -1
			case b.cmp == nil:
				c = 1
			default:
				c = bytes.Compare(a.cmp, b.cmp)
			}
		default:
			c = bytes.Compare(a.v, b.v)
		}
		if s.desc {
			return -c
		}
		return c
	}
	slices.SortStableFunc(items, cmp)
	return nil
}

// strtod parses a score as sort.c does with strtod: leading white space, hex
// and inf accepted, nothing after the number, no NaN, no out of range; an
// empty string is 0.
func strtod(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, true // strtod converts nothing and the end is reached: sort.c takes 0
	}
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	if s == "" {
		return 0, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(body) > 2 && (body[:2] == "0x" || body[:2] == "0X") && !strings.ContainsAny(body, "pP") {
		s += "p0"
	}
	if strings.ContainsRune(s, '_') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// lookup is sort.c lookupKeyByPattern over the destination: "#" is the
// element; the first '*' takes the element; "->field" after it reads a hash
// field; no '*' or a key of another type is no value (nil).
func (e *sortEval) lookup(ctx context.Context, d apply.Dest, pat, elem []byte) ([]byte, error) {
	if len(pat) == 1 && pat[0] == '#' {
		return elem, nil
	}
	p := bytes.IndexByte(pat, '*')
	if p < 0 {
		return nil, nil
	}
	post := pat[p+1:]
	var field []byte
	if f := bytes.Index(post, []byte("->")); f >= 0 && f+2 < len(post) {
		field = post[f+2:]
		post = post[:f]
	}
	key := make([]byte, 0, len(e.prefix)+len(pat)+len(elem))
	key = append(append(append(append(key, e.prefix...), pat[:p]...), elem...), post...)
	var v resp.Value
	var err error
	if field != nil {
		v, err = do(ctx, d, slots.Slot(key), []byte("HGET"), key, field)
	} else {
		v, err = do(ctx, d, slots.Slot(key), []byte("GET"), key)
	}
	if conn.HasCode(err, "WRONGTYPE") {
		return nil, nil
	}
	if err != nil || v.Null {
		return nil, err
	}
	return v.Str, nil
}

// store replaces dst by the result (a list; no key when it is empty), built
// in a temporary key of dst's slot and renamed onto dst, which drops dst's
// expire as SORT's setKey does.
func (e *sortEval) store(ctx context.Context, d apply.Dest, out [][]byte) error {
	if len(out) == 0 {
		_, err := do(ctx, d, e.dstSlot, []byte("DEL"), e.dst)
		return err
	}
	if _, err := do(ctx, d, e.dstSlot, []byte("DEL"), e.tmp); err != nil {
		return err
	}
	for len(out) > 0 {
		n := min(len(out), 512)
		args := append([][]byte{[]byte("RPUSH"), e.tmp}, out[:n]...)
		if _, err := do(ctx, d, e.dstSlot, args...); err != nil {
			return err
		}
		out = out[n:]
	}
	_, err := do(ctx, d, e.dstSlot, []byte("RENAME"), e.tmp, e.dst)
	return err
}
