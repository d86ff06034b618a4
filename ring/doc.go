// Package ring provides lock-free bounded ring buffers, generic over the
// item type: SPSC for one producer and one consumer, and MPMC for any
// number of each.
//
// Both offer these methods, except the two marked MPMC only:
//
//   - TryPush, TryPop: never block; report whether they succeeded. On an
//     MPMC ring they can also fail, within a few items of full or empty,
//     while another goroutine is half-way through the slot they need.
//   - PushUnlessFull, PopUnlessEmpty (MPMC only): fail only on a full or
//     empty ring, waiting out such a half-finished slot; for rings whose
//     items must not be dropped, such as a free list.
//   - PushBatch, PopBatch: move as many items as fit or are available, up
//     to the slice length, for one index update (SPSC) or one
//     compare-and-swap (MPMC).
//   - PushWait, PopWait: block while the ring is full or empty. They spin
//     briefly and then park the goroutine until the other side makes
//     progress or the ring is closed; they never poll with a timer. On a
//     full ring PushWait spins slowly, looking again about every quarter
//     microsecond, so that it does not keep taking the cache line the
//     consumer is writing; PopWait on an empty ring looks again at once.
//   - Close: wakes every blocked call. PushWait then returns ErrClosed;
//     PopWait returns the remaining items and then ErrClosed.
//   - Len, Cap.
//
// Capacities are powers of two, so an index maps to a slot with a mask.
// Indices are 64-bit counters that are never reset; they wrap around
// harmlessly because the capacity divides 2^64.
//
// Cost model. The index written by the producer and the index written by
// the consumer live 128 bytes apart or more, so that neither the cache line
// nor the adjacent line that x86 cores prefetch in pairs is shared. In the
// SPSC ring each side keeps a private copy of the other's index and reloads
// it only when the ring looks full or empty. Blocking support costs the
// non-blocking paths one atomic load per call (is anyone asleep on the
// other side?) and nothing else. Popped slots of items that hold pointers
// are zeroed, so a ring of pointers does not keep popped objects alive for
// the garbage collector; an SPSC ring of pointer-free items skips that
// write, and its consumer only reads the lines its producer fills.
// Steady-state operations do not allocate.
//
// Close does not stop the non-blocking operations: it tells waiters that
// no more progress should be expected. A producer that is done calls Close
// after its last push, and the consumer's PopWait loop ends with ErrClosed
// once everything has been taken.
package ring
