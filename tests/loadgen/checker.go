package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Anomaly is one write (or a run of Count writes of a counter) that a side holds a
// wrong number of times.
type Anomaly struct {
	Key   string
	Seq   int64 // the write's sequence number; for a counter the first of the run
	Count int64 // how many times too few (lost) or too many (duplicated)
}

func (a Anomaly) String() string {
	if a.Count == 1 {
		return fmt.Sprintf("%s seq %d", a.Key, a.Seq)
	}
	return fmt.Sprintf("%s seq %d (x%d)", a.Key, a.Seq, a.Count)
}

// Report is what the Checker found. Lost and Duplicated compare the destination
// with the source write by write: a write the source holds and the destination
// does not is lost, one the destination holds more often than the source is
// duplicated, and Reordered names keys holding the same writes in another order.
// SourceLost and SourceDuplicated compare the source with the acknowledged history
// (an acknowledged write the source no longer holds, after a forced failover of the
// source, is not the replication's doing).
type Report struct {
	Keys      int   // keys checked
	Acked     int64 // writes acknowledged by the source
	Uncertain int64 // writes whose reply was lost (applied or not)

	Lost, Duplicated             []Anomaly
	LostWrites, DuplicatedWrites int64
	Reordered                    []string

	SourceLost, SourceDuplicated []Anomaly
}

// OK reports that the destination holds every write of the source exactly once,
// in order, and that the source holds every acknowledged write.
func (r *Report) OK() bool {
	return r.LostWrites == 0 && r.DuplicatedWrites == 0 && len(r.Reordered) == 0 &&
		len(r.SourceLost) == 0 && len(r.SourceDuplicated) == 0
}

// Summary is one line: the counts.
func (r *Report) Summary() string {
	return fmt.Sprintf("keys %d, writes acknowledged %d (uncertain %d): lost %d, duplicated %d, reordered keys %d; source: lost %d, duplicated %d",
		r.Keys, r.Acked, r.Uncertain, r.LostWrites, r.DuplicatedWrites, len(r.Reordered), len(r.SourceLost), len(r.SourceDuplicated))
}

// WriteReport writes the summary and up to 20 anomalies of each class.
func (r *Report) WriteReport(w io.Writer) {
	fmt.Fprintln(w, r.Summary())
	for _, c := range []struct {
		name string
		as   []Anomaly
	}{{"lost", r.Lost}, {"duplicated", r.Duplicated}, {"lost on the source", r.SourceLost}, {"duplicated on the source", r.SourceDuplicated}} {
		for i, a := range c.as {
			if i == 20 {
				fmt.Fprintf(w, "  ... %d more %s\n", len(c.as)-20, c.name)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", c.name, a)
		}
	}
	for i, k := range r.Reordered {
		if i == 20 {
			fmt.Fprintf(w, "  ... %d more reordered\n", len(r.Reordered)-20)
			break
		}
		fmt.Fprintf(w, "  reordered: %s\n", k)
	}
}

// Check reads every key of the history from the source and the destination (both
// quiescent: the workload stopped and the replication caught up) and reports each
// lost and each duplicated write by key and sequence.
func (h *History) Check(ctx context.Context, src, dst redis.Cmdable) (*Report, error) {
	h.mu.Lock()
	keys := slices.Clone(h.keys)
	h.mu.Unlock()
	r := &Report{Keys: len(keys), Acked: h.Acked.Load(), Uncertain: h.Uncertain.Load()}
	const batch = 200
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		sv, err := readKeys(ctx, src, part)
		if err != nil {
			return nil, fmt.Errorf("loadgen: check: read the source: %w", err)
		}
		dv, err := readKeys(ctx, dst, part)
		if err != nil {
			return nil, fmt.Errorf("loadgen: check: read the destination: %w", err)
		}
		for i, k := range part {
			r.checkKey(k, sv[i], dv[i])
		}
	}
	return r, nil
}

// keyValue is what one side holds for a key: its sequences, or a counter's value.
type keyValue struct {
	seqs    []int64
	counter int64
}

func readKeys(ctx context.Context, c redis.Cmdable, keys []*keyHist) ([]keyValue, error) {
	pipe := c.Pipeline()
	cmds := make([]redis.Cmder, len(keys))
	for i, k := range keys {
		switch k.kind {
		case kindList:
			cmds[i] = pipe.LRange(ctx, k.name, 0, -1)
		case kindStream:
			cmds[i] = pipe.XRange(ctx, k.name, "-", "+")
		default:
			cmds[i] = pipe.Get(ctx, k.name)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]keyValue, len(keys))
	for i, k := range keys {
		var err error
		switch k.kind {
		case kindList:
			for _, s := range cmds[i].(*redis.StringSliceCmd).Val() {
				out[i].seqs, err = appendSeq(out[i].seqs, k.name, s)
				if err != nil {
					return nil, err
				}
			}
		case kindStream:
			for _, m := range cmds[i].(*redis.XMessageSliceCmd).Val() {
				seq, _, _ := strings.Cut(m.ID, "-")
				out[i].seqs, err = appendSeq(out[i].seqs, k.name, seq)
				if err != nil {
					return nil, err
				}
			}
		case kindAppend:
			v := cmds[i].(*redis.StringCmd).Val()
			for _, s := range strings.Split(strings.TrimSuffix(v, ","), ",") {
				if s == "" {
					continue
				}
				out[i].seqs, err = appendSeq(out[i].seqs, k.name, s)
				if err != nil {
					return nil, err
				}
			}
		case kindCounter:
			if v := cmds[i].(*redis.StringCmd).Val(); v != "" {
				if out[i].counter, err = strconv.ParseInt(v, 10, 64); err != nil {
					return nil, fmt.Errorf("%s: counter %q: %w", k.name, v, err)
				}
			}
		}
	}
	return out, nil
}

func appendSeq(seqs []int64, key, s string) ([]int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s holds %q, not a sequence number: was it written by someone else?", key, s)
	}
	return append(seqs, n), nil
}

func (r *Report) checkKey(k *keyHist, s, d keyValue) {
	if k.kind == kindCounter {
		r.checkCounter(k, s.counter, d.counter)
		return
	}
	cs, cd := counts(s.seqs), counts(d.seqs)
	// The source against the history.
	for seq := int64(1); seq < k.next; seq++ {
		if cs[seq] == 0 && !k.uncertain[seq] {
			r.SourceLost = append(r.SourceLost, Anomaly{k.name, seq, 1})
		}
	}
	for seq, n := range cs {
		if n > 1 || seq >= k.next || seq < 1 {
			r.SourceDuplicated = append(r.SourceDuplicated, Anomaly{k.name, seq, n - 1})
		}
	}
	// The destination against the source.
	seqs := make([]int64, 0, len(cs)+len(cd))
	for seq := range cs {
		seqs = append(seqs, seq)
	}
	for seq := range cd {
		if cs[seq] == 0 {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		switch n, m := cs[seq], cd[seq]; {
		case m < n:
			r.Lost = append(r.Lost, Anomaly{k.name, seq, n - m})
			r.LostWrites += n - m
		case m > n:
			r.Duplicated = append(r.Duplicated, Anomaly{k.name, seq, m - n})
			r.DuplicatedWrites += m - n
		}
	}
	if len(s.seqs) == len(d.seqs) && !slices.Equal(s.seqs, d.seqs) {
		r.Reordered = append(r.Reordered, k.name)
	}
}

func (r *Report) checkCounter(k *keyHist, s, d int64) {
	// Every attempted INCRBY adds 1: the source holds between the last value
	// acknowledged and the number of attempts.
	switch attempts := k.next - 1; {
	case s < k.lastReply:
		r.SourceLost = append(r.SourceLost, Anomaly{k.name, s + 1, k.lastReply - s})
	case s > attempts:
		r.SourceDuplicated = append(r.SourceDuplicated, Anomaly{k.name, attempts + 1, s - attempts})
	}
	switch {
	case d < s:
		r.Lost = append(r.Lost, Anomaly{k.name, d + 1, s - d})
		r.LostWrites += s - d
	case d > s:
		r.Duplicated = append(r.Duplicated, Anomaly{k.name, s + 1, d - s})
		r.DuplicatedWrites += d - s
	}
}

func counts(seqs []int64) map[int64]int64 {
	m := make(map[int64]int64, len(seqs))
	for _, s := range seqs {
		m[s]++
	}
	return m
}
