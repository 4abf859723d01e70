package translate

import (
	"context"
	"errors"
	"strings"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
)

// sinterstoreOlder gives the effect of SINTERSTORE dst key... as a source
// before Redis 6.0.15/6.2.4 computed it, when the destination has answered
// WRONGTYPE. Those versions (t_set.c sinterGenericCommand) look the keys up in
// order and answer the empty result, deleting dst, at the first missing key,
// without looking at the types of the keys after it; later ones (redis/redis
// pull 9032) check every key's type first. A SINTERSTORE in the stream
// succeeded on its source (an error is never propagated), and when no key has
// another type both rules agree, so the older rule is exact for every source
// version: a missing key before the first wrong-typed one means DEL dst; a
// wrong-typed key first means the source failed too (a divergence), and the
// destination's error stands.
//
// args are the command on the temporaries; it returns true when it applied the
// effect.
func (e *emulation) sinterstoreOlder(ctx context.Context, d apply.Dest, args [][]byte, cmdErr error) (bool, error) {
	var re *conn.ReplyError
	if !strings.EqualFold(e.command, "sinterstore") || len(e.at) < 2 ||
		!errors.As(cmdErr, &re) || !strings.HasPrefix(re.Msg, "WRONGTYPE") {
		return false, nil
	}
	for _, p := range e.at[1:] {
		v, err := do(ctx, d, e.slot, []byte("TYPE"), args[p])
		if err != nil {
			return false, err
		}
		switch strings.ToLower(string(v.Str)) {
		case "set":
			continue
		case "none":
			_, err = do(ctx, d, e.slot, []byte("DEL"), args[e.at[0]])
			return err == nil, err
		}
		return false, nil
	}
	return false, nil
}
