package bench

import (
	"runtime"
	"sync"
)

// A low-latency receive thread (udp.WithLowLatency) keeps its P while it
// sleeps in the kernel, so a process whose Ps are all held that way runs
// its other goroutines only when the runtime preempts a receive thread.
// The runs of this package therefore keep GOMAXPROCS at least one above
// the low-latency sockets they have open: extra Ps cost nothing while
// idle, and the receive threads sleep in the kernel, not on a CPU.
var procs struct {
	mu      sync.Mutex
	threads int // low-latency sockets open
	saved   int // GOMAXPROCS before the first
}

// reserveProcs counts threads more low-latency sockets, raising GOMAXPROCS
// as needed, and returns the function that gives them back; GOMAXPROCS
// returns to what it was when the last is given back.
func reserveProcs(threads int) (release func()) {
	if threads <= 0 {
		return func() {}
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.threads == 0 {
		procs.saved = runtime.GOMAXPROCS(0)
	}
	procs.threads += threads
	if want := procs.threads + 1; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			procs.mu.Lock()
			defer procs.mu.Unlock()
			if procs.threads -= threads; procs.threads == 0 && runtime.GOMAXPROCS(0) != procs.saved {
				runtime.GOMAXPROCS(procs.saved)
			}
		})
	}
}
