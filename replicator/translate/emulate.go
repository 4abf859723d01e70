package translate

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"strconv"
	"strings"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/replicator/conn"
	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// role says what a command does with one of its keys.
type role uint8

const (
	roleRead  role = 1 << iota // the command reads the key: copy it in
	roleWrite                  // the command may modify or delete it: write it back
)

// keyRoles returns the role of each key (idx are the keys' arg positions),
// following the key-spec flags of COMMAND INFO: RO keys are only read, OW
// destinations (the *STORE family, BITOP, RENAME's target, SORT STORE) are
// only written (GEORADIUS's STORE/STOREDIST are both, since only the last
// of them is written), RW/RM/insert/delete keys are both (SINTERSTORE's
// destination is RW in Redis's table, so it is copied in too). A command not
// listed gets read+write for every key, which is always exact, only slower.
func keyRoles(name string, idx []int, dst []role) []role {
	dst = dst[:0]
	for i := range idx {
		r := roleRead | roleWrite
		switch name {
		case "rename":
			if i == 1 {
				r = roleWrite
			}
		case "sunionstore", "sdiffstore", "zunionstore", "zinterstore",
			"zdiffstore", "zrangestore", "geosearchstore", "bitop":
			if i == 0 {
				r = roleWrite
			} else {
				r = roleRead
			}
		case "pfmerge", "sinterstore":
			if i > 0 {
				r = roleRead
			}
		case "copy":
			if i == 0 {
				r = roleRead
			}
		case "sort":
			if i == 0 {
				r = roleRead
			} else {
				r = roleWrite
			}
		case "georadius", "georadiusbymember":
			// STORE and STOREDIST may both be given: only the last one is
			// written (geo.c georadiusGeneric), the other key stays as it is,
			// so destinations are copied in and back.
			if i == 0 {
				r = roleRead
			}
		}
		dst = append(dst, r)
	}
	return dst
}

// emulation runs a command whose keys span slots on a cluster destination, as
// a barrier: every key it reads is copied (DUMP/RESTORE, TTL kept) into a
// temporary key of one slot, the command runs there on the temporaries, then
// every key it may write is copied back (or deleted when its temporary is
// gone) and the temporaries are deleted. Since a barrier runs when every
// earlier op of the source has been applied and before any later one, the
// result is what the source computed.
type emulation struct {
	args    [][]byte // the command, keys already renamed to destination names
	keys    [][]byte // distinct keys
	roles   []role   // per distinct key
	pos     []int    // per key arg position: index into keys
	at      []int    // key arg positions
	slot    int      // the temporaries' slot
	tmp     string   // temporaries' name prefix: <internal>tmp:{<tag>}:<source>:
	absTTL  bool     // 7.0+ destination: PEXPIRETIME + RESTORE .. ABSTTL
	command string
	script  []byte // EVALSHA's body when known: loaded first, against NOSCRIPT
}

// ScriptSource is implemented by a Scripts that can give bodies back (as
// ScriptCache does); an emulated EVALSHA then loads its body before running.
type ScriptSource interface {
	Script(sha string) ([]byte, bool)
}

func (t *Translator) emulate(name string, idx []int, offset int64) error {
	var rolesBuf [8]role
	roles := keyRoles(name, idx, rolesBuf[:0])
	e := &emulation{command: string(t.argv[0]), absTTL: t.cfg.DestVersion.AtLeast(7, 0)}
	size := 0
	for _, a := range t.argv {
		size += len(a)
	}
	backing := make([]byte, 0, size)
	e.args = make([][]byte, len(t.argv))
	for i, a := range t.argv {
		s := len(backing)
		backing = append(backing, a...)
		e.args[i] = backing[s:len(backing):len(backing)]
	}
	if src, ok := t.cfg.Scripts.(ScriptSource); ok && eqFold(t.argv[0], "evalsha") && len(t.argv) > 1 {
		if body, ok := src.Script(string(t.argv[1])); ok {
			e.script = body
		}
	}
	e.slot = -1
	for i, p := range idx {
		k := e.args[p]
		u := -1
		for j, seen := range e.keys {
			if bytes.Equal(seen, k) {
				u = j
				break
			}
		}
		if u < 0 {
			u = len(e.keys)
			e.keys = append(e.keys, k)
			e.roles = append(e.roles, 0)
		}
		e.roles[u] |= roles[i]
		e.pos = append(e.pos, u)
		e.at = append(e.at, p)
		if e.slot < 0 && roles[i]&roleWrite != 0 {
			e.slot = t.kslot[i]
		}
	}
	if e.slot < 0 {
		e.slot = t.kslot[0]
	}
	e.tmp = fmt.Sprintf("%stmp:{%s}:%d:", t.cfg.InternalPrefix, slotTag(e.slot), t.cfg.Source)
	t.st.emulated.Add(1)
	t.emitBarrier(e.slot, e.args[idx[0]], e)
	_ = offset
	return nil
}

// String describes the emulation: the command, and each key with its role.
func (e *emulation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "emulate %s in slot %d:", strings.ToUpper(e.command), e.slot)
	for u, k := range e.keys {
		r := ""
		if e.roles[u]&roleRead != 0 {
			r += "r"
		}
		if e.roles[u]&roleWrite != 0 {
			r += "w"
		}
		fmt.Fprintf(&b, " %s(%s)", printable(k), r)
	}
	return b.String()
}

func (e *emulation) tmpKey(u int) []byte {
	return strconv.AppendInt([]byte(e.tmp), int64(u), 10)
}

func (e *emulation) run(ctx context.Context, d apply.Dest) (err error) {
	tmps := make([][]byte, len(e.keys))
	for u := range e.keys {
		tmps[u] = e.tmpKey(u)
	}
	defer func() {
		_, derr := do(ctx, d, e.slot, append([][]byte{[]byte("DEL")}, tmps...)...)
		if err == nil && derr != nil {
			err = derr
		}
	}()
	for u, k := range e.keys {
		if e.roles[u]&roleRead != 0 {
			err = e.copyKey(ctx, d, k, slots.Slot(k), tmps[u], e.slot)
		} else {
			_, err = do(ctx, d, e.slot, []byte("DEL"), tmps[u])
		}
		if err != nil {
			return err
		}
	}
	if e.script != nil {
		if _, err = do(ctx, d, e.slot, []byte("SCRIPT"), []byte("LOAD"), e.script); err != nil {
			return err
		}
	}
	args := make([][]byte, len(e.args))
	copy(args, e.args)
	for i, p := range e.at {
		args[p] = tmps[e.pos[i]]
	}
	if _, err = do(ctx, d, e.slot, args...); err != nil {
		ok, oerr := e.sinterstoreOlder(ctx, d, args, err)
		if oerr != nil {
			return oerr
		}
		if !ok {
			return err
		}
		err = nil
	}
	for u, k := range e.keys {
		if e.roles[u]&roleWrite == 0 {
			continue
		}
		if err = e.copyKey(ctx, d, tmps[u], e.slot, k, slots.Slot(k)); err != nil {
			return err
		}
	}
	return nil
}

// copyKey makes dst (in dstSlot) an exact copy of src (in srcSlot): value and
// expire time, or no key when src does not exist.
func (e *emulation) copyKey(ctx context.Context, d apply.Dest, src []byte, srcSlot int, dst []byte, dstSlot int) error {
	v, err := do(ctx, d, srcSlot, []byte("DUMP"), src)
	if err != nil {
		return err
	}
	if v.Null || v.Type != resp.TypeBulkString {
		_, err = do(ctx, d, dstSlot, []byte("DEL"), dst)
		return err
	}
	payload := v.Str
	ttlCmd := "PTTL"
	if e.absTTL {
		ttlCmd = "PEXPIRETIME"
	}
	tv, err := do(ctx, d, srcSlot, []byte(ttlCmd), src)
	if err != nil {
		return err
	}
	ttl := tv.Int
	switch {
	case ttl == -2: // expired between DUMP and now
		_, err = do(ctx, d, dstSlot, []byte("DEL"), dst)
		return err
	case ttl < 0:
		ttl = 0
	case ttl == 0:
		ttl = 1 // PTTL 0: expiring now; RESTORE's 0 would mean "no expire"
	}
	args := [][]byte{[]byte("RESTORE"), dst, strconv.AppendInt(nil, ttl, 10), payload, []byte("REPLACE")}
	if e.absTTL {
		args = append(args, []byte("ABSTTL"))
	}
	_, err = do(ctx, d, dstSlot, args...)
	return err
}

// do runs one command and turns an error reply into an error.
func do(ctx context.Context, d apply.Dest, slot int, args ...[]byte) (resp.Value, error) {
	v, err := d.Do(ctx, slot, args...)
	if err != nil {
		return v, fmt.Errorf("xsync/translate: %s in slot %d: %w", printable(args[0]), slot, err)
	}
	if v.IsError() {
		return v, fmt.Errorf("xsync/translate: %s in slot %d: %w", printable(args[0]), slot, &conn.ReplyError{Msg: string(v.Str)})
	}
	return v, nil
}

// rememberScript hands a script body to Config.Scripts the first time it is seen.
func (t *Translator) rememberScript(body []byte) {
	sum := sha1.Sum(body)
	if _, ok := t.scripts[sum]; ok {
		return
	}
	if len(t.scripts) >= 1<<16 { // bound memory against a stream of one-off scripts
		clear(t.scripts)
	}
	t.scripts[sum] = struct{}{}
	t.cfg.Scripts.LoadScript(body)
}
