package translate

import "github.com/xsync/xsync/resp"

// trim appends XADD or XTRIM, dropping LIMIT when the trim is exact.
//
// A master propagates an approximate trim (MAXLEN|MINID ~ n) as the exact
// trim it performed (MAXLEN|MINID = n', t_stream.c streamRewriteApproxSpecifier
// and streamRewriteTrimArgument) and keeps the LIMIT clause. A replica ignores
// LIMIT on that form (streamParseAddOrTrimArgsOrReply sets the limit to 0 for
// a client that must be obeyed), but a normal client is refused: "LIMIT cannot
// be used without the special ~ option". Without the clause the destination
// trims exactly as the replica does. An approximate trim keeps its LIMIT (a
// hand-fed stream may carry one; Redis never propagates it).
func (t *Translator) trim(xadd bool, argv [][]byte) int {
	limit := -1 // position of LIMIT's keyword
	approx := false
	i := 2
	for i < len(argv) {
		a := argv[i]
		switch {
		case xadd && eqFold(a, "nomkstream"):
			i++
			continue
		case eqFold(a, "maxlen") || eqFold(a, "minid"):
			i++
			if i < len(argv) && len(argv[i]) == 1 && (argv[i][0] == '=' || argv[i][0] == '~') {
				approx = argv[i][0] == '~'
				i++
			}
			i++ // the threshold
			continue
		case eqFold(a, "limit") && i+1 < len(argv):
			limit = i
			i += 2
			continue
		}
		break // XADD: the entry ID; what follows are fields and values
	}
	if limit < 0 || approx {
		t.buf = resp.AppendCommand(t.buf, argv...)
		return 1
	}
	t.buf = resp.AppendArray(t.buf, len(argv)-2)
	for j, a := range argv {
		if j != limit && j != limit+1 {
			t.buf = resp.AppendBulk(t.buf, a)
		}
	}
	return 1
}
