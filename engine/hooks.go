package engine

import "udpstream.dev/engine/internal/poolx"

// The transports in engine/udp reach the buffers behind frames through
// poolx; these are the operations they get.
func init() {
	poolx.Register(&poolx.Hooks[Frame, *Pool]{
		NewRegionPool:  newRegionPool,
		RegionBuffers:  func(p *Pool) []poolx.Buffer { return p.config().slab.bufs },
		Owns:           func(p *Pool, b *poolx.Buffer) bool { return b.Owner() == poolx.Owner(p.config().slab) },
		AllocBuffer:    (*Pool).allocBuffer,
		BufferAt:       (*Pool).bufferAt,
		FrameOn:        (*Pool).frameOn,
		FrameOnWindows: (*Pool).frameOnWindows,
		FrameOver:      (*Pool).frameOver,
		Retire:         (*Pool).retire,
		TxWindow:       txWindow,
		Segments:       segments,
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
