package engine

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// RateDrop thins a stream (Rogue's stream::RateDrop), for a monitor that
// needs a sample of the data rather than all of it. It is a Slave and,
// through its embedded Master, a Source; kept frames pass through
// synchronously on the caller's goroutine.
//
// In count mode it keeps one frame and then drops the next N, repeatedly,
// starting with a kept frame. In period mode it keeps at most one frame per
// period: as in Rogue, the first period starts when the RateDrop is made,
// and each kept frame starts the next one.
//
// AcceptFrame takes no lock and may be called from several goroutines.
type RateDrop struct {
	Master

	period  time.Duration // 0: count mode
	every   uint64        // count mode: keep one frame in every
	seen    atomic.Uint64 // count mode: frames seen
	next    atomic.Int64  // period mode: keep the first frame after this (ns since base)
	base    time.Time     // monotonic origin of next
	now     func() time.Duration
	dropped atomic.Uint64
}

// NewRateDrop returns a RateDrop. With period false, value is the number of
// frames dropped after each kept one (truncated to an integer, as in Rogue;
// 0 keeps every frame). With period true, value is the minimum interval in
// seconds between kept frames; a value of 0 keeps every frame, as in Rogue.
// value must be finite and not negative, and fit the mode's range
// (count up to 2^32-1, period up to about 292 years).
func NewRateDrop(period bool, value float64) (*RateDrop, error) {
	if math.IsNaN(value) || math.IsInf(value, 0) || value < 0 {
		return nil, fmt.Errorf("engine: rate drop value %v must be a finite number >= 0", value)
	}
	r := &RateDrop{base: time.Now()}
	r.now = func() time.Duration { return time.Since(r.base) }
	if !period || value == 0 {
		if value > math.MaxUint32 {
			return nil, fmt.Errorf("engine: rate drop count %v exceeds %d", value, uint32(math.MaxUint32))
		}
		r.every = uint64(value) + 1
		return r, nil
	}
	if value*1e9 >= math.MaxInt64 {
		return nil, fmt.Errorf("engine: rate drop period of %v seconds is too long", value)
	}
	r.period = max(time.Duration(value*1e9), 1)
	r.next.Store(int64(r.period))
	return r, nil
}

// AcceptFrame passes f on to the slaves or drops it.
func (r *RateDrop) AcceptFrame(f Frame) {
	if !r.keep() {
		r.dropped.Add(1)
		return
	}
	if r.Master.SendFrame(f) != nil {
		r.dropped.Add(1) // closed, or f already released
	}
}

// keep decides the fate of one frame.
func (r *RateDrop) keep() bool {
	if r.period == 0 {
		return (r.seen.Add(1)-1)%r.every == 0
	}
	next := r.next.Load()
	now := int64(r.now())
	if now <= next {
		return false
	}
	// Of concurrent callers past the deadline, only the one that moves it
	// keeps its frame.
	return r.next.CompareAndSwap(next, now+int64(r.period))
}

// Dropped is the number of frames not passed on, including frames that
// arrived after Close.
func (r *RateDrop) Dropped() uint64 { return r.dropped.Load() }
