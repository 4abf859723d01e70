package gateway

import (
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"

	"github.com/xsync/xsync/resp"
	"github.com/xsync/xsync/slots"
)

// Replies the gateway makes itself. Texts follow Redis 7.0 where Redis has one.
const (
	errCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
	errNoAuth    = "NOAUTH Authentication required."
	errWrongPass = "WRONGPASS invalid username-password pair or user is disabled."
)

var (
	replyOK     = []byte("+OK\r\n")
	replyPong   = []byte("+PONG\r\n")
	replyQueued = []byte("+QUEUED\r\n")
)

// txState is a MULTI in progress: commands are queued in the gateway and sent to
// the slot's node as one group at EXEC.
type txState struct {
	raw   []byte // MULTI + queued commands
	n     int    // queued commands
	slot  int    // -1 until a command with keys
	write bool
	bad   bool // a queued command was refused: EXEC aborts
}

// command handles one parsed command; raw is its wire form, valid during the call.
// It returns true when the connection is to be closed after the replies so far.
func (cl *client) command(args [][]byte, raw []byte) (quit bool) {
	var nameBuf [24]byte
	nb := upperBytes(nameBuf[:0], args[0])
	if cl.authed && cl.ps == nil && cl.tx == nil && !gatewayHandles(nb) && !cl.g.priv.top[string(nb)] {
		cl.forward(args, raw) // the hot path: no string made of the name
		return false
	}
	name := string(nb)
	if !cl.authed {
		switch name {
		case "AUTH", "HELLO", "QUIT":
		default:
			cl.local(resp.AppendError(nil, errNoAuth))
			return false
		}
	}
	if cl.g.priv.top[name] {
		if refused := cl.g.priv.check(name, args); refused != nil {
			if cl.tx != nil {
				cl.tx.bad = true // EXEC aborts, as Redis aborts a transaction with a refused command
			}
			cl.local(refused)
			return false
		}
	}
	if cl.ps != nil {
		return cl.pubsubCommand(name, args, raw)
	}
	if cl.tx != nil {
		cl.txCommand(name, args, raw)
		return false
	}
	switch name {
	case "PING":
		switch len(args) {
		case 1:
			cl.local(replyPong)
		case 2:
			cl.local(resp.AppendBulk(nil, args[1]))
		default:
			cl.local(arityError("ping"))
		}
	case "ECHO":
		if len(args) != 2 {
			cl.local(arityError("echo"))
			return false
		}
		cl.local(resp.AppendBulk(nil, args[1]))
	case "QUIT":
		cl.local(replyOK)
		return true
	case "AUTH":
		cl.auth(args)
	case "HELLO":
		cl.hello(args)
	case "SELECT":
		if len(args) != 2 {
			cl.local(arityError("select"))
		} else if string(args[1]) == "0" {
			cl.local(replyOK)
		} else {
			cl.local(resp.AppendError(nil, "ERR SELECT is not allowed in cluster mode"))
		}
	case "CLIENT":
		cl.clientCommand(args)
	case "MULTI":
		cl.tx = &txState{raw: resp.AppendCommandString(nil, "MULTI"), slot: -1}
		cl.local(replyOK)
	case "EXEC", "DISCARD":
		cl.local(resp.AppendError(nil, "ERR "+name+" without MULTI"))
	case "WATCH":
		cl.watchCommand(args, raw) // watch.go
	case "UNWATCH":
		cl.endWatch()
		cl.local(replyOK)
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE":
		return cl.pubsubCommand(name, args, raw)
	case "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE":
		cl.local(unsubscribedNothing(name, cl.proto))
	case "MONITOR", "SYNC", "PSYNC", "REPLCONF", "SHUTDOWN", "CLUSTER", "READONLY", "READWRITE", "ASKING", "RESET", "SWAPDB", "MOVE", "FAILOVER", "REPLICAOF", "SLAVEOF":
		cl.local(resp.AppendError(nil, "ERR '"+strings.ToLower(name)+"' is not supported by the xsync gateway"))
	default:
		cl.forward(args, raw)
	}
	return false
}

// forward routes a data command by the slot of its keys.
func (cl *client) forward(args [][]byte, raw []byte) {
	spec, slot, errReply := classify(args)
	if errReply != nil {
		cl.malformed(args, raw, errReply) // errors.go
		return
	}
	r := &request{cl: cl, raw: wire(raw, args), n: 1, slot: slot, proto: cl.proto}
	r.write = isWrite(spec)
	r.block = spec.Flags.Has(slots.FlagBlocking)
	if slot < 0 {
		r.fan = fanKindOf(spec)
	}
	cl.submit(r)
}

// classify finds the command's spec and slot, or the error reply Redis Cluster
// would give.
func classify(args [][]byte) (*slots.CommandSpec, int, []byte) {
	spec, err := slots.Lookup(args)
	if err != nil {
		if errors.Is(err, slots.ErrWrongArity) && spec == nil && len(args) > 0 && slots.LookupCommand(args[0]) != nil {
			return nil, 0, resp.AppendError(nil, "ERR wrong number of arguments for '"+strings.ToLower(string(args[0]))+"' command")
		}
		return nil, 0, unknownCommand(args)
	}
	slot, ok, err := spec.SameSlot(args)
	switch {
	case errors.Is(err, slots.ErrWrongArity):
		return nil, 0, resp.AppendError(nil, "ERR wrong number of arguments for '"+spec.Name+"' command")
	case err != nil:
		return nil, 0, resp.AppendError(nil, "ERR "+strings.TrimPrefix(err.Error(), "xsync/slots: "))
	case !ok:
		return nil, 0, resp.AppendError(nil, errCrossSlot)
	}
	return spec, slot, nil
}

func isWrite(spec *slots.CommandSpec) bool {
	return spec.Write || spec.Flags.Has(slots.FlagMayReplicate)
}

// wire returns the command in RESP: raw itself when it is a multibulk (the
// request keeps a copy), re-encoded when it was inline.
func wire(raw []byte, args [][]byte) []byte {
	if len(raw) > 0 && raw[0] == resp.TypeArray {
		return append([]byte(nil), raw...)
	}
	return resp.AppendCommand(nil, args...)
}

// txCommand queues a command of a MULTI, or runs EXEC/DISCARD.
func (cl *client) txCommand(name string, args [][]byte, raw []byte) {
	tx := cl.tx
	switch name {
	case "MULTI":
		cl.local(resp.AppendError(nil, "ERR MULTI calls can not be nested"))
		return
	case "WATCH":
		cl.local(resp.AppendError(nil, "ERR WATCH inside MULTI is not allowed"))
		return
	case "DISCARD":
		cl.tx = nil
		cl.endWatch()
		cl.local(replyOK)
		return
	case "EXEC":
		cl.tx = nil
		if cl.watch != nil {
			cl.execWatched(tx) // watch.go
			return
		}
		switch {
		case tx.bad:
			cl.local(resp.AppendError(nil, "EXECABORT Transaction discarded because of previous errors."))
		case tx.n == 0:
			cl.local(resp.AppendArray(nil, 0))
		default:
			r := &request{cl: cl, raw: resp.AppendCommandString(tx.raw, "EXEC"), n: tx.n + 2, slot: tx.slot, write: tx.write, proto: cl.proto}
			cl.submit(r)
		}
		return
	case "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "AUTH", "HELLO", "SELECT", "CLIENT", "QUIT":
		tx.bad = true
		cl.local(resp.AppendError(nil, "ERR Command not allowed inside a transaction"))
		return
	}
	spec, slot, errReply := classify(args)
	if errReply != nil {
		if s := queueMalformed(args); s != nil { // errors.go: Redis queues it and fails it in EXEC
			spec, slot, errReply = s, -1, nil
		}
	}
	if errReply == nil && spec.Flags.Has(slots.FlagNoMulti) {
		errReply = resp.AppendError(nil, "ERR Command not allowed inside a transaction")
	}
	if errReply == nil && slot >= 0 && tx.slot >= 0 && slot != tx.slot {
		errReply = resp.AppendError(nil, errCrossSlot)
	}
	if errReply != nil {
		tx.bad = true
		cl.local(errReply)
		return
	}
	if slot >= 0 {
		tx.slot = slot
	}
	tx.write = tx.write || isWrite(spec)
	tx.raw = append(tx.raw, wire(raw, args)...)
	tx.n++
	cl.local(replyQueued)
}

func (cl *client) auth(args [][]byte) {
	if len(args) < 2 || len(args) > 3 {
		cl.local(arityError("auth"))
		return
	}
	if cl.g.cfg.Password == "" {
		cl.local(resp.AppendError(nil, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
		return
	}
	if len(args) == 3 && string(args[1]) != "default" || subtle.ConstantTimeCompare(args[len(args)-1], []byte(cl.g.cfg.Password)) != 1 {
		cl.local(resp.AppendError(nil, errWrongPass))
		return
	}
	cl.authed = true
	cl.local(replyOK)
}

// hello answers HELLO [protover [AUTH user pass] [SETNAME name]].
func (cl *client) hello(args [][]byte) {
	proto := cl.proto
	if len(args) >= 2 {
		v, err := strconv.Atoi(string(args[1]))
		if err != nil {
			cl.local(resp.AppendError(nil, "ERR Protocol version is not an integer or out of range"))
			return
		}
		if v != 2 && v != 3 {
			cl.local(resp.AppendError(nil, "NOPROTO unsupported protocol version"))
			return
		}
		proto = v
	}
	authed, name := cl.authed, cl.name
	for i := 2; i < len(args); i++ {
		switch {
		case strings.EqualFold(string(args[i]), "AUTH") && i+2 < len(args):
			if cl.g.cfg.Password == "" || string(args[i+1]) != "default" || subtle.ConstantTimeCompare(args[i+2], []byte(cl.g.cfg.Password)) != 1 {
				cl.local(resp.AppendError(nil, errWrongPass))
				return
			}
			authed = true
			i += 2
		case strings.EqualFold(string(args[i]), "SETNAME") && i+1 < len(args):
			name = string(args[i+1])
			i++
		default:
			cl.local(resp.AppendError(nil, "ERR Syntax error in HELLO option '"+string(args[i])+"'"))
			return
		}
	}
	if !authed {
		cl.local(resp.AppendError(nil, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
		return
	}
	cl.authed, cl.name, cl.proto = authed, name, proto
	var b []byte
	if proto == 3 {
		b = append(b, "%7\r\n"...)
	} else {
		b = resp.AppendArray(b, 14)
	}
	b = resp.AppendBulkString(b, "server")
	b = resp.AppendBulkString(b, "redis")
	b = resp.AppendBulkString(b, "version")
	b = resp.AppendBulkString(b, "7.0.15")
	b = resp.AppendBulkString(b, "proto")
	b = resp.AppendInt(b, int64(proto))
	b = resp.AppendBulkString(b, "id")
	b = resp.AppendInt(b, int64(cl.id))
	b = resp.AppendBulkString(b, "mode")
	b = resp.AppendBulkString(b, "standalone")
	b = resp.AppendBulkString(b, "role")
	b = resp.AppendBulkString(b, "master")
	b = resp.AppendBulkString(b, "modules")
	b = resp.AppendArray(b, 0)
	cl.local(b)
}

func (cl *client) clientCommand(args [][]byte) {
	if len(args) < 2 {
		cl.local(arityError("client"))
		return
	}
	switch strings.ToUpper(string(args[1])) {
	case "SETNAME":
		if len(args) != 3 {
			cl.local(arityError("client|setname"))
			return
		}
		cl.name = string(args[2])
		cl.local(replyOK)
	case "GETNAME":
		if cl.name == "" {
			cl.local(nullReply(cl.proto))
		} else {
			cl.local(resp.AppendBulkString(nil, cl.name))
		}
	case "ID":
		cl.local(resp.AppendInt(nil, int64(cl.id)))
	case "SETINFO":
		cl.local(replyOK)
	default:
		cl.clientIntrospect(args) // introspect.go
	}
}

func nullReply(proto int) []byte {
	if proto == 3 {
		return []byte("_\r\n")
	}
	return resp.AppendNullBulk(nil)
}

func arityError(name string) []byte {
	return resp.AppendError(nil, "ERR wrong number of arguments for '"+name+"' command")
}

func unknownCommand(args [][]byte) []byte {
	msg := "ERR unknown command '" + truncate(string(args[0]), 128) + "', with args beginning with: "
	for _, a := range args[1:min(len(args), 4)] {
		msg += "'" + truncate(string(a), 128) + "' "
	}
	return resp.AppendError(nil, strings.Map(noCRLF, msg))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func noCRLF(r rune) rune {
	if r == '\r' || r == '\n' {
		return ' '
	}
	return r
}

// upperBytes appends the ASCII upper case of b to dst.
func upperBytes(dst []byte, b []byte) []byte {
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// gatewayHandles reports whether the gateway answers the command itself rather
// than forwarding it (the switch on string(b) does not allocate).
func gatewayHandles(name []byte) bool {
	switch string(name) {
	case "PING", "ECHO", "QUIT", "AUTH", "HELLO", "SELECT", "CLIENT", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
		"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
		"MONITOR", "SYNC", "PSYNC", "REPLCONF", "SHUTDOWN", "CLUSTER", "READONLY", "READWRITE", "ASKING", "RESET",
		"SWAPDB", "MOVE", "FAILOVER", "REPLICAOF", "SLAVEOF":
		return true
	}
	return false
}
