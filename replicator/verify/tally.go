package verify

import (
	"context"
	"sync"
	"time"

	"github.com/xsync/xsync/internal/sleep"
)

// pendingKey identifies a differing key: by source database, or for Extra by
// target database.
type pendingKey struct {
	extra bool
	db    int
	key   string
}

// tally collects the differing keys of a round.
type tally struct {
	mu       sync.Mutex
	max      int
	items    map[pendingKey]item
	overflow [numKinds]int64 // found beyond max: counted, not re-checked
}

func newTally(max int) *tally { return &tally{max: max, items: map[pendingKey]item{}} }

func (t *tally) add(items []item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range items {
		k := pendingKey{db: it.srcDB, key: it.key}
		if it.kind == Extra {
			k = pendingKey{extra: true, db: it.tgtDB, key: it.key}
		}
		if _, ok := t.items[k]; !ok && len(t.items) >= t.max {
			t.overflow[it.kind]++
			continue
		}
		t.items[k] = it
	}
}

func (t *tally) total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(len(t.items))
	for _, o := range t.overflow {
		n += o
	}
	return n
}

// byDB groups the keys to re-check: by source database, and Extra keys by target
// database.
func (t *tally) byDB() (fwd, extra map[int][]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fwd, extra = map[int][]string{}, map[int][]string{}
	for k := range t.items {
		if k.extra {
			extra[k.db] = append(extra[k.db], k.key)
		} else {
			fwd[k.db] = append(fwd[k.db], k.key)
		}
	}
	return fwd, extra
}

// limiter bounds keys per second; nil means unbounded.
type limiter struct {
	mu   sync.Mutex
	per  time.Duration // time per key
	next time.Time
}

func newLimiter(rate int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{per: time.Second / time.Duration(rate)}
}

// wait blocks until n more keys may be read.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(time.Duration(n) * l.per)
	l.mu.Unlock()
	return sleep.For(ctx, time.Until(at))
}
