package translate

import "strconv"

// Redis never propagates a blocking command as such: a BLPOP that was served
// reaches replicas as LPOP, a BLMOVE as LMOVE, and so on. A hand-fed stream (or
// a proxy's) might still carry one, and forwarded as it is it could block a
// destination pipeline. unblock rewrites it into the non-blocking command that
// has the same effect when data is there, which it was on the source:
//
//	BRPOPLPUSH s d t        -> RPOPLPUSH s d
//	BLMOVE s d a b t        -> LMOVE s d a b
//	BLPOP/BRPOP k t         -> LPOP/RPOP k
//	BZPOPMIN/BZPOPMAX k t   -> ZPOPMIN/ZPOPMAX k
//	BLPOP/BRPOP k1..kn t    -> LMPOP n k1..kn LEFT/RIGHT   (7.0+ destination)
//	BZPOPMIN/MAX k1..kn t   -> ZMPOP n k1..kn MIN/MAX      (7.0+ destination)
//	BLMPOP/BZMPOP t n k.. d -> LMPOP/ZMPOP n k.. d
//
// Multi-key BLPOP/BRPOP/BZPOP* for an older destination stay as they are (a
// one-slot op may then block if the destination diverged).
func (t *Translator) unblock(name string, args [][]byte) (string, [][]byte) {
	n := len(args)
	switch name {
	case "brpoplpush":
		if n == 4 {
			return "", t.rewrite("RPOPLPUSH", args[1:3])
		}
	case "blmove":
		if n == 6 {
			return "", t.rewrite("LMOVE", args[1:5])
		}
	case "blmpop", "bzmpop":
		if n >= 4 {
			cmd := "LMPOP"
			if name == "bzmpop" {
				cmd = "ZMPOP"
			}
			return "", t.rewrite(cmd, args[2:])
		}
	case "blpop", "brpop", "bzpopmin", "bzpopmax":
		if n < 3 {
			break
		}
		keys := args[1 : n-1]
		if len(keys) == 1 {
			single := "LPOP"
			switch name {
			case "brpop":
				single = "RPOP"
			case "bzpopmin":
				single = "ZPOPMIN"
			case "bzpopmax":
				single = "ZPOPMAX"
			}
			return "", t.rewrite(single, keys)
		}
		if !t.cfg.DestVersion.AtLeast(7, 0) {
			break
		}
		cmd, dir := "LMPOP", "LEFT"
		switch name {
		case "brpop":
			dir = "RIGHT"
		case "bzpopmin":
			cmd, dir = "ZMPOP", "MIN"
		case "bzpopmax":
			cmd, dir = "ZMPOP", "MAX"
		}
		t.ublk = append(t.ublk[:0], []byte(cmd), nil)
		t.ublk[1] = strconv.AppendInt(t.unum[:0], int64(len(keys)), 10)
		t.ublk = append(t.ublk, keys...)
		t.ublk = append(t.ublk, []byte(dir))
		return "", t.ublk
	}
	return name, args
}

// rewrite returns cmd followed by rest, in a reused slice.
func (t *Translator) rewrite(cmd string, rest [][]byte) [][]byte {
	t.ublk = append(t.ublk[:0], []byte(cmd))
	return append(t.ublk, rest...)
}
