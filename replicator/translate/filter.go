package translate

import (
	"bytes"
	"strings"
)

// pattern is one compiled key pattern: an exact name, a prefix ("abc*") or a glob.
type pattern struct {
	kind uint8 // patExact, patPrefix, patGlob
	s    []byte
}

const (
	patExact uint8 = iota
	patPrefix
	patGlob
)

func compilePattern(p string) pattern {
	special := strings.IndexAny(p, "*?[\\")
	switch {
	case special < 0:
		return pattern{kind: patExact, s: []byte(p)}
	case special == len(p)-1 && p[special] == '*':
		return pattern{kind: patPrefix, s: []byte(p[:special])}
	}
	return pattern{kind: patGlob, s: []byte(p)}
}

func (p *pattern) match(key []byte) bool {
	switch p.kind {
	case patExact:
		return bytes.Equal(key, p.s)
	case patPrefix:
		return bytes.HasPrefix(key, p.s)
	}
	return Match(p.s, key)
}

// Match reports whether str matches the glob pattern with the semantics of
// Redis's stringmatchlen (KEYS, SCAN MATCH): '*' any run, '?' one byte,
// '[abc]', '[^a-z]' classes with ranges, '\' escapes the next byte. Bytes are
// compared exactly (no case folding, no UTF-8 decoding). It never recurses, so
// a hostile pattern costs at most O(len(pattern)*len(str)).
func Match(pat, str []byte) bool {
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(str) {
		if p < len(pat) {
			switch c := pat[p]; c {
			case '*':
				for p < len(pat) && pat[p] == '*' {
					p++
				}
				if p == len(pat) {
					return true
				}
				starP, starS = p, s
				continue
			case '?':
				p++
				s++
				continue
			case '[':
				ok, next := matchClass(pat, p, str[s])
				if ok {
					p = next
					s++
					continue
				}
			default:
				if c == '\\' && p+1 < len(pat) {
					if pat[p+1] == str[s] {
						p += 2
						s++
						continue
					}
				} else if c == str[s] {
					p++
					s++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		p, s = starP, starS
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// matchClass matches c against the class starting at pat[p] == '['; it returns
// whether it matched and the position after the class. Like Redis, an
// unterminated class runs to the end of the pattern.
func matchClass(pat []byte, p int, c byte) (bool, int) {
	p++
	not := false
	if p < len(pat) && pat[p] == '^' {
		not = true
		p++
	}
	match := false
	for p < len(pat) && pat[p] != ']' {
		switch {
		case pat[p] == '\\' && p+1 < len(pat):
			p++
			if pat[p] == c {
				match = true
			}
			p++
		case p+2 < len(pat) && pat[p+1] == '-':
			lo, hi := pat[p], pat[p+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			if c >= lo && c <= hi {
				match = true
			}
			p += 3
		default:
			if pat[p] == c {
				match = true
			}
			p++
		}
	}
	if p < len(pat) {
		p++ // the ']'
	}
	return match != not, p
}

// KeyFilter decides which keys are synced and what they are called on the
// destination. The snapshot path uses it directly; Translator uses the same
// rules for the stream. It is immutable and safe for concurrent use.
type KeyFilter struct {
	include, exclude []pattern
	internal         []byte
	dbs              []dbTarget // by source db, for db < len(dbs)
	dbMap            map[int]Target
	allDBs           bool // standalone destination without DBs: every db to itself
	prefixes         [][]byte
	keyPrefix        []byte // Config.KeyPrefix (in dbs already; used with allDBs)
}

type dbTarget struct {
	ok bool
	t  Target
	p  []byte
}

// NewKeyFilter builds the key filter of cfg (validated as New does).
func NewKeyFilter(cfg Config) (*KeyFilter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newKeyFilter(&cfg), nil
}

func newKeyFilter(c *Config) *KeyFilter {
	f := &KeyFilter{internal: []byte(c.InternalPrefix), dbMap: c.DBs, allDBs: c.DBs == nil, keyPrefix: []byte(c.KeyPrefix)}
	for _, p := range c.Include {
		f.include = append(f.include, compilePattern(p))
	}
	for _, p := range c.Exclude {
		f.exclude = append(f.exclude, compilePattern(p))
	}
	maxDB := -1
	for db := range c.DBs {
		maxDB = max(maxDB, db)
	}
	f.dbs = make([]dbTarget, min(maxDB+1, 256))
	for db, t := range c.DBs {
		f.prefixes = append(f.prefixes, []byte(t.Prefix))
		if db < len(f.dbs) {
			f.dbs[db] = dbTarget{ok: true, t: t, p: []byte(t.Prefix)}
		}
	}
	return f
}

// DB reports where source database db goes, and whether it is synced at all.
func (f *KeyFilter) DB(db int) (Target, bool) {
	t, ok := f.db(db)
	return t.t, ok
}

func (f *KeyFilter) db(db int) (dbTarget, bool) {
	if f.allDBs {
		return dbTarget{ok: db >= 0, t: Target{DB: db, Prefix: string(f.keyPrefix)}, p: f.keyPrefix}, db >= 0
	}
	if db >= 0 && db < len(f.dbs) {
		return f.dbs[db], f.dbs[db].ok
	}
	t, ok := f.dbMap[db]
	return dbTarget{ok: ok, t: t, p: []byte(t.Prefix)}, ok
}

// Included reports whether a source key passes the include/exclude patterns
// and does not start with the internal prefix.
func (f *KeyFilter) Included(key []byte) bool {
	if bytes.HasPrefix(key, f.internal) {
		return false
	}
	if len(f.include) > 0 {
		in := false
		for i := range f.include {
			if f.include[i].match(key) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for i := range f.exclude {
		if f.exclude[i].match(key) {
			return false
		}
	}
	return true
}

// Target appends the destination name of key from source database db to dst
// and reports whether the key is synced at all (db synced and key included).
// The destination database, where there is one, comes from DB.
func (f *KeyFilter) Target(dst []byte, db int, key []byte) ([]byte, bool) {
	t, ok := f.db(db)
	if !ok || !f.Included(key) {
		return dst, false
	}
	dst = append(dst, t.p...)
	return append(dst, key...), true
}

// owner returns the source key name behind a destination key of a database
// whose prefix is p: the key without p, and false when key does not belong to
// that database because a longer prefix of another database claims it.
func (f *KeyFilter) owner(key, p []byte) ([]byte, bool) {
	if !bytes.HasPrefix(key, p) {
		return nil, false
	}
	for _, q := range f.prefixes {
		if len(q) > len(p) && bytes.HasPrefix(key, q) {
			return nil, false
		}
	}
	return key[len(p):], true
}
