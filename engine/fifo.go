package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"udpstream.dev/ring"
)

// defaultFifoDepth is Rogue's usual queue depth for a Fifo.
const defaultFifoDepth = 1024

// fifoBatch is how many frames the delivery goroutine takes per wake-up.
const fifoBatch = 64

// FifoOptions configures a Fifo. The zero value is a dropping, zero-copy
// queue of 1024 frames.
type FifoOptions struct {
	// MaxDepth is the queue capacity in frames: 0 means 1024; other values
	// are rounded up to a power of two (at least 2).
	MaxDepth int

	// Block makes a producer wait while the queue is full instead of
	// dropping the frame: back-pressure for sources that can wait (a file
	// reader, a generator), never for a network receiver.
	Block bool

	// Copy queues a deep copy of each frame instead of a reference to it,
	// so the producer's buffers go back to their pool at once (Rogue's
	// noCopy=false). Channel, error and flags are copied too.
	Copy bool

	// TrimSize, with Copy, copies at most this many bytes of each frame;
	// 0 copies the whole payload.
	TrimSize int

	// Pool, with Copy, is where copies are allocated. When nil, copies are
	// requested like any frame of the Fifo's Master (Master.ReqFrame): from
	// the primary slave's allocator, else from the Fifo's own pool, which
	// Master.SetPool may replace. Give a fixed-size pool for copies without
	// allocation.
	Pool *Pool
}

// Fifo decouples a producer from its consumers: AcceptFrame queues the
// frame and returns, and the Fifo's own goroutine hands queued frames to
// its slaves in order (Rogue's stream::Fifo). It is a Slave and, through
// its embedded Master, a Source.
//
// Any number of goroutines may call AcceptFrame at once. The queue is a
// lock-free multi-producer ring (ring.MPMC): an SPSC ring would be cheaper
// but is only correct with a single producer, which a Slave cannot
// guarantee since several masters may feed it. The delivery goroutine parks
// in the ring's blocking wait when the queue is empty; nothing polls.
//
// Every frame that is not delivered is counted by Drops: queue full
// (without Block), copy failed, released frame, or Fifo closed.
type Fifo struct {
	Master

	q     *ring.MPMC[Frame]
	opts  FifoOptions
	drops atomic.Uint64

	// closed turns producers away; inflight counts producers between their
	// check of closed and the end of their push, so Close can wait for
	// them and be sure nothing is pushed after its final drain.
	closed   atomic.Bool
	inflight atomic.Int64

	done      chan struct{} // closed when the delivery goroutine exits
	closeOnce sync.Once
}

// NewFifo validates opts and starts the Fifo's delivery goroutine; Close
// stops it.
func NewFifo(opts FifoOptions) (*Fifo, error) {
	switch {
	case opts.MaxDepth < 0:
		return nil, fmt.Errorf("engine: fifo depth %d is negative", opts.MaxDepth)
	case opts.TrimSize < 0:
		return nil, fmt.Errorf("engine: fifo trim size %d is negative", opts.TrimSize)
	case !opts.Copy && (opts.TrimSize != 0 || opts.Pool != nil):
		return nil, errors.New("engine: fifo TrimSize and Pool apply to copies; set Copy")
	}
	depth := opts.MaxDepth
	if depth == 0 {
		depth = defaultFifoDepth
	}
	q, err := ring.NewMPMC[Frame](max(2, ceilPow2(depth)))
	if err != nil {
		return nil, fmt.Errorf("engine: fifo depth %d: %w", opts.MaxDepth, err)
	}
	f := &Fifo{q: q, opts: opts, done: make(chan struct{})}
	go f.deliver()
	return f, nil
}

// AcceptFrame queues fr (a new reference to it, or a copy) for delivery
// and returns. When the queue is full it drops the frame or, with Block,
// waits for room.
func (f *Fifo) AcceptFrame(fr Frame) {
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	if f.closed.Load() {
		f.drops.Add(1)
		return
	}
	item := fr
	if f.opts.Copy {
		if !f.opts.Block && f.q.Len() >= f.q.Cap() {
			f.drops.Add(1) // full: do not pay for a copy that would be dropped
			return
		}
		c, err := f.copyFrame(fr)
		if err != nil {
			f.drops.Add(1)
			return
		}
		item = c
	} else if fr.Retain() != nil {
		f.drops.Add(1)
		return
	}
	if f.opts.Block {
		if f.q.PushWait(item) != nil { // closed while waiting
			item.Release()
			f.drops.Add(1)
		}
		return
	}
	if !f.q.TryPush(item) {
		item.Release()
		f.drops.Add(1)
	}
}

// copyFrame returns a new frame holding the first TrimSize (or all) payload
// bytes of src and its metadata.
func (f *Fifo) copyFrame(src Frame) (Frame, error) {
	st, err := src.state()
	if err != nil {
		return Frame{}, err
	}
	n := st.payload()
	if t := f.opts.TrimSize; t > 0 && t < n {
		n = t
	}
	var dst Frame
	if f.opts.Pool != nil {
		dst, err = f.opts.Pool.AcceptReq(n, true)
	} else {
		dst, err = f.Master.ReqFrame(n, true)
	}
	if err != nil {
		return Frame{}, err
	}
	if err := copyInto(dst, src, n); err != nil {
		dst.Release()
		return Frame{}, err
	}
	return dst, nil
}

// copyInto sets dst's payload to n bytes copied from the front of src, and
// copies src's channel, error and flags.
func copyInto(dst, src Frame, n int) error {
	if err := dst.SetPayload(n); err != nil {
		return err
	}
	var segs [8][]byte
	bufs, err := dst.AppendBuffers(segs[:0])
	if err != nil {
		return err
	}
	off := int64(0)
	for _, b := range bufs {
		m, err := src.ReadAt(b, off)
		if err != nil {
			return err
		}
		off += int64(m)
	}
	dst.SetChannel(src.Channel())
	dst.SetError(src.Error())
	return dst.SetFlags(src.Flags())
}

// deliver is the Fifo's goroutine: it sends queued frames to the slaves
// and releases the queue's reference. Once the Fifo is closed it releases
// what is left without delivering it.
func (f *Fifo) deliver() {
	defer close(f.done)
	var batch [fifoBatch]Frame
	for {
		n, err := f.q.PopWait(batch[:])
		for i := range n {
			fr := batch[i]
			batch[i] = Frame{}
			if f.closed.Load() || f.Master.SendFrame(fr) != nil {
				f.drops.Add(1)
			}
			fr.Release()
		}
		if err != nil {
			return
		}
	}
}

// Depth is the number of frames queued now.
func (f *Fifo) Depth() int { return f.q.Len() }

// Drops is the number of frames accepted but never delivered.
func (f *Fifo) Drops() uint64 { return f.drops.Load() }

// Close stops the Fifo: later frames are dropped, producers blocked by
// Block return, frames still queued are released without delivery and
// counted as drops, and the delivery goroutine has exited when Close
// returns. A frame being delivered when Close is called finishes first, so
// Close must not be called from one of this Fifo's slaves. Close is
// idempotent and always returns nil.
func (f *Fifo) Close() error {
	f.closeOnce.Do(func() {
		f.closed.Store(true)
		f.q.Close() // wakes the delivery goroutine and blocked producers
		// Producers that saw closed == false are a few instructions from
		// the end of their push, or woken from PushWait by q.Close.
		for f.inflight.Load() != 0 {
			runtime.Gosched()
		}
		<-f.done
		for {
			fr, ok := f.q.TryPop()
			if !ok {
				break
			}
			fr.Release()
			f.drops.Add(1)
		}
		f.Master.Close()
	})
	return nil
}
