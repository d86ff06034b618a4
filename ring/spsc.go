package ring

import "sync/atomic"

// SPSC is a bounded single-producer single-consumer ring.
//
// At most one goroutine may push (TryPush, PushBatch, PushWait) and at most
// one goroutine may pop (TryPop, PopBatch, PopWait) at any time; Len, Cap
// and Close may be called from anywhere. Each side keeps a private copy of
// the other side's index and reloads the shared one only when the ring looks
// full (producer) or empty (consumer), so in steady state the two cores
// exchange cache lines only when one side catches up with the other.
type SPSC[T any] struct {
	_ pad
	// Producer's line: tail is written only by the producer.
	tail       atomic.Uint64
	cachedHead uint64
	_          pad
	// Consumer's line: head is written only by the consumer.
	head       atomic.Uint64
	cachedTail uint64
	_          pad
	// Read-mostly: set at construction or written only when a side sleeps
	// or the ring is closed.
	buf      []T
	mask     uint64
	spin     int
	clear    bool // T holds pointers: popped slots are zeroed
	popWait  waitQueue
	pushWait waitQueue
	closed   atomic.Bool
	done     chan struct{}
	_        pad
}

// NewSPSC returns an empty SPSC ring with room for capacity items.
// capacity must be a power of two, at least 2.
func NewSPSC[T any](capacity int) (*SPSC[T], error) {
	return newSPSC[T](capacity, 0)
}

// newSPSC starts both indices at start, so tests can exercise the
// wrap-around of the 64-bit counters.
func newSPSC[T any](capacity int, start uint64) (*SPSC[T], error) {
	if err := checkCapacity(capacity, sizeOf[T]()); err != nil {
		return nil, err
	}
	r := &SPSC[T]{
		buf:      make([]T, capacity),
		mask:     uint64(capacity - 1),
		spin:     defaultSpin,
		clear:    hasPointers[T](),
		popWait:  newWaitQueue(),
		pushWait: newWaitQueue(),
		done:     make(chan struct{}),
	}
	r.tail.Store(start)
	r.head.Store(start)
	r.cachedHead = start
	r.cachedTail = start
	return r, nil
}

// Cap returns the number of slots.
func (r *SPSC[T]) Cap() int { return len(r.buf) }

// Len returns the number of items in the ring. It is exact only when
// neither side is active; otherwise it is a snapshot within [0, Cap].
func (r *SPSC[T]) Len() int {
	h := r.head.Load()
	t := r.tail.Load()
	return clampLen(t-h, len(r.buf))
}

// clampLen turns an index difference taken from two non-atomic-together
// loads into a plausible length.
func clampLen(d uint64, capacity int) int {
	if int64(d) < 0 {
		return 0
	}
	if d > uint64(capacity) {
		return capacity
	}
	return int(d)
}

// TryPush appends v and reports whether there was room. Producer only.
func (r *SPSC[T]) TryPush(v T) bool {
	t := r.tail.Load()
	if t-r.cachedHead > r.mask {
		r.cachedHead = r.head.Load()
		if t-r.cachedHead > r.mask {
			return false
		}
	}
	r.buf[t&r.mask] = v
	r.tail.Store(t + 1)
	r.popWait.notify()
	return true
}

// PushBatch appends as many leading items of vs as fit and returns how
// many it appended. The items become visible to the consumer together,
// with a single store of the tail. Producer only.
func (r *SPSC[T]) PushBatch(vs []T) int {
	if len(vs) == 0 {
		return 0
	}
	t := r.tail.Load()
	free := uint64(len(r.buf)) - (t - r.cachedHead)
	if free < uint64(len(vs)) {
		r.cachedHead = r.head.Load()
		free = uint64(len(r.buf)) - (t - r.cachedHead)
		if free == 0 {
			return 0
		}
	}
	n := min(int(free), len(vs))
	if n == 1 {
		// One item, as a producer of single items pushes: a store
		// instead of a call to the runtime's memmove.
		r.buf[t&r.mask] = vs[0]
	} else {
		first := copy(r.buf[t&r.mask:], vs[:n])
		copy(r.buf, vs[first:n])
	}
	r.tail.Store(t + uint64(n))
	r.popWait.notify()
	return n
}

// TryPop removes the oldest item. The boolean is false when the ring is
// empty. Consumer only.
func (r *SPSC[T]) TryPop() (T, bool) {
	var zero T
	h := r.head.Load()
	if h == r.cachedTail {
		r.cachedTail = r.tail.Load()
		if h == r.cachedTail {
			return zero, false
		}
	}
	i := h & r.mask
	v := r.buf[i]
	if r.clear {
		r.buf[i] = zero // do not keep what v points to alive
	}
	r.head.Store(h + 1)
	r.pushWait.notify()
	return v, true
}

// PopBatch moves up to len(dst) of the oldest items into dst and returns
// how many it moved. The slots are released to the producer together, with
// a single store of the head. Consumer only.
func (r *SPSC[T]) PopBatch(dst []T) int {
	if len(dst) == 0 {
		return 0
	}
	h := r.head.Load()
	avail := r.cachedTail - h
	if avail < uint64(len(dst)) {
		r.cachedTail = r.tail.Load()
		avail = r.cachedTail - h
		if avail == 0 {
			return 0
		}
	}
	n := min(int(avail), len(dst))
	i := int(h & r.mask)
	if n == 1 {
		r.popOne(dst, i)
	} else {
		first := copy(dst[:n], r.buf[i:])
		copy(dst[first:n], r.buf)
		if r.clear {
			clear(r.buf[i : i+first])
			clear(r.buf[:n-first])
		}
	}
	r.head.Store(h + uint64(n))
	r.pushWait.notify()
	return n
}

// popOne moves slot i into dst[0]: a load and a store where copy and
// clear would each call into the runtime, which is most of the cost of a
// consumer that keeps pace with a producer of single items.
func (r *SPSC[T]) popOne(dst []T, i int) {
	dst[0] = r.buf[i]
	if r.clear {
		var zero T
		r.buf[i] = zero
	}
}

// PopWait moves at least one and up to len(dst) items into dst, blocking
// while the ring is empty: it spins briefly, then parks until the producer
// publishes or the ring is closed. Once closed, it keeps returning items
// until the ring is empty and then returns 0, ErrClosed. Consumer only.
func (r *SPSC[T]) PopWait(dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, errShortDst
	}
	for i := 0; ; i++ {
		if n := r.PopBatch(dst); n > 0 {
			return n, nil
		}
		if r.closed.Load() {
			// Pushes that completed before Close are visible now.
			if n := r.PopBatch(dst); n > 0 {
				return n, nil
			}
			return 0, ErrClosed
		}
		if i < r.spin {
			pause(i)
			continue
		}
		r.popWait.prepare()
		if n := r.PopBatch(dst); n > 0 {
			r.popWait.cancel()
			return n, nil
		}
		r.popWait.block(r.done)
	}
}

// PushWait appends v, blocking while the ring is full: it spins briefly,
// then parks until the consumer frees a slot or the ring is closed. It
// returns ErrClosed, without appending, once Close has been called.
// Producer only.
func (r *SPSC[T]) PushWait(v T) error {
	for i := 0; ; i++ {
		if r.closed.Load() {
			return ErrClosed
		}
		if r.TryPush(v) {
			return nil
		}
		if i < r.spin {
			pauseFull(i)
			continue
		}
		r.pushWait.prepare()
		if r.TryPush(v) {
			r.pushWait.cancel()
			return nil
		}
		r.pushWait.block(r.done)
	}
}

// Close marks the ring closed and wakes every blocked PopWait and PushWait.
// It is idempotent and safe to call concurrently with any operation.
// Non-blocking operations are unaffected: Close is the producer's way to
// say "no more items" (PopWait drains, then reports ErrClosed) or the
// consumer's way to release a producer blocked in PushWait.
func (r *SPSC[T]) Close() {
	if r.closed.CompareAndSwap(false, true) {
		close(r.done)
	}
}
