package translate

import (
	"strconv"
)

// copyDB rewrites COPY source destination DB n [REPLACE] (db.c copyCommand)
// for the destination: the copy's key belongs to db n, so it takes db n's
// mapping. On a cluster destination (which refuses the DB option) the option
// goes and the destination key gets db n's prefix; on a standalone one DB
// names db n's destination db. A DB naming the current db is removed (the
// same copy, whatever the current db maps to); a db that is not synced takes nothing (drop is true). Commands
// without DB, or whose DB is not a number (the source refused them), come
// back unchanged. Sets t.dstIdx and t.dstPrefix for mapKeys.
func (t *Translator) copyDB(db int, args [][]byte) (_ [][]byte, drop bool) {
	at := -1
	for j := 3; j+1 < len(args); j++ {
		if eqFold(args[j], "db") {
			at = j
			j++
		}
	}
	if at < 0 || len(args) < 3 {
		return args, false
	}
	n, ok := parseInt(args[at+1])
	if !ok || n < 0 || n > 1<<20 {
		return args, false
	}
	if int(n) != db {
		tgt, ok := t.kf.db(int(n))
		if !ok {
			return args, true
		}
		t.dstIdx, t.dstPrefix = 2, tgt.p
		if t.cfg.DestKind == DestStandalone {
			out := append([][]byte(nil), args...)
			out[at+1] = strconv.AppendInt(nil, int64(tgt.t.DB), 10)
			return out, false
		}
	}
	out := make([][]byte, 0, len(args)-2)
	out = append(out, args[:at]...)
	return append(out, args[at+2:]...), false
}
