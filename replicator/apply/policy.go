package apply

import (
	"bytes"
	"fmt"
)

// ErrorKind is the kind of an error reply that a retry cannot fix; each kind is
// counted in Stats and may have its own ErrorPolicy.
type ErrorKind uint8

const (
	KindOOM       ErrorKind = iota // -OOM command not allowed when used memory > 'maxmemory'
	KindWrongType                  // -WRONGTYPE Operation against a key holding the wrong kind of value
	KindBusyKey                    // -BUSYKEY Target key name already exists (RESTORE without REPLACE)
	KindNoScript                   // -NOSCRIPT No matching script, and its body is unknown to the applier
	KindExecAbort                  // -EXECABORT a transaction was discarded for a reason that is not retried
	KindOther                      // -ERR ... and every other error reply
	numErrorKinds
)

// NumErrorKinds is the number of ErrorKind values (the length of Stats.Errors).
const NumErrorKinds = int(numErrorKinds)

var kindNames = [...]string{"oom", "wrongtype", "busykey", "noscript", "execabort", "other"}

func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// RetryKind is why an op was sent again; each kind is counted in Stats.Retries.
type RetryKind uint8

const (
	RetryMoved       RetryKind = iota // -MOVED <slot> <addr>: slot table refreshed, re-sent to the owner
	RetryAsk                          // -ASK <slot> <addr>: re-sent as ASKING + command to addr
	RetryTryAgain                     // -TRYAGAIN: multi-key command during a slot migration; backoff
	RetryClusterDown                  // -CLUSTERDOWN: cluster state fail; backoff
	RetryLoading                      // -LOADING: node loading its dataset; backoff
	RetryMasterDown                   // -MASTERDOWN: link with master down; backoff
	RetryBusy                         // -BUSY: a script or function is running; backoff
	RetryReadOnly                     // -READONLY: written to a replica (failover in progress); refresh + backoff
	RetryNoScript                     // -NOSCRIPT with a known body: SCRIPT LOAD then the command
	RetryConnLost                     // connection lost or unreachable: refresh + backoff
	numRetryKinds
)

// NumRetryKinds is the number of RetryKind values (the length of Stats.Retries).
const NumRetryKinds = int(numRetryKinds)

var retryNames = [...]string{"moved", "ask", "tryagain", "clusterdown", "loading", "masterdown", "busy", "readonly", "noscript", "connlost"}

func (k RetryKind) String() string {
	if int(k) < len(retryNames) {
		return retryNames[k]
	}
	return fmt.Sprintf("RetryKind(%d)", uint8(k))
}

// needsRefresh says whether the slot table should be re-read before a retry.
func (k RetryKind) needsRefresh() bool {
	return k == RetryMoved || k == RetryReadOnly || k == RetryConnLost || k == RetryClusterDown
}

// immediate says whether the retry needs no backoff.
func (k RetryKind) immediate() bool {
	return k == RetryMoved || k == RetryAsk || k == RetryNoScript
}

// class is the verdict on one error reply.
type class struct {
	retry   bool
	rk      RetryKind // when retry
	ek      ErrorKind // when !retry
	addr    string    // MOVED/ASK target
	isAbort bool      // EXECABORT (look at the queued replies for the cause)
}

// kind is the ErrorKind to count when c cannot be retried where it happened
// (inside the reply array of EXEC, the other commands having run).
func (c class) kind() ErrorKind {
	switch {
	case !c.retry:
		return c.ek
	case c.rk == RetryNoScript:
		return KindNoScript
	}
	return KindOther
}

// classify sorts an error reply (without the leading '-'). Retry kinds are those
// that a later attempt fixes; the others go through the policy.
func classify(msg []byte) class {
	word := msg
	if i := bytes.IndexByte(msg, ' '); i >= 0 {
		word = msg[:i]
	}
	switch string(word) { // no allocation: the compiler special-cases string(b) in a switch
	case "MOVED":
		return class{retry: true, rk: RetryMoved, addr: redirectAddr(msg)}
	case "ASK":
		return class{retry: true, rk: RetryAsk, addr: redirectAddr(msg)}
	case "TRYAGAIN":
		return class{retry: true, rk: RetryTryAgain}
	case "CLUSTERDOWN":
		return class{retry: true, rk: RetryClusterDown}
	case "LOADING":
		return class{retry: true, rk: RetryLoading}
	case "MASTERDOWN":
		return class{retry: true, rk: RetryMasterDown}
	case "BUSY":
		return class{retry: true, rk: RetryBusy}
	case "READONLY":
		return class{retry: true, rk: RetryReadOnly}
	case "NOSCRIPT":
		return class{retry: true, rk: RetryNoScript}
	case "OOM":
		return class{ek: KindOOM}
	case "WRONGTYPE":
		return class{ek: KindWrongType}
	case "BUSYKEY":
		return class{ek: KindBusyKey}
	case "EXECABORT":
		return class{ek: KindExecAbort, isAbort: true}
	}
	return class{ek: KindOther}
}

// redirectAddr returns the address of "MOVED 3999 127.0.0.1:6381" (the third
// word), or "" when the reply is malformed.
func redirectAddr(msg []byte) string {
	f := bytes.Fields(msg)
	if len(f) < 3 {
		return ""
	}
	return string(f[2])
}

// oomMessage is the error Run ends with when the destination is out of memory
// under PolicyStop.
func oomMessage(node string, key []byte, cmd string, reply string) error {
	return fmt.Errorf("xsync/apply: destination %s is full (maxmemory reached) writing key %q (%s): %s; "+
		"raise maxmemory on the destination, or set maxmemory-policy noeviction and free memory there, then restart the sync",
		node, key, cmd, reply)
}

// policyLocked puts o's error replies through the policy: under PolicySkip
// they are counted and logged; under PolicyStop Run ends (stop is true). A
// NOSCRIPT whose body is unknown becomes such an error too.
func (a *Applier) policyLocked(o *op, logs []logEntry) (bool, []logEntry) {
	stop := false
	for _, e := range o.errs {
		count := a.stats.errors[e.kind].Add(1)
		name := o.cmdName(e.cmd)
		if a.cfg.policy(e.kind) == PolicySkip {
			if logSkip(count) {
				logs = append(logs, logEntry{"destination error skipped", []any{"kind", e.kind.String(),
					"key", string(o.Key), "command", name, "reply", e.msg, "node", o.node, "count", count}})
			}
			continue
		}
		if e.kind != KindOOM && a.holdLocked(e.kind, o.Slot, o.Source, o.Key, name, o.node, e.msg) {
			logs = append(logs, logEntry{"destination error held: checking the destination for data loss", []any{"kind", e.kind.String(),
				"key", string(o.Key), "command", name, "reply", e.msg, "node", o.node}})
			continue
		}
		stop = true
		switch e.kind {
		case KindOOM:
			a.failLocked(oomMessage(o.node, o.Key, name, e.msg))
		default:
			a.failLocked(fmt.Errorf("xsync/apply: destination %s answered %q to %s on key %q (source %d, policy stop)%s",
				o.node, e.msg, name, o.Key, o.Source, adviceFor(e.kind)))
		}
	}
	if o.retry && o.rk == RetryNoScript && a.scripts.bodiesFor(o) == nil {
		// The body is unknown: a retry cannot help.
		o.retry = false
		count := a.stats.errors[KindNoScript].Add(1)
		if a.cfg.policy(KindNoScript) == PolicySkip {
			if logSkip(count) {
				logs = append(logs, logEntry{"destination error skipped", []any{"kind", "noscript", "key", string(o.Key),
					"command", o.cmdName(0), "node", o.node, "count", count}})
			}
		} else {
			stop = true
			a.failLocked(fmt.Errorf("xsync/apply: NOSCRIPT on %s for key %q and the script body is unknown (feed it with LoadScript)", o.node, o.Key))
		}
	}
	return stop, logs
}

// adviceFor says what to do about an error reply that stopped the applier.
func adviceFor(k ErrorKind) string {
	switch k {
	case KindBusyKey:
		return ": the key already exists on the destination; overwrite such keys (--conflict replace), keep them (--conflict skip), or empty the destination first"
	case KindWrongType:
		return ": the destination holds a key of another type under that name; remove it, or let xsync skip such errors (--on-error skip)"
	}
	return ""
}

// HeldError is an error reply handed to Config.Hold.
type HeldError struct {
	Slot    int    // the op's slot, -1 for an op of no single slot
	Source  int    // the op's source
	Command string // the command that failed
	Err     error  // what Run would have ended with: node, reply, key and command
}

// holdLocked offers an error reply that would stop Run to Config.Hold.
func (a *Applier) holdLocked(kind ErrorKind, slot, source int, key []byte, cmd, node, reply string) bool {
	if a.cfg.Hold == nil {
		return false
	}
	advice := adviceFor(kind)
	if advice == "" {
		advice = ": fix the cause and restart the sync (it resumes from the last checkpoint), " +
			"or run with --on-error skip to log and count such errors and go on"
	}
	err := fmt.Errorf("xsync/apply: destination %s answered %q to %s on key %q (source %d, policy stop; no data loss of the destination explains it)%s",
		node, reply, cmd, key, source, advice)
	if !a.cfg.Hold(HeldError{Slot: slot, Source: source, Command: cmd, Err: err}) {
		return false
	}
	a.stats.held.Add(1)
	return true
}
