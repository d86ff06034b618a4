package prbs

import (
	"sync"
	"sync/atomic"
	"time"
)

// rateInterval is the shortest time over which a rate is computed: Rogue
// recomputes its rates at most once a second.
const rateInterval = time.Second

// rateMeter turns a frame counter and a byte counter into frames per
// second and bytes per second, averaged over the time between two
// recomputations. It recomputes when read, never on the hot path.
type rateMeter struct {
	mu                    sync.Mutex
	now                   func() time.Time // time.Now unless a test injects a clock
	last                  time.Time        // time of the last recomputation
	lastFrames, lastBytes uint64
	rate, bw              float64
}

func newRateMeter() rateMeter {
	return rateMeter{now: time.Now, last: time.Now()}
}

// read returns the rates, first recomputing them from the counters if
// more than rateInterval has passed since the last time.
func (m *rateMeter) read(frames, bytes *atomic.Uint64) (rate, bw float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if per := now.Sub(m.last); per > rateInterval {
		f, b := frames.Load(), bytes.Load()
		sec := per.Seconds()
		m.rate = float64(f-m.lastFrames) / sec
		m.bw = float64(b-m.lastBytes) / sec
		m.last, m.lastFrames, m.lastBytes = now, f, b
	}
	return m.rate, m.bw
}

// reset runs zero, which clears the counters, and restarts the rates from
// zero now. Holding the lock across both keeps a concurrent read from
// subtracting a baseline larger than the counters.
func (m *rateMeter) reset(zero func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	zero()
	m.last, m.lastFrames, m.lastBytes = m.now(), 0, 0
	m.rate, m.bw = 0, 0
}
