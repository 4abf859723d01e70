package apply

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/xsync/xsync/resp"
)

// op is the applier's record of one submitted Op, from Submit to its
// acknowledgement. The lane fields are guarded by Applier.mu; the reply fields
// are touched only by the reader of the pipe the op was last written to.
type op struct {
	Op            // Cmd points into an applier-owned copy
	seq    uint64 // position in its source's order
	lane   *lane
	size   int // len(Cmd), for the pending bytes bound
	txn    bool
	buf    *batchBuf // the SubmitBatch buffer Cmd and Key are in, if any
	spans  []span    // command boundaries in Cmd, computed when first needed
	failed []int     // when not nil: only these commands are (re-)sent

	// How the next send is framed (set by prepare before it is queued).
	wire     []byte // bytes to write; Cmd itself when undecorated
	nrep     int    // replies expected for wire
	pre      int    // leading replies that answer decorations (SCRIPT LOAD, one ASKING)
	askEach  bool   // every command is preceded by ASKING
	wireSize int    // set by inflights.Add
	node     string // address it was last written to
	sentAt   int64  // unix ns of the batch that last wrote it (for Config.OnReply)

	// Reply state of the current send.
	got     int
	cmdIdx  int // index (into the sent commands) of the next command reply
	askNext bool

	// Verdict of the current send.
	retry    bool
	rk       RetryKind
	redirect string
	retryCmd []int     // commands that failed with a retryable error (indexes into Cmd's commands)
	errs     []opError // errors that a retry cannot fix
	queueErr *class    // first error while a MULTI was queueing (the cause of EXECABORT)

	// Retry bookkeeping.
	lost       bool // written, then the connection broke before the reply
	attempts   int
	firstRetry time.Time
	errEpoch   uint64 // topology epoch when the retry was decided
}

// span is one command inside Op.Cmd.
type span struct{ start, end int }

// opError is one error reply that goes through the policy.
type opError struct {
	kind ErrorKind
	msg  string
	cmd  int // command index in Cmd
}

var askingCmd = []byte("*1\r\n$6\r\nASKING\r\n")

// isMulti reports whether cmd starts with a MULTI command.
func isMulti(cmd []byte) bool {
	const p = "*1\r\n$5\r\n"
	return len(cmd) >= len(p)+5 && string(cmd[:len(p)]) == p && bytes.EqualFold(cmd[len(p):len(p)+5], []byte("MULTI"))
}

// splitCommands returns the boundaries of the commands in cmd.
func splitCommands(cmd []byte) ([]span, error) {
	var out []span
	var args [][]byte
	for pos := 0; pos < len(cmd); {
		a, n, err := resp.ParseCommand(cmd[pos:], args, nil)
		if err != nil {
			return nil, fmt.Errorf("xsync/apply: malformed Op.Cmd at byte %d: %w", pos, err)
		}
		if n == 0 || len(a) == 0 {
			return nil, fmt.Errorf("xsync/apply: malformed Op.Cmd at byte %d: empty command", pos)
		}
		args = a
		out = append(out, span{pos, pos + n})
		pos += n
	}
	return out, nil
}

// countCommands returns how many whole commands cmd holds, without keeping them
// (no allocation for commands of up to 16 arguments).
func countCommands(cmd []byte) (int, error) {
	var arr [16][]byte
	args := arr[:0]
	n := 0
	for pos := 0; pos < len(cmd); {
		a, k, err := resp.ParseCommand(cmd[pos:], args, nil)
		if err != nil {
			return n, fmt.Errorf("xsync/apply: malformed Op.Cmd at byte %d: %w", pos, err)
		}
		if k == 0 || len(a) == 0 {
			return n, fmt.Errorf("xsync/apply: malformed Op.Cmd at byte %d: empty command", pos)
		}
		args = a[:0]
		n++
		pos += k
	}
	return n, nil
}

func (o *op) commandSpans() ([]span, error) {
	if o.spans == nil {
		s, err := splitCommands(o.Cmd)
		if err != nil {
			return nil, err
		}
		o.spans = s
	}
	return o.spans, nil
}

// args returns the arguments of command i of Cmd (nil when Cmd is malformed).
func (o *op) args(i int) [][]byte {
	sp, err := o.commandSpans()
	if err != nil || i < 0 || i >= len(sp) {
		return nil
	}
	a, _, err := resp.ParseCommand(o.Cmd[sp[i].start:sp[i].end], nil, nil)
	if err != nil {
		return nil
	}
	return a
}

// cmdName returns the name of command i, upper case, for messages.
func (o *op) cmdName(i int) string {
	a := o.args(i)
	if len(a) == 0 {
		return "?"
	}
	return string(bytes.ToUpper(a[0]))
}

// prepare frames the next send of o: the commands still to send (all, or those
// in o.failed), preceded by SCRIPT LOAD for preload and by ASKING when ask is
// set (once before MULTI, else before every command).
func (o *op) prepare(ask bool, preload [][]byte) error {
	o.got, o.cmdIdx, o.askNext = 0, 0, false
	o.retry, o.rk, o.redirect, o.retryCmd, o.errs, o.queueErr = false, 0, "", nil, nil, nil
	o.askEach = ask && !o.txn
	o.pre = len(preload)
	if ask && o.txn {
		o.pre++
	}
	if !ask && len(preload) == 0 && o.failed == nil {
		o.wire, o.nrep = o.Cmd, o.N
		return nil
	}
	cmds := o.failed
	if cmds == nil {
		cmds = make([]int, o.N)
		for i := range cmds {
			cmds[i] = i
		}
	}
	sp, err := o.commandSpans()
	if err != nil {
		return err
	}
	var w []byte
	for _, body := range preload {
		w = resp.AppendCommand(w, []byte("SCRIPT"), []byte("LOAD"), body)
	}
	if ask && o.txn {
		w = append(w, askingCmd...)
	}
	for _, i := range cmds {
		if i >= len(sp) {
			return fmt.Errorf("xsync/apply: Op.N is %d but Cmd holds %d commands", o.N, len(sp))
		}
		if o.askEach {
			w = append(w, askingCmd...)
		}
		w = append(w, o.Cmd[sp[i].start:sp[i].end]...)
	}
	o.wire = w
	o.nrep = o.pre + len(cmds)
	if o.askEach {
		o.nrep += len(cmds)
	}
	return nil
}

// sentCmd maps the k-th command of the current send to its index in Cmd.
func (o *op) sentCmd(k int) int {
	if o.failed != nil && k < len(o.failed) {
		return o.failed[k]
	}
	return k
}

// feed takes the next reply of the current send and reports whether it was the
// last one. v is only read during the call.
func (o *op) feed(v resp.Value) bool {
	o.got++
	switch {
	case o.pre > 0 && o.got <= o.pre:
		// SCRIPT LOAD or ASKING: an error here shows again on the command itself.
	case o.askEach && !o.askNext:
		o.askNext = true // the ASKING before a command
	default:
		o.askNext = false
		k := o.cmdIdx
		o.cmdIdx++
		o.note(k, v)
	}
	return o.got >= o.nrep
}

// note records the reply to the k-th command of the current send.
func (o *op) note(k int, v resp.Value) {
	last := k == o.sentCount()-1
	if o.txn && last { // EXEC
		o.noteExec(k, v)
		return
	}
	if !v.IsError() {
		return
	}
	c := classify(v.Str)
	if o.txn { // error while queueing: EXEC will say EXECABORT
		if o.queueErr == nil {
			o.queueErr = &c
			o.errs = append(o.errs, opError{kind: c.kind(), msg: string(v.Str), cmd: o.sentCmd(k)})
		}
		return
	}
	i := o.sentCmd(k)
	if c.retry {
		o.markRetry(c)
		o.retryCmd = append(o.retryCmd, i)
		return
	}
	o.errs = append(o.errs, opError{kind: c.ek, msg: string(v.Str), cmd: i})
}

func (o *op) sentCount() int {
	if o.failed != nil {
		return len(o.failed)
	}
	return o.N
}

func (o *op) markRetry(c class) {
	if !o.retry {
		o.retry, o.rk, o.redirect = true, c.rk, c.addr
	}
}

// noteExec records the reply to EXEC: an array (the transaction ran; its error
// elements go through the policy) or an error (nothing ran).
func (o *op) noteExec(k int, v resp.Value) {
	if !v.IsError() {
		if v.Null { // WATCH failed: nothing ran and nothing will; report it
			o.errs = append(o.errs, opError{kind: KindExecAbort, msg: "EXEC returned null (WATCH)", cmd: o.sentCmd(k)})
			return
		}
		for j, e := range v.Elems {
			if e.IsError() {
				c := classify(e.Str)
				o.errs = append(o.errs, opError{kind: c.kind(), msg: string(e.Str), cmd: o.sentCmd(j + 1)})
			}
		}
		return
	}
	if o.queueErr != nil && o.queueErr.retry {
		o.markRetry(*o.queueErr)
		o.errs = nil
		return
	}
	if o.queueErr == nil {
		c := classify(v.Str)
		if c.retry {
			o.markRetry(c)
			return
		}
		o.errs = append(o.errs, opError{kind: c.kind(), msg: string(v.Str), cmd: o.sentCmd(k)})
	}
	// else: the queueing error (already in errs) is the cause.
}

// errMalformedReply is returned when a node answers more replies than asked.
var errUnexpectedReply = errors.New("xsync/apply: reply without a pending command (protocol out of step)")
