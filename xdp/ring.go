package xdp

import (
	"sync/atomic"
	"unsafe"
)

// ring is one single-producer single-consumer AF_XDP ring shared with the
// kernel: a power-of-two array of entries plus free-running 32-bit producer
// and consumer indices and a flags word, all in memory both sides can see.
//
// The process owns one of the two indices (the producer of the fill and TX
// rings, the consumer of the RX and completion rings) and keeps a private copy
// of it in local; it publishes that copy with an atomic store (release). The
// far index, written by the kernel, is read with an atomic load (acquire) only
// when the cached copy in far says there is not enough room or data, so a busy
// ring costs one shared-memory load per batch rather than one per entry.
//
// For a producer ring far caches the consumer index; for a consumer ring it
// caches the producer index. Indices wrap modulo 2^32; differences are taken
// in uint32 arithmetic, which is correct as long as size <= 2^31.
type ring[T uint64 | Desc] struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	entries  []T
	mask     uint32
	size     uint32
	local    uint32
	far      uint32
}

// setup points r at the shared indices and entries. size must be a power
// of two and entries must hold exactly size elements.
func (r *ring[T]) setup(producer, consumer, flags *uint32, entries []T, producerSide bool) {
	r.producer, r.consumer, r.flags = producer, consumer, flags
	r.entries = entries
	r.size = uint32(len(entries))
	r.mask = r.size - 1
	if producerSide {
		r.local = atomic.LoadUint32(producer)
		r.far = atomic.LoadUint32(consumer)
	} else {
		r.local = atomic.LoadUint32(consumer)
		r.far = atomic.LoadUint32(producer)
	}
}

// free returns how many entries a producer may write without overwriting
// entries the consumer has not yet released, refreshing the cached consumer
// index only when the cached value says fewer than want are free.
func (r *ring[T]) free(want uint32) uint32 {
	n := r.size - (r.local - r.far)
	if n >= want {
		return n
	}
	r.far = atomic.LoadUint32(r.consumer)
	return r.size - (r.local - r.far)
}

// reserve returns the index of the first of up to n free entries and how
// many were granted. Entries are written with at and become visible to the
// kernel only with submit.
func (r *ring[T]) reserve(n uint32) (idx, got uint32) {
	got = min(r.free(n), n)
	return r.local, got
}

// submit publishes n entries written after reserve. The atomic store orders
// the entry writes before the index update, as the kernel's acquire load of
// the producer index expects.
func (r *ring[T]) submit(n uint32) {
	r.local += n
	atomic.StoreUint32(r.producer, r.local)
}

// avail returns how many entries a consumer may read, refreshing the cached
// producer index only when the cached value shows fewer than want.
func (r *ring[T]) avail(want uint32) uint32 {
	n := r.far - r.local
	if n >= want {
		return n
	}
	r.far = atomic.LoadUint32(r.producer)
	return r.far - r.local
}

// peek returns the index of the first of up to n filled entries and how
// many there are. They stay owned by the consumer until release.
func (r *ring[T]) peek(n uint32) (idx, got uint32) {
	got = min(r.avail(n), n)
	return r.local, got
}

// release hands n consumed entries back to the producer.
func (r *ring[T]) release(n uint32) {
	r.local += n
	atomic.StoreUint32(r.consumer, r.local)
}

// at returns the entry for a free-running index.
func (r *ring[T]) at(idx uint32) *T { return &r.entries[idx&r.mask] }

// needWakeup reports whether the kernel asked to be woken up for this ring
// (XDP_RING_NEED_WAKEUP), which it only does for sockets bound with
// XDP_USE_NEED_WAKEUP.
func (r *ring[T]) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&ringNeedWakeup != 0
}

// ringNeedWakeup is XDP_RING_NEED_WAKEUP from linux/if_xdp.h.
const ringNeedWakeup = 1

// entriesAt views size entries of type T starting at byte offset off of mem.
// The kernel aligns the descriptor arrays, so the conversion is safe for
// memory it mapped; callers pass only such memory (or Go-allocated memory
// of the right type in tests).
func entriesAt[T uint64 | Desc](mem []byte, off uint64, size uint32) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(&mem[off])), size)
}

// wordAt views the 32-bit word at byte offset off of mem.
func wordAt(mem []byte, off uint64) *uint32 {
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// pending returns how many published entries of a producer ring the
// consumer has not taken yet.
func (r *ring[T]) pending() uint32 {
	r.far = atomic.LoadUint32(r.consumer)
	return r.local - r.far
}
