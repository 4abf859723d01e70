package translate

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
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

// sinterstoreScript is SINTERSTORE with the older rule (see sinterstoreOlder)
// run on the destination itself, for the form sent as it is (every key in one
// slot, or a standalone destination): at the first missing source key, before
// any key of another type, the result is empty and dst is deleted; otherwise
// the destination's own SINTERSTORE runs (and answers WRONGTYPE where the
// source did too). KEYS[1] is dst.
const sinterstoreScript = `for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t == 'none' then redis.call('DEL', KEYS[1]) return 0 end
  if t ~= 'set' then break end
end
return redis.call('SINTERSTORE', unpack(KEYS))`

// sinterstore encodes SINTERSTORE dst key... as an EVAL of sinterstoreScript.
// Every source version agrees with the older rule on a SINTERSTORE that
// succeeded there (the only kind the stream carries), so it is used whatever
// the source's version.
func (t *Translator) sinterstore(argv [][]byte) (int, error) {
	if len(argv) < 3 {
		return 0, arity(argv)
	}
	t.buf = resp.AppendArray(t.buf, len(argv)+2)
	t.buf = resp.AppendBulkString(t.buf, "EVAL")
	t.buf = resp.AppendBulkString(t.buf, sinterstoreScript)
	t.buf = resp.AppendBulkString(t.buf, strconv.Itoa(len(argv)-1))
	for _, a := range argv[1:] {
		t.buf = resp.AppendBulk(t.buf, a)
	}
	return 1, nil
}
