package engine

import "udpstream.dev/engine/internal/poolx"

// frameOver makes a frame over the whole usable space of b, a buffer of
// this fixed-size pool, with the first n bytes as payload: the frame
// AcceptReq would have returned once the kernel wrote n bytes into it. The
// receive loops use it to keep posting the same buffers while slaves
// release their frames promptly, so the kernel copies into cache-warm
// memory instead of cycling through the pool. The frame holds its own
// reference to b; n must not exceed the pool's FixedSize.
func (p *Pool) frameOver(b *poolx.Buffer, n int) Frame {
	c := p.config()
	b.Retain()
	st := p.getState()
	st.segs = append(st.segs, segment{buf: b, floor: 0, lo: c.headroom, hi: c.headroom + c.fixedSize, n: n})
	return p.frame(st)
}
