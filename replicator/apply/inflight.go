package apply

// inflights is the window of one pipelined connection: the ops written to the wire
// and not yet answered, in the order they were written, bounded in count and bytes.
// It is the FIFO the reply reader matches replies against, after etcd raft's
// tracker/inflights.go: Add appends at the tail, FreeFirst releases the head, Full
// says whether the writer must wait. Its ops sit in an opQueue ring. It is not safe
// for concurrent use: the pipe's mutex guards it.
type inflights struct {
	ring  opQueue // the ops in the window, oldest first
	bytes int     // bytes of the ops in the window

	maxCount int // the window is full at this many ops
	maxBytes int // ... or at this many bytes
}

func newInflights(maxCount, maxBytes int) *inflights {
	return &inflights{maxCount: maxCount, maxBytes: maxBytes}
}

// Full reports whether no more ops may be added. A single op larger than maxBytes
// is admitted when the window is empty, so that it can make progress.
func (in *inflights) Full() bool {
	n := in.ring.Len()
	return n >= in.maxCount || (n > 0 && in.bytes >= in.maxBytes)
}

// Add appends o, whose wire size is size, at the tail of the window.
func (in *inflights) Add(o *op, size int) {
	o.wireSize = size
	in.ring.Push(o)
	in.bytes += size
}

// Front returns the oldest op, or nil when the window is empty.
func (in *inflights) Front() *op { return in.ring.Front() }

// FreeFirst releases the oldest op and returns it (nil when empty).
func (in *inflights) FreeFirst() *op {
	o := in.ring.Pop()
	if o != nil {
		in.bytes -= o.wireSize
	}
	return o
}

// Count returns the number of ops in the window.
func (in *inflights) Count() int { return in.ring.Len() }

// Bytes returns the wire bytes of the ops in the window.
func (in *inflights) Bytes() int { return in.bytes }

// Reset empties the window and appends its ops, oldest first, to dst.
func (in *inflights) Reset(dst []*op) []*op {
	for in.ring.Len() > 0 {
		dst = append(dst, in.FreeFirst())
	}
	return dst
}

// opQueue is a FIFO ring of ops: a pipe's queue of ops waiting to be written, and
// the ring of its window (inflights). Its capacity follows the most ops it held at
// once (bounded by the pending window, Config.MaxPendingOps), also when it never
// drains. It is not safe for concurrent
// use: the pipe's mutex guards it.
type opQueue struct {
	buf   []*op // ring buffer
	start int   // index of the oldest op
	count int   // ops queued
}

func (q *opQueue) Len() int { return q.count }

// Cap returns the size of the ring (for tests).
func (q *opQueue) Cap() int { return len(q.buf) }

func (q *opQueue) Push(o *op) {
	if q.count == len(q.buf) {
		q.grow()
	}
	i := q.start + q.count
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	q.buf[i] = o
	q.count++
}

// grow doubles the ring, keeping the order of the ops.
func (q *opQueue) grow() {
	n := 2 * len(q.buf)
	if n == 0 {
		n = 16
	}
	nb := make([]*op, n)
	for j := 0; j < q.count; j++ {
		nb[j] = q.buf[(q.start+j)%len(q.buf)]
	}
	q.buf, q.start = nb, 0
}

// Front returns the oldest op, or nil when the queue is empty.
func (q *opQueue) Front() *op {
	if q.count == 0 {
		return nil
	}
	return q.buf[q.start]
}

// Pop removes and returns the oldest op (nil when the queue is empty).
func (q *opQueue) Pop() *op {
	if q.count == 0 {
		return nil
	}
	o := q.buf[q.start]
	q.buf[q.start] = nil
	q.start++
	if q.start == len(q.buf) {
		q.start = 0
	}
	q.count--
	if q.count == 0 {
		q.start = 0
	}
	return o
}

// Drain appends every queued op, oldest first, to dst and empties the queue.
func (q *opQueue) Drain(dst []*op) []*op {
	for q.count > 0 {
		dst = append(dst, q.Pop())
	}
	return dst
}
