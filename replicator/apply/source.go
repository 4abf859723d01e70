package apply

import "sync/atomic"

// source tracks the acknowledgement of one source's ops, which go to many nodes
// in parallel and complete out of order: each op gets the next sequence number,
// and the watermark (base) advances over the leading run of acknowledged ops.
// Guarded by Applier.mu, except applied which is read without the lock.
type source struct {
	id      int
	next    uint64     // sequence number of the next op
	base    uint64     // every op below base is acknowledged
	ring    []srcEntry // entries for seq base.., ring[head] is base
	head    int
	applied atomic.Int64 // highest Offset at or below the watermark
}

type srcEntry struct {
	offset int64
	done   bool
}

// push registers a new op with its offset and returns its sequence number.
func (s *source) push(offset int64) uint64 {
	seq := s.next
	s.next++
	s.ring = append(s.ring, srcEntry{offset: offset})
	return seq
}

// abandon takes seq out of the order without counting its offset as applied
// (a barrier whose caller gave up).
func (s *source) abandon(seq uint64) {
	if seq < s.base || seq >= s.next {
		return
	}
	s.ring[s.head+int(seq-s.base)].offset = 0
	s.done(seq)
}

// done marks seq acknowledged and advances the watermark.
func (s *source) done(seq uint64) {
	if seq < s.base || seq >= s.next {
		return
	}
	s.ring[s.head+int(seq-s.base)].done = true
	for s.head < len(s.ring) && s.ring[s.head].done {
		if off := s.ring[s.head].offset; off > 0 {
			s.applied.Store(off)
		}
		s.head++
		s.base++
	}
	if s.head == len(s.ring) {
		s.ring, s.head = s.ring[:0], 0
	} else if s.head >= 1024 && s.head*2 >= len(s.ring) {
		n := copy(s.ring, s.ring[s.head:])
		s.ring, s.head = s.ring[:n], 0
	}
}
