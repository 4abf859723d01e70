package translate

import (
	"github.com/xsync/xsync/resp"
)

// perKeyStep returns the key step of a command whose effect is the same as
// that of one command per key (so it may be split per slot), or 0.
func perKeyStep(name string) int {
	switch name {
	case "mset", "msetnx":
		return 2 // MSETNX is propagated only when it succeeded: it is an MSET then
	case "del", "unlink", "touch":
		return 1
	}
	return 0
}

// split emits one command per slot with the included keys of that slot (and,
// for MSET, their values), in the order of each slot's first key. t.argv,
// t.incl and t.kslot describe the keys (see mapKeys).
func (t *Translator) split(tg dbTarget, name string, idx []int, step int) error {
	out := "MSET"
	switch name {
	case "del":
		out = "DEL"
	case "unlink":
		out = "UNLINK"
	case "touch":
		out = "TOUCH"
	}
	if step == 2 && len(t.argv)%2 != 1 {
		return arity(t.argv)
	}
	t.done = t.done[:0]
	for range idx {
		t.done = append(t.done, false)
	}
	for i := range idx {
		if t.done[i] || !t.incl[i] {
			continue
		}
		slot := t.kslot[i]
		count := 0
		for j := i; j < len(idx); j++ {
			if !t.done[j] && t.incl[j] && t.kslot[j] == slot {
				count++
			}
		}
		start := len(t.buf)
		sel := t.selectBegin(tg)
		t.buf = resp.AppendArray(t.buf, 1+count*step)
		t.buf = resp.AppendBulkString(t.buf, out)
		for j := i; j < len(idx); j++ {
			if t.done[j] || !t.incl[j] || t.kslot[j] != slot {
				continue
			}
			t.done[j] = true
			k := idx[j]
			for s := 0; s < step; s++ {
				t.buf = resp.AppendBulk(t.buf, t.argv[min(k+s, len(t.argv)-1)])
			}
		}
		n := 1 + sel + t.selectEnd(tg)
		t.emit(slot, start, n, t.argv[idx[i]])
	}
	return nil
}
