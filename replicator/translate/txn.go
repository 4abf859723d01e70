package translate

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/xsync/xsync/replicator/apply"
	"github.com/xsync/xsync/resp"
)

// multi starts buffering a transaction.
func (t *Translator) multi(offset int64) error {
	if t.inTxn {
		return fmt.Errorf("%w: MULTI inside MULTI at offset %d", ErrSyntax, offset)
	}
	t.inTxn = true
	t.txnStart = len(t.pend)
	return nil
}

// discard drops a buffered transaction (a master never propagates DISCARD, but
// a hand-fed stream may carry one).
func (t *Translator) discard() {
	if t.inTxn {
		t.pend = t.pend[:t.txnStart]
		t.inTxn = false
	}
}

// exec ends a transaction: the ops buffered since MULTI become one MULTI/EXEC
// group per slot, in the order of the slots' first commands. Barrier and
// all-masters ops split the transaction into segments: the groups before one
// are emitted before it, the groups after it after it. From a cluster source
// (one slot) this is exactly the source's transaction; from a standalone source
// each slot gets its own atomic group, which is all a cluster can give.
func (t *Translator) exec(offset int64) error {
	if !t.inTxn {
		t.skip("EXEC without MULTI", [][]byte{[]byte("EXEC")}, offset)
		return nil
	}
	t.inTxn = false
	t.txnOps = append(t.txnOps[:0], t.pend[t.txnStart:]...)
	t.pend = t.pend[:t.txnStart]
	ops := t.txnOps
	groups := 0
	for i := 0; i < len(ops); {
		if ops[i].barrier != nil || ops[i].slot == apply.AllMasters {
			t.pend = append(t.pend, ops[i])
			i++
			continue
		}
		j := i
		for j < len(ops) && ops[j].barrier == nil && ops[j].slot != apply.AllMasters {
			j++
		}
		groups += t.group(ops[i:j])
		i = j
	}
	if groups > 1 {
		t.st.txSplit.Add(1)
	}
	return nil
}

// group emits one MULTI/EXEC per slot for a run of plain ops, ordered by slot
// (the groups are independent of each other); it returns how many it emitted.
func (t *Translator) group(run []pending) int {
	t.txnOrder = t.txnOrder[:0]
	for i := range run {
		t.txnOrder = append(t.txnOrder, i)
	}
	whole := t.cfg.DestKind == DestStandalone // one server takes any key set
	if !whole {
		slices.SortStableFunc(t.txnOrder, func(a, b int) int { return cmp.Compare(run[a].slot, run[b].slot) })
	}
	groups := 0
	for i := 0; i < len(t.txnOrder); {
		slot := run[t.txnOrder[i]].slot
		start := len(t.buf)
		t.buf = resp.AppendCommandString(t.buf, "MULTI")
		n := 2
		first := run[t.txnOrder[i]]
		for ; i < len(t.txnOrder) && (whole || run[t.txnOrder[i]].slot == slot); i++ {
			p := run[t.txnOrder[i]]
			t.buf = append(t.buf, t.buf[p.start:p.end]...)
			n += p.n
		}
		t.buf = resp.AppendCommandString(t.buf, "EXEC")
		end := len(t.buf)
		t.buf = append(t.buf, t.buf[first.k0:first.k1]...)
		t.pend = append(t.pend, pending{slot: slot, start: start, end: end, n: n, k0: end, k1: len(t.buf)})
		groups++
	}
	return groups
}
