package translate

import (
	"fmt"
	"math"
	"time"

	"github.com/xsync/xsync/resp"
)

// encode appends the destination form of one single-slot command to t.buf and
// returns how many commands it appended (0: nothing to write). Relative expires
// become absolute ones computed from recv, so that replication lag does not
// stretch them; MSETNX becomes MSET (it is propagated only when it succeeded).
func (t *Translator) encode(name string, argv [][]byte, recv time.Time) (int, error) {
	ms := recv.UnixMilli()
	switch name {
	case "expire", "pexpire":
		return t.expire(argv, ms, unit(name == "expire"), "PEXPIREAT")
	case "hexpire", "hpexpire":
		return t.expire(argv, ms, unit(name == "hexpire"), "HPEXPIREAT")
	case "setex", "psetex":
		if len(argv) != 4 {
			return 0, arity(argv)
		}
		at, err := absolute(argv[2], ms, unit(name == "setex"))
		if err != nil {
			return 0, err
		}
		return t.setAt(argv[1], argv[3], nil, at), nil
	case "set":
		return t.set(argv, ms)
	case "getex":
		return t.getex(argv, ms)
	case "restore", "restore-asking":
		return t.restore(argv, ms)
	case "xadd", "xtrim":
		return t.trim(name == "xadd", argv), nil
	case "sinterstore":
		return t.sinterstore(argv)
	case "msetnx":
		t.buf = resp.AppendArray(t.buf, len(argv))
		t.buf = resp.AppendBulkString(t.buf, "MSET")
		for _, a := range argv[1:] {
			t.buf = resp.AppendBulk(t.buf, a)
		}
		return 1, nil
	}
	t.buf = resp.AppendCommand(t.buf, argv...)
	return 1, nil
}

func unit(seconds bool) int64 {
	if seconds {
		return 1000
	}
	return 1
}

func arity(argv [][]byte) error {
	return fmt.Errorf("%w: wrong number of arguments for %s", ErrSyntax, printable(argv[0]))
}

// parseInt parses a decimal int64 the way Redis's string2ll does (no spaces,
// no '+', no leading zeros are required to be rejected here).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// absolute returns base + v*mult in ms, rejecting what Redis would reject.
func absolute(v []byte, base, mult int64) (int64, error) {
	n, ok := parseInt(v)
	if !ok {
		return 0, fmt.Errorf("%w: expire time %s is not an integer", ErrSyntax, printable(v))
	}
	if n > (math.MaxInt64-base)/mult || n < (math.MinInt64+base)/mult {
		return 0, fmt.Errorf("%w: invalid expire time %s", ErrSyntax, printable(v))
	}
	return base + n*mult, nil
}

// expire writes CMD key <abs ms> <rest...> for EXPIRE/PEXPIRE/HEXPIRE/HPEXPIRE.
func (t *Translator) expire(argv [][]byte, ms, mult int64, cmd string) (int, error) {
	if len(argv) < 3 {
		return 0, arity(argv)
	}
	at, err := absolute(argv[2], ms, mult)
	if err != nil {
		return 0, err
	}
	t.buf = resp.AppendArray(t.buf, len(argv))
	t.buf = resp.AppendBulkString(t.buf, cmd)
	t.buf = resp.AppendBulk(t.buf, argv[1])
	t.buf = resp.AppendBulkInt(t.buf, at)
	for _, a := range argv[3:] {
		t.buf = resp.AppendBulk(t.buf, a)
	}
	return 1, nil
}

// setAt writes SET key value [opts] with an absolute expire at ms: SET .. PXAT on
// a 6.2+ destination, otherwise SET + PEXPIREAT (in a MULTI unless already in
// one). opts are kept only in the PXAT form: the stream carries a SET only when
// it succeeded, so NX/XX/GET cannot change its effect.
func (t *Translator) setAt(key, val []byte, opts [][]byte, at int64) int {
	if t.cfg.DestVersion.AtLeast(6, 2) {
		t.buf = resp.AppendArray(t.buf, 5+len(opts))
		t.buf = resp.AppendBulkString(t.buf, "SET")
		t.buf = resp.AppendBulk(t.buf, key)
		t.buf = resp.AppendBulk(t.buf, val)
		for _, o := range opts {
			t.buf = resp.AppendBulk(t.buf, o)
		}
		t.buf = resp.AppendBulkString(t.buf, "PXAT")
		t.buf = resp.AppendBulkInt(t.buf, at)
		return 1
	}
	n := 2
	if !t.inTxn {
		t.buf = resp.AppendCommandString(t.buf, "MULTI")
		n += 2
	}
	t.buf = resp.AppendArray(t.buf, 3)
	t.buf = resp.AppendBulkString(t.buf, "SET")
	t.buf = resp.AppendBulk(t.buf, key)
	t.buf = resp.AppendBulk(t.buf, val)
	t.buf = resp.AppendArray(t.buf, 3)
	t.buf = resp.AppendBulkString(t.buf, "PEXPIREAT")
	t.buf = resp.AppendBulk(t.buf, key)
	t.buf = resp.AppendBulkInt(t.buf, at)
	if !t.inTxn {
		t.buf = resp.AppendCommandString(t.buf, "EXEC")
	}
	return n
}

// set rewrites SET .. EX/PX into the absolute form; other SETs pass unchanged.
func (t *Translator) set(argv [][]byte, ms int64) (int, error) {
	if len(argv) < 3 {
		return 0, arity(argv)
	}
	at, has := int64(0), false
	relative, keepTTL := false, false
	var optBuf [4][]byte
	opts := optBuf[:0]
	for i := 3; i < len(argv); i++ {
		o := argv[i]
		var mult int64
		var rel bool
		switch {
		case eqFold(o, "keepttl"):
			keepTTL = true
			if len(opts) < cap(opts) {
				opts = append(opts, o)
			}
			continue
		case eqFold(o, "ex"):
			mult, rel = 1000, true
		case eqFold(o, "px"):
			mult, rel = 1, true
		case eqFold(o, "exat"):
			mult = 1000
		case eqFold(o, "pxat"):
			mult = 1
		default:
			if len(opts) < cap(opts) {
				opts = append(opts, o)
			}
			continue
		}
		if i+1 >= len(argv) {
			return 0, fmt.Errorf("%w: SET %s without a value", ErrSyntax, printable(o))
		}
		base := int64(0)
		if rel {
			base = ms
		}
		v, err := absolute(argv[i+1], base, mult)
		if err != nil {
			return 0, err
		}
		at, has, relative = v, true, rel
		i++
	}
	if keepTTL && !t.cfg.DestVersion.AtLeast(6, 0) {
		t.setKeepTTL(argv[1], argv[2])
		return 1, nil
	}
	if !has || !relative && t.cfg.DestVersion.AtLeast(6, 2) {
		t.buf = resp.AppendCommand(t.buf, argv...)
		return 1, nil
	}
	return t.setAt(argv[1], argv[2], opts, at), nil
}

// keepTTLScript is SET key value KEEPTTL for a server older than 6.0 (t_string.c
// setGenericCommand gained KEEPTTL in 6.0; 6.0+ masters propagate INCRBYFLOAT as
// SET .. KEEPTTL): it sets the value and gives the key back the TTL it had.
const keepTTLScript = "local t = redis.call('PTTL', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) " +
	"if t > 0 then redis.call('PEXPIRE', KEYS[1], t) end"

// setKeepTTL writes EVAL keepTTLScript 1 key value. Other options are dropped: the
// stream carries a SET only when it succeeded, so NX/XX/GET cannot change its effect.
func (t *Translator) setKeepTTL(key, val []byte) {
	t.buf = resp.AppendArray(t.buf, 5)
	t.buf = resp.AppendBulkString(t.buf, "EVAL")
	t.buf = resp.AppendBulkString(t.buf, keepTTLScript)
	t.buf = resp.AppendBulkString(t.buf, "1")
	t.buf = resp.AppendBulk(t.buf, key)
	t.buf = resp.AppendBulk(t.buf, val)
}

// getex turns GETEX into PEXPIREAT or PERSIST (GETEX's read is no write).
func (t *Translator) getex(argv [][]byte, ms int64) (int, error) {
	if len(argv) < 2 {
		return 0, arity(argv)
	}
	if len(argv) == 2 {
		return 0, nil
	}
	o := argv[2]
	if eqFold(o, "persist") {
		t.buf = resp.AppendArray(t.buf, 2)
		t.buf = resp.AppendBulkString(t.buf, "PERSIST")
		t.buf = resp.AppendBulk(t.buf, argv[1])
		return 1, nil
	}
	var mult, base int64
	switch {
	case eqFold(o, "ex"):
		mult, base = 1000, ms
	case eqFold(o, "px"):
		mult, base = 1, ms
	case eqFold(o, "exat"):
		mult = 1000
	case eqFold(o, "pxat"):
		mult = 1
	default:
		return 0, fmt.Errorf("%w: GETEX option %s", ErrSyntax, printable(o))
	}
	if len(argv) < 4 {
		return 0, arity(argv)
	}
	at, err := absolute(argv[3], base, mult)
	if err != nil {
		return 0, err
	}
	t.buf = resp.AppendArray(t.buf, 3)
	t.buf = resp.AppendBulkString(t.buf, "PEXPIREAT")
	t.buf = resp.AppendBulk(t.buf, argv[1])
	t.buf = resp.AppendBulkInt(t.buf, at)
	return 1, nil
}

// restore makes a relative RESTORE ttl absolute (ABSTTL, 5.0+ destination), or
// an absolute one relative for an older destination. RESTORE-ASKING (a MIGRATE
// into the source shard) becomes a plain RESTORE.
func (t *Translator) restore(argv [][]byte, ms int64) (int, error) {
	if len(argv) < 4 {
		return 0, arity(argv)
	}
	ttl, ok := parseInt(argv[2])
	if !ok || ttl < 0 {
		return 0, fmt.Errorf("%w: RESTORE ttl %s", ErrSyntax, printable(argv[2]))
	}
	abs := false
	for _, o := range argv[4:] {
		if eqFold(o, "absttl") {
			abs = true
		}
	}
	newDest := t.cfg.DestVersion.AtLeast(5, 0)
	switch {
	case ttl > 0 && !abs && newDest:
		if ttl > math.MaxInt64-ms {
			return 0, fmt.Errorf("%w: RESTORE ttl %d", ErrSyntax, ttl)
		}
		ttl += ms
		abs = true
	case ttl > 0 && abs && !newDest:
		ttl -= t.cfg.Now().UnixMilli()
		abs = false
		if ttl <= 0 { // already expired: the key must not exist
			t.buf = resp.AppendArray(t.buf, 2)
			t.buf = resp.AppendBulkString(t.buf, "DEL")
			t.buf = resp.AppendBulk(t.buf, argv[1])
			return 1, nil
		}
	}
	n := 4
	for _, o := range argv[4:] {
		if !eqFold(o, "absttl") {
			n++
		}
	}
	if abs {
		n++
	}
	t.buf = resp.AppendArray(t.buf, n)
	t.buf = resp.AppendBulkString(t.buf, "RESTORE")
	t.buf = resp.AppendBulk(t.buf, argv[1])
	t.buf = resp.AppendBulkInt(t.buf, ttl)
	t.buf = resp.AppendBulk(t.buf, argv[3])
	for _, o := range argv[4:] {
		if !eqFold(o, "absttl") {
			t.buf = resp.AppendBulk(t.buf, o)
		}
	}
	if abs {
		t.buf = resp.AppendBulkString(t.buf, "ABSTTL")
	}
	return 1, nil
}

// eqFold compares b with a lower-case ASCII word, ignoring case.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
