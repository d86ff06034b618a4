package ring

import (
	"runtime"
	"sync/atomic"
)

// Spin budget of a blocking call before it parks: a peer on another core
// usually publishes within a few hundred nanoseconds, and parking plus
// waking costs microseconds, so a short spin pays for itself. After
// activeSpins failed attempts the caller yields its P between attempts, so
// that on an oversubscribed machine the peer it waits for gets to run.
const (
	activeSpins = 64
	defaultSpin = activeSpins + 16
)

// pause is called between failed attempts i = 0, 1, ... of a blocking call.
func pause(i int) {
	if i >= activeSpins {
		runtime.Gosched()
	}
}

// A producer that finds the ring full waits about a quarter of a
// microsecond (on current x86 cores) before looking again, for the first
// fullSpins attempts. A full ring is a long queue of work for the consumer,
// so no slot is needed sooner, while re-reading the consumer's index at
// once keeps taking away the cache line the consumer is writing and slows
// it down. An empty ring gets no such wait: there the next item is wanted
// as soon as it exists.
const (
	fullSpins = 8
	fullDelay = 1000
)

// pauseFull is pause for a producer facing a full ring.
func pauseFull(i int) {
	if i < fullSpins {
		spinDelay(fullDelay)
		return
	}
	runtime.Gosched()
}

// spinDelay busy-waits for n trips of a loop that touches no shared memory.
//
//go:noinline
func spinDelay(n int) int {
	x := 0
	for j := range n {
		x += j
	}
	return x
}

// waitQueue lets goroutines of one side (all consumers, or all producers)
// sleep until the other side has made progress.
//
// Protocol, which cannot lose a wake-up: a waiter first increments sleepers,
// then retries its operation on the ring, and only if that still fails
// blocks on wake. The other side first publishes (an index or slot
// sequence store) and then loads sleepers. Go atomics are sequentially
// consistent, so at least one of the two sees the other's store: either the
// waiter's retry sees the new item or space, or the publisher sees
// sleepers > 0 and deposits a token in wake (a non-blocking send on a
// one-slot channel). When nobody sleeps, the publisher pays one atomic load.
//
// A token may stand for several publications when the channel was already
// full. With several waiters per side (MPMC) a woken waiter that made
// progress therefore passes the token on if more work is ready and others
// still sleep (passOnPop, passOnPush). A token nobody needed only causes
// one spurious retry.
type waitQueue struct {
	sleepers atomic.Int32
	parks    atomic.Uint64 // times a waiter blocked; observability for tests
	wake     chan struct{}
}

func newWaitQueue() waitQueue {
	return waitQueue{wake: make(chan struct{}, 1)}
}

// notify is the publisher's side: one load when nobody sleeps.
func (w *waitQueue) notify() {
	if w.sleepers.Load() != 0 {
		w.signal()
	}
}

// signal deposits a wake-up token unless one is already pending.
//
//go:noinline
func (w *waitQueue) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// prepare announces the caller as a sleeper; it must retry its operation
// afterwards and then either cancel or block.
func (w *waitQueue) prepare() { w.sleepers.Add(1) }

// cancel withdraws a prepare whose retry succeeded.
func (w *waitQueue) cancel() { w.sleepers.Add(-1) }

// block sleeps until a token arrives or done is closed. It reports whether
// a token was consumed.
func (w *waitQueue) block(done <-chan struct{}) bool {
	w.parks.Add(1)
	woken := false
	select {
	case <-w.wake:
		woken = true
	case <-done:
	}
	w.sleepers.Add(-1)
	return woken
}
