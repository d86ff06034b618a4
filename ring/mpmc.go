package ring

import (
	"runtime"
	"sync/atomic"
)

// MPMC is a bounded multi-producer multi-consumer ring in the style of
// Dmitry Vyukov's bounded queue: every slot carries a sequence number that
// says whether it is free for the producer of position p (seq == p) or
// holds the item of position p for its consumer (seq == p+1). Producers
// claim positions by compare-and-swap on tail, consumers on head; a slot is
// published by storing its sequence number, so no lock is ever taken.
//
// Any number of goroutines may call any method concurrently. Items pushed
// by one goroutine are popped in the order they were pushed, by whichever
// consumers pop them; a consumer sees the items of one producer in that
// producer's order.
//
// A producer that has claimed a position but not yet published it holds up
// consumers at that position (they see the ring as empty there), and a
// consumer that has claimed but not yet released a slot holds up producers;
// both windows are a few instructions long.
type MPMC[T any] struct {
	_    pad
	tail atomic.Uint64 // next position to claim for a push
	_    pad
	head atomic.Uint64 // next position to claim for a pop
	_    pad
	// Read-mostly: set at construction or written only when a side sleeps
	// or the ring is closed.
	slots    []slot[T]
	mask     uint64
	spin     int
	popWait  waitQueue
	pushWait waitQueue
	closed   atomic.Bool
	done     chan struct{}
	_        pad
}

// slot is one cell of an MPMC ring. Slots are not padded: padding each to a
// cache line would multiply the ring's footprint by up to 16 for a benefit
// only when producers and consumers touch neighbouring slots.
type slot[T any] struct {
	seq atomic.Uint64
	val T
}

// NewMPMC returns an empty MPMC ring with room for capacity items.
// capacity must be a power of two, at least 2.
func NewMPMC[T any](capacity int) (*MPMC[T], error) {
	return newMPMC[T](capacity, 0)
}

// newMPMC starts both indices at start, so tests can exercise the
// wrap-around of the 64-bit counters.
func newMPMC[T any](capacity int, start uint64) (*MPMC[T], error) {
	if err := checkCapacity(capacity, sizeOf[slot[T]]()); err != nil {
		return nil, err
	}
	r := &MPMC[T]{
		slots:    make([]slot[T], capacity),
		mask:     uint64(capacity - 1),
		spin:     defaultSpin,
		popWait:  newWaitQueue(),
		pushWait: newWaitQueue(),
		done:     make(chan struct{}),
	}
	for i := range uint64(capacity) {
		p := start + i
		r.slots[p&r.mask].seq.Store(p)
	}
	r.tail.Store(start)
	r.head.Store(start)
	return r, nil
}

// Cap returns the number of slots.
func (r *MPMC[T]) Cap() int { return len(r.slots) }

// Len returns the number of claimed push positions not yet claimed by a
// pop. It is exact only when the ring is quiescent; otherwise it is a
// snapshot within [0, Cap].
func (r *MPMC[T]) Len() int {
	h := r.head.Load()
	t := r.tail.Load()
	return clampLen(t-h, len(r.slots))
}

// TryPush appends v and reports whether it did. Besides on a full ring, it
// fails while the slot it needs is still being released by a consumer that
// has claimed it, which can happen only when the ring is within a few items
// of full. PushUnlessFull fails only on a full ring.
func (r *MPMC[T]) TryPush(v T) bool { return r.push(v, false) }

// PushUnlessFull appends v and reports whether it did; it fails only when
// the ring is full. Where TryPush gives up on a slot that a consumer is
// still releasing, PushUnlessFull waits for that consumer (a few
// instructions, or until its goroutine runs again). That suits a ring kept
// almost full whose items must not be dropped, such as a free list; a
// producer that streams into a ring its consumers drain is better served
// by TryPush or PushWait, which let it back off instead of following the
// consumers slot by slot.
func (r *MPMC[T]) PushUnlessFull(v T) bool { return r.push(v, true) }

// push is TryPush, or with wait PushUnlessFull.
func (r *MPMC[T]) push(v T, wait bool) bool {
	spins := 0
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - pos); {
		case d == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.val = v
				s.seq.Store(pos + 1)
				r.popWait.notify()
				return true
			}
		case d < 0:
			// The slot still holds the item from one lap ago. The ring is
			// full only if no consumer has claimed that item yet (head has
			// not passed it); otherwise its consumer is releasing the slot.
			// The difference is signed: since the slot was read it may have
			// been released and pos pushed and popped, leaving head past pos.
			if !wait || int64(pos-r.head.Load()) >= int64(len(r.slots)) {
				return false
			}
			backoff(spins)
			spins++
		}
		// Another producer got there first, or the slot is being released;
		// retry at the current tail.
		pos = r.tail.Load()
	}
}

// backoff is one round of waiting for another goroutine to finish
// publishing or releasing a slot. After a few rounds it yields the
// processor, so that a goroutine preempted inside that window runs and
// finishes it even when it shares the processor with the waiter.
func backoff(spins int) {
	if spins >= activeSpins {
		runtime.Gosched()
	}
}

// PushBatch appends as many leading items of vs as fit and returns how
// many it appended.
//
// The items are claimed with a single compare-and-swap of the tail, so
// they occupy consecutive positions: no other producer's item lands
// between them. Each slot is still published on its own, so consumers may
// start popping the first items before the last are written, and several
// consumers may each receive a part of the batch, each part in order.
// Consumers are notified once per batch.
func (r *MPMC[T]) PushBatch(vs []T) int {
	if len(vs) == 0 {
		return 0
	}
	want := uint64(min(len(vs), len(r.slots)))
	pos := r.tail.Load()
	for {
		switch d := int64(r.slots[pos&r.mask].seq.Load() - pos); {
		case d < 0:
			return 0
		case d > 0:
			pos = r.tail.Load()
			continue
		}
		// The first slot is free; count the free slots that follow. Once
		// the CAS below succeeds nobody else can have claimed them, so what
		// the scan saw still holds.
		n := uint64(1)
		for n < want && r.slots[(pos+n)&r.mask].seq.Load() == pos+n {
			n++
		}
		if !r.tail.CompareAndSwap(pos, pos+n) {
			pos = r.tail.Load()
			continue
		}
		for i := range n {
			s := &r.slots[(pos+i)&r.mask]
			s.val = vs[i]
			s.seq.Store(pos + i + 1)
		}
		r.popWait.notify()
		return int(n)
	}
}

// TryPop removes the oldest published item. The boolean is false when the
// ring is empty, and while the producer of its oldest position is still
// publishing it; PopUnlessEmpty fails only on an empty ring.
func (r *MPMC[T]) TryPop() (T, bool) { return r.pop(false) }

// PopUnlessEmpty removes the oldest item; the boolean is false only when
// the ring is empty. Where TryPop gives up on a position whose producer is
// still publishing it, PopUnlessEmpty waits for that producer.
func (r *MPMC[T]) PopUnlessEmpty() (T, bool) { return r.pop(true) }

// pop is TryPop, or with wait PopUnlessEmpty.
func (r *MPMC[T]) pop(wait bool) (T, bool) {
	spins := 0
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch d := int64(s.seq.Load() - (pos + 1)); {
		case d == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				v := s.val
				var zero T
				s.val = zero // do not keep what v points to alive
				s.seq.Store(pos + r.mask + 1)
				r.pushWait.notify()
				return v, true
			}
		case d < 0:
			// Position pos is not published. The ring is empty only if no
			// producer has claimed it (tail has not passed it); otherwise
			// its producer is still writing the slot.
			if !wait || r.tail.Load() == pos {
				var zero T
				return zero, false
			}
			backoff(spins)
			spins++
		}
		pos = r.head.Load()
	}
}

// PopBatch moves up to len(dst) of the oldest published items into dst
// and returns how many it moved. The items are claimed with a single
// compare-and-swap of the head, so they are consecutive in ring order.
// Producers are notified once per batch.
func (r *MPMC[T]) PopBatch(dst []T) int {
	if len(dst) == 0 {
		return 0
	}
	want := uint64(min(len(dst), len(r.slots)))
	pos := r.head.Load()
	for {
		switch d := int64(r.slots[pos&r.mask].seq.Load() - (pos + 1)); {
		case d < 0:
			return 0
		case d > 0:
			pos = r.head.Load()
			continue
		}
		n := uint64(1)
		for n < want && r.slots[(pos+n)&r.mask].seq.Load() == pos+n+1 {
			n++
		}
		if !r.head.CompareAndSwap(pos, pos+n) {
			pos = r.head.Load()
			continue
		}
		var zero T
		for i := range n {
			s := &r.slots[(pos+i)&r.mask]
			dst[i] = s.val
			s.val = zero
			s.seq.Store(pos + i + r.mask + 1)
		}
		r.pushWait.notify()
		return int(n)
	}
}

// canPop reports whether the oldest unclaimed position holds a published
// item, following the head while other consumers move it.
func (r *MPMC[T]) canPop() bool {
	pos := r.head.Load()
	for {
		switch d := int64(r.slots[pos&r.mask].seq.Load() - (pos + 1)); {
		case d == 0:
			return true
		case d < 0:
			return false
		}
		pos = r.head.Load()
	}
}

// canPush reports whether the next unclaimed position has a free slot,
// following the tail while other producers move it.
func (r *MPMC[T]) canPush() bool {
	pos := r.tail.Load()
	for {
		switch d := int64(r.slots[pos&r.mask].seq.Load() - pos); {
		case d == 0:
			return true
		case d < 0:
			return false
		}
		pos = r.tail.Load()
	}
}

// passOnPop is called by a consumer that was woken by a token and then
// popped: the token may have stood for more items than it took, so if more
// are ready and other consumers sleep, one of them is woken.
func (r *MPMC[T]) passOnPop() {
	if r.popWait.sleepers.Load() != 0 && r.canPop() {
		r.popWait.signal()
	}
}

// passOnPush is passOnPop for producers waiting for free slots.
func (r *MPMC[T]) passOnPush() {
	if r.pushWait.sleepers.Load() != 0 && r.canPush() {
		r.pushWait.signal()
	}
}

// PopWait moves at least one and up to len(dst) items into dst, blocking
// while the ring is empty: it spins briefly, then parks until a producer
// publishes or the ring is closed. Once closed, it keeps returning items
// until every position claimed by a push has been popped, and then returns
// 0, ErrClosed.
func (r *MPMC[T]) PopWait(dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, errShortDst
	}
	woken := false
	for i := 0; ; i++ {
		if n := r.PopBatch(dst); n > 0 {
			if woken {
				r.passOnPop()
			}
			return n, nil
		}
		if r.closed.Load() {
			return r.drain(dst)
		}
		if i < r.spin {
			pause(i)
			continue
		}
		r.popWait.prepare()
		if n := r.PopBatch(dst); n > 0 {
			r.popWait.cancel()
			if woken {
				r.passOnPop()
			}
			return n, nil
		}
		woken = r.popWait.block(r.done) || woken
	}
}

// drain serves PopWait once the ring is closed. A push that completed
// before Close may sit behind a position another producer has claimed but
// not yet published; that producer is mid-push and will publish within a
// few instructions, so drain yields until every claimed position is popped.
func (r *MPMC[T]) drain(dst []T) (int, error) {
	for {
		if n := r.PopBatch(dst); n > 0 {
			return n, nil
		}
		if r.head.Load() == r.tail.Load() {
			return 0, ErrClosed
		}
		runtime.Gosched()
	}
}

// PushWait appends v, blocking while the ring is full: it spins briefly,
// then parks until a consumer frees a slot or the ring is closed. It
// returns ErrClosed, without appending, once Close has been called.
func (r *MPMC[T]) PushWait(v T) error {
	woken := false
	for i := 0; ; i++ {
		if r.closed.Load() {
			return ErrClosed
		}
		if r.TryPush(v) {
			if woken {
				r.passOnPush()
			}
			return nil
		}
		if i < r.spin {
			pauseFull(i)
			continue
		}
		r.pushWait.prepare()
		if r.TryPush(v) {
			r.pushWait.cancel()
			if woken {
				r.passOnPush()
			}
			return nil
		}
		woken = r.pushWait.block(r.done) || woken
	}
}

// Close marks the ring closed and wakes every blocked PopWait and PushWait.
// It is idempotent and safe to call concurrently with any operation.
// Non-blocking operations are unaffected: Close is the producers' way to
// say "no more items" (PopWait drains, then reports ErrClosed) or the
// consumers' way to release producers blocked in PushWait.
func (r *MPMC[T]) Close() {
	if r.closed.CompareAndSwap(false, true) {
		close(r.done)
	}
}
