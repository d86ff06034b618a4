package engine

import (
	"runtime"
	"slices"
	"sync/atomic"

	"udpstream.dev/ring"
)

const (
	// shardCap is how many items one per-P shard holds.
	shardCap = 32
	// shardBatch is how many items a shard moves to or from the shared
	// ring at a time: an empty shard refills half of itself, a full one
	// flushes half, so a shard that alternates gets and puts stays local.
	shardBatch = shardCap / 2
	// cacheLine separates shards written by different Ps (see the ring
	// package for why 128 rather than 64).
	cacheLine = 128
)

// localCache puts a small cache per core in front of a shared MPMC ring.
// A goroutine works in the shard of its lane (lane.go), so the items it
// puts are taken again by itself, or by goroutines that do not run at the
// same time, without touching a cache line shared with other cores; the
// shared ring sees one batch operation per shardBatch items.
//
// Each shard has a lock, so an item is always in exactly one place: a
// shard, the ring, or a caller. Two goroutines that meet on one shard find
// the lock taken, and the later one moves to another lane, so in steady
// state the lock is uncontended. Nothing is lost when GOMAXPROCS changes:
// more goroutines than shards share shards, and steal reaches every shard.
type localCache[T any] struct {
	shared *ring.MPMC[T]
	shards []cacheShard[T]
}

type cacheShard[T any] struct {
	_     [cacheLine]byte
	lock  atomic.Uint32
	n     int
	items [shardCap]T
	_     [cacheLine]byte
}

// newLocalCache returns a cache with one shard per P in front of shared.
func newLocalCache[T any](shared *ring.MPMC[T]) *localCache[T] {
	return &localCache[T]{shared: shared, shards: make([]cacheShard[T], runtime.GOMAXPROCS(0))}
}

// shard locks and returns the shard of the caller's lane. A shard found
// locked moves the caller's slot to the next lane and tries that one; after
// a round of misses the caller yields between tries.
func (c *localCache[T]) shard() *cacheShard[T] {
	slot := laneSlot()
	for tries := 0; ; tries++ {
		s := &c.shards[lane(slot)%len(c.shards)]
		if s.lock.CompareAndSwap(0, 1) {
			return s
		}
		moveLane(slot)
		if tries >= 16 {
			runtime.Gosched()
		}
	}
}

// acquire locks s, for a caller that wants this shard and no other.
func (s *cacheShard[T]) acquire() {
	for spins := 0; !s.lock.CompareAndSwap(0, 1); spins++ {
		if spins >= 16 {
			runtime.Gosched()
		}
	}
}

func (s *cacheShard[T]) release() { s.lock.Store(0) }

// get takes an item: from the caller's shard, else a batch from the shared
// ring into the shard. ok is false only when both are empty (other shards
// may still hold items; see steal).
func (c *localCache[T]) get() (v T, ok bool) {
	s := c.shard()
	if s.n == 0 {
		s.n = c.shared.PopBatch(s.items[:shardBatch])
		if s.n == 0 {
			// PopBatch also misses an item being published; wait for it
			// rather than report an empty cache.
			v, ok = c.shared.PopUnlessEmpty()
			s.release()
			return v, ok
		}
		// The shard is a stack: reversed, it hands the batch out in the
		// ring's order, so a fresh slab's buffers come out in ascending
		// memory and a transmit can join adjacent frames into one iovec.
		slices.Reverse(s.items[:s.n])
	}
	s.n--
	v = s.items[s.n]
	var zero T
	s.items[s.n] = zero
	s.release()
	return v, true
}

// put keeps v in the caller's shard, first flushing half of a full shard
// to the shared ring. It reports false, keeping nothing, only when the
// shard is full and the shared ring cannot take one more item.
func (c *localCache[T]) put(v T) bool {
	s := c.shard()
	if s.n == shardCap && !c.flush(s) {
		s.release()
		return false
	}
	s.items[s.n] = v
	s.n++
	s.release()
	return true
}

// flush moves the newest shardBatch items of the locked shard s to the
// shared ring. An item PushBatch leaves behind is pushed on its own and,
// if the ring is truly full, stays in the shard. It reports whether room
// was made.
func (c *localCache[T]) flush(s *cacheShard[T]) bool {
	lo := s.n - shardBatch
	pushed := c.shared.PushBatch(s.items[lo:s.n])
	for pushed < shardBatch && c.shared.PushUnlessFull(s.items[lo+pushed]) {
		pushed++
	}
	// Keep what the ring refused, packed at the start of the batch.
	kept := copy(s.items[lo:], s.items[lo+pushed:s.n])
	clear(s.items[lo+kept : s.n])
	s.n = lo + kept
	return s.n < shardCap
}

// steal takes an item from any shard, for a caller that found its own
// shard and the shared ring empty but must not give up while an item is
// anywhere in the cache.
func (c *localCache[T]) steal() (v T, ok bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.acquire()
		if s.n > 0 {
			s.n--
			v, ok = s.items[s.n], true
			var zero T
			s.items[s.n] = zero
		}
		s.release()
		if ok {
			return v, true
		}
	}
	return c.shared.PopUnlessEmpty()
}

// count is the number of items in the shards and the shared ring; exact
// only while nobody uses the cache.
func (c *localCache[T]) count() int {
	n := c.shared.Len()
	for i := range c.shards {
		s := &c.shards[i]
		s.acquire()
		n += s.n
		s.release()
	}
	return n
}
