package rssirun

import (
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// Checker is a Slave that checks the PRBS frames of one tDest and counts
// sequence gaps as lost frames. A frame that fails its check counts as a
// PRBS error and takes the expected sequence number, so it is not also
// counted lost.
type Checker struct {
	mu      sync.Mutex
	buf     []byte
	next    uint32
	started bool
	frames  atomic.Uint64
	bytes   atomic.Uint64
	lost    atomic.Uint64
	errors  atomic.Uint64
}

// AcceptFrame checks f.
func (c *Checker) AcceptFrame(f engine.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := f.Payload()
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	f.ReadAt(c.buf, 0)
	c.frames.Add(1)
	c.bytes.Add(uint64(n))
	seq, err := prbs.Verify(c.buf, 32)
	if err != nil || f.Error() != 0 {
		c.errors.Add(1)
		if c.started {
			c.next++ // the bad frame takes the expected place: not also lost
		}
		return
	}
	if c.started && seq > c.next {
		c.lost.Add(uint64(seq - c.next))
	}
	c.started, c.next = true, seq+1
}

// Counts returns the frames and bytes seen, the frames lost by sequence
// and the frames that failed the check.
func (c *Checker) Counts() (frames, bytes, lost, errors uint64) {
	return c.frames.Load(), c.bytes.Load(), c.lost.Load(), c.errors.Load()
}
