package gateway

import (
	"errors"

	"github.com/xsync/xsync/slots"
)

// malformed handles a command classify could not route. An unknown command and
// keys in several slots are answered here (as Redis Cluster would: the text of
// unknownCommand and errCrossSlot). A known command the gateway cannot find
// the keys of (wrong arity, a bad numkeys, an unknown subcommand) goes to one
// master, which answers with its own error text (or runs it, when Redis
// accepts what the gateway's key finding refused: a -MOVED then takes it to
// the right node). It counts as a write, held during a cutover, since the
// gateway cannot tell.
func (cl *client) malformed(args [][]byte, raw, errReply []byte) {
	if slots.LookupCommand(args[0]) == nil {
		cl.local(errReply)
		return
	}
	block := false
	if spec, err := slots.Lookup(args); err == nil {
		block = spec.Flags.Has(slots.FlagBlocking) // should the node accept it, not on a shared pipe
		if _, _, err := spec.SameSlot(args); err == nil {
			cl.local(errReply) // CROSSSLOT
			return
		} else if !errors.Is(err, slots.ErrWrongArity) && !errors.Is(err, slots.ErrBadKeys) {
			cl.local(errReply)
			return
		}
	}
	cl.submit(&request{cl: cl, raw: wire(raw, args), n: 1, slot: -1, write: true, block: block, proto: cl.proto})
}

// queueMalformed returns the spec of a command to queue in a MULTI although its
// keys cannot be found (a bad numkeys): Redis queues it (its arity is right)
// and reports the error in EXEC's reply (see queueMultiCommand in Redis's
// multi.c; the command's own checks run at EXEC). nil for anything else.
func queueMalformed(args [][]byte) *slots.CommandSpec {
	spec, err := slots.Lookup(args)
	if err != nil {
		return nil
	}
	if _, _, err := spec.SameSlot(args); errors.Is(err, slots.ErrBadKeys) && !errors.Is(err, slots.ErrWrongArity) {
		return spec
	}
	return nil
}
