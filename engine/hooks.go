package engine

import (
	"unsafe"

	"udpstream.dev/engine/internal/poolx"
)

// The transports in engine/udp reach the buffers behind frames through
// poolx; these are the operations they get.
func init() {
	poolx.Register(&poolx.Hooks[Frame, *Pool, *Master]{
		NewRegionPool:   newRegionPool,
		RegionBuffers:   func(p *Pool) []poolx.Buffer { return p.config().slab.bufs },
		Owns:            func(p *Pool, b *poolx.Buffer) bool { return b.Owner() == poolx.Owner(p.config().slab) },
		AllocBuffer:     (*Pool).allocBuffer,
		BufferAt:        (*Pool).bufferAt,
		FrameOn:         (*Pool).frameOn,
		FrameCarvedOver: (*Pool).frameCarvedOver,
		FramesCarved:    (*Pool).framesCarved,
		SettleCarved:    (*Pool).settleCarved,
		SendHeld:        (*Master).sendHeld,
		FrameOnWindows:  (*Pool).frameOnWindows,
		FrameOver:       (*Pool).frameOver,
		Retire:          (*Pool).retire,
		TxWindow:        txWindow,
		Segments:        segments,
	})
}

// segments appends f's segments to dst, for a transport that sends them
// from where they lie.
func segments(f Frame, dst []poolx.Segment) ([]poolx.Segment, error) {
	st, err := f.state()
	if err != nil {
		return dst, err
	}
	for i := range st.segs {
		s := &st.segs[i]
		dst = append(dst, poolx.Segment{Buf: s.buf, Floor: s.floor, Lo: s.lo, Hi: s.hi, N: s.n})
	}
	return dst, nil
}

// txWindow is the transmit fast path's look at a frame: in one visit to its
// state it checks what checkFrame checks and returns the payload size and,
// for a frame of one buffer carved from a slab chunk, its payload as a
// window of the chunk whose capacity runs to the chunk's end, so that
// joinWindow can later extend it over the frame that follows it in memory.
// A frame of one heap buffer gets a window with no spare capacity. ok is
// false when the frame needs the slow path: released, errored, oversize,
// empty, or spread over several buffers. checkFrame then decides, counts
// and logs.
func txWindow(f Frame, maxPayload int) (n int, win []byte, ok bool) {
	st := f.st
	if st == nil || !st.holds(f.gen) || st.err != 0 || len(st.segs) != 1 {
		return 0, nil, false
	}
	s := &st.segs[0]
	n = s.n
	if n <= 0 || n > maxPayload {
		return 0, nil, false
	}
	b := s.buf
	if b.Chunk == nil {
		return n, b.Mem[s.lo : s.lo+n : s.lo+n], true
	}
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(b.Mem)))-uintptr(unsafe.Pointer(unsafe.SliceData(b.Chunk)))) + s.lo
	return n, b.Chunk[off : off+n], true
}
