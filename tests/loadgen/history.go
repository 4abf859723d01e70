package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// HistoryOptions describes a workload that remembers every write it had
// acknowledged, so that a Checker can name each write a destination lost or applied
// twice. Zero fields take the defaults.
type HistoryOptions struct {
	Prefix string // key prefix; default "h:"
	// Clients is the number of concurrent writers; default 4. Each writer owns its
	// keys, so a key's writes are sequential and its sequence numbers grow.
	Clients int
	// KeysPerClient is the number of keys each writer writes at a time, per kind;
	// default 16.
	KeysPerClient int
	// MaxLen is the number of writes a key takes before its writer moves on to a
	// new key (the next generation), so that no key grows without bound; default 200.
	MaxLen int
	Rate   int    // total writes per second; 0 = as fast as the writers go
	Seed   uint64 // default 1
}

func (o *HistoryOptions) defaults() {
	if o.Prefix == "" {
		o.Prefix = "h:"
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.KeysPerClient == 0 {
		o.KeysPerClient = 16
	}
	if o.MaxLen == 0 {
		o.MaxLen = 200
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// Kinds of history keys. Each write carries its sequence number (1, 2, ...) in a
// form whose double application shows:
//
//	list    RPUSH key <seq>                  the list holds every sequence once, in order
//	counter INCRBY key 1                      the value is the number of writes applied
//	stream  XADD key <seq>-1 s <seq>          one entry per sequence, with a known id
//	append  APPEND key "<seq>,"               the string is the sequences, comma-terminated
const (
	kindList = iota
	kindCounter
	kindStream
	kindAppend
	numKinds
)

var kindNames = [numKinds]string{"l", "c", "x", "a"}

// keyHist is the history of one key, written by one writer only.
type keyHist struct {
	name string
	kind int
	// next is the next sequence to write; 1..next-1 were attempted.
	next int64
	// uncertain lists the attempted sequences whose reply was an error or never
	// came: the server may or may not have applied them.
	uncertain map[int64]bool
	// lastReply is, for a counter, the highest value INCRBY replied.
	lastReply int64
}

// History is a running or finished history workload. Its methods may be called
// once RunHistory has returned.
type History struct {
	o    HistoryOptions
	mu   sync.Mutex
	keys []*keyHist

	Acked     atomic.Int64 // writes acknowledged by the server
	Uncertain atomic.Int64 // writes whose reply was an error or lost
}

// RunHistory drives the history workload against c until ctx is done. c should not
// retry a write on a network error by itself (redis.Options.MaxRetries -1): a retried
// write the server had applied is applied twice on the source, which the Checker
// reports as a duplicate on the source, not as a fault of the replication.
func RunHistory(ctx context.Context, c redis.Cmdable, o HistoryOptions) *History {
	o.defaults()
	h := &History{o: o}
	var limiter <-chan time.Time
	if o.Rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(o.Rate))
		defer t.Stop()
		limiter = t.C
	}
	var wg sync.WaitGroup
	for w := 0; w < o.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			h.writer(ctx, c, w, limiter)
		}(w)
	}
	wg.Wait()
	return h
}

func (h *History) newKey(w, kind, slot, gen int) *keyHist {
	k := &keyHist{
		name:      fmt.Sprintf("%s%s:%d.%d:%d", h.o.Prefix, kindNames[kind], w, slot, gen),
		kind:      kind,
		next:      1,
		uncertain: map[int64]bool{},
	}
	h.mu.Lock()
	h.keys = append(h.keys, k)
	h.mu.Unlock()
	return k
}

func (h *History) writer(ctx context.Context, c redis.Cmdable, w int, limiter <-chan time.Time) {
	rng := rand.New(rand.NewPCG(h.o.Seed+uint64(w), uint64(w)*104729+3))
	live := make([][]*keyHist, numKinds)
	gens := make([][]int, numKinds)
	for kind := range live {
		live[kind] = make([]*keyHist, h.o.KeysPerClient)
		gens[kind] = make([]int, h.o.KeysPerClient)
		for s := range live[kind] {
			live[kind][s] = h.newKey(w, kind, s, 0)
		}
	}
	for ctx.Err() == nil {
		if limiter != nil {
			select {
			case <-ctx.Done():
				return
			case <-limiter:
			}
		}
		kind, slot := rng.IntN(numKinds), rng.IntN(h.o.KeysPerClient)
		k := live[kind][slot]
		if k.next > int64(h.o.MaxLen) {
			gens[kind][slot]++
			k = h.newKey(w, kind, slot, gens[kind][slot])
			live[kind][slot] = k
		}
		seq := k.next
		k.next++
		s := strconv.FormatInt(seq, 10)
		var err error
		switch kind {
		case kindList:
			err = c.RPush(ctx, k.name, s).Err()
		case kindCounter:
			var v int64
			v, err = c.IncrBy(ctx, k.name, 1).Result()
			if err == nil {
				k.lastReply = max(k.lastReply, v)
			}
		case kindStream:
			err = c.XAdd(ctx, &redis.XAddArgs{Stream: k.name, ID: s + "-1", Values: []any{"s", s}}).Err()
		case kindAppend:
			err = c.Append(ctx, k.name, s+",").Err()
		}
		if err != nil {
			// Cancelled or failed: the write may have been applied.
			k.uncertain[seq] = true
			h.Uncertain.Add(1)
			if !errors.Is(err, context.Canceled) {
				// Do not spin on a server that is down.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
			continue
		}
		h.Acked.Add(1)
	}
}

// Keys returns the number of keys the workload wrote.
func (h *History) Keys() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.keys)
}
