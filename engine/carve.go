package engine

import (
	"fmt"
	"sync/atomic"

	"udpstream.dev/engine/internal/poolx"
)

// maxCarved bounds the frames cut in one group (see carvedGroup): a
// 64 KiB GRO receive of 1-byte datagrams.
const maxCarved = 1 << 16

// carvedGroup is a receive loop's set of frame bodies (poolx.Carver), for
// the frames it cuts out of its receive buffers in groups: the datagrams
// of one GRO buffer, or one frame per message of a recvmmsg batch. Body k
// makes frame k of every group, so the bodies stay cache-warm and go
// through no shared free list.
//
// The loop holds every frame of the current group without counting it:
// a frame's handle carries the group's epoch, and the frame is live while
// the epoch is current. Ending a group (settle) moves the epoch on with
// one atomic store, releasing all its frames at once, instead of one
// atomic step on every frame. A frame's own count (life's low bits) counts
// only the references taken with Retain. Read by a handle of epoch e, a
// body's life word means:
//
//   - count > 0: retained; live while the high 32 bits are e's low 32
//     bits (written by the retain that took the count from 0), whether or
//     not the loop still holds it.
//   - count 0, no mark: live while the group's epoch is e (held by the
//     loop only). A body that is not live in this state is free.
//   - count 0, dropBit: a holder released the reference the loop lent it,
//     which ends the frame at once; settle clears the mark.
//   - count 0, holdBit: a frame that outlived its group ended; the body
//     waits on the returned stack to be reused.
//
// A frame still retained when its group ends gets its own reference to its
// buffer and holdBit, and leaves the set: the loop puts another body in
// its place, and the frame's last release gives the buffer reference back
// and pushes the body onto the returned stack, from which the loop takes
// it again. Carved bodies never go to the pool, so group is fixed for a
// body's whole existence.
//
// Handles stay exact as long as a stale one is not kept over 2^32 groups
// that end with its body retained. As with any frame, a handle used
// without a reference of its own while its group ends may find it either
// live or stale; every use after the end finds it stale.
type carvedGroup struct {
	pool  *Pool
	epoch atomic.Uint64 // the current group; written by the loop only
	cur   uint64        // epoch's value, for the loop
	cut   int           // bodies the current group may have cut (highest k + 1)

	set      []*frameState // body k of the current group
	spare    []*frameState // bodies taken off returned
	returned atomic.Pointer[frameState]
}

// group returns the loop's set of carved bodies, creating it on first use.
func (p *Pool) group(c *poolx.Carver) *carvedGroup {
	if g, ok := c.Bodies.(*carvedGroup); ok {
		return g
	}
	g := &carvedGroup{pool: p, cur: 1}
	g.epoch.Store(1)
	c.Bodies = g
	return g
}

// holds reports whether life word w of a body of g is live for a handle of
// epoch e.
func (g *carvedGroup) holds(w, e uint64) bool {
	if w&refMask != 0 {
		return uint32(w>>32) == uint32(e)
	}
	return w&(holdBit|dropBit) == 0 && g.epoch.Load() == e
}

// retain adds a reference to the carved frame of epoch e.
func (g *carvedGroup) retain(st *frameState, e uint64) error {
	for {
		w := st.life.Load()
		if !g.holds(w, e) {
			return ErrReleased
		}
		next := w + 1
		switch n := w & refMask; {
		case n == refMask:
			return fmt.Errorf("%w: a frame retained %d times", ErrFrameSize, uint64(refMask))
		case n == 0:
			// The first reference of its own: tag the word with the
			// epoch, so that handles of the body's other groups
			// cannot pass for it.
			next = uint64(uint32(e))<<32 | 1
		}
		if st.life.CompareAndSwap(w, next) {
			return nil
		}
	}
}

// release drops a reference to the carved frame of epoch e. Releasing the
// reference the loop lent (the count is 0) ends the frame, as the last
// release of any frame does.
func (g *carvedGroup) release(st *frameState, e uint64) error {
	for {
		w := st.life.Load()
		if !g.holds(w, e) {
			return ErrReleased
		}
		next := w - 1
		if w&refMask == 0 {
			next = w | dropBit
		}
		if st.life.CompareAndSwap(w, next) {
			if next&(refMask|holdBit) == holdBit {
				g.giveBack(st)
			}
			return nil
		}
	}
}

// giveBack returns the buffer reference and the body of a frame that
// outlived its group, on the goroutine of its last release.
func (g *carvedGroup) giveBack(st *frameState) {
	st.segs[0].buf.Release()
	for {
		head := g.returned.Load()
		st.next = head
		if g.returned.CompareAndSwap(head, st) {
			return
		}
	}
}

// take returns body k for the current group, with the group's epoch, or
// an error when k was cut already in this group or is still in use.
func (g *carvedGroup) take(k int) (*frameState, uint64, error) {
	if k < g.cut || k >= maxCarved {
		return nil, 0, fmt.Errorf("%w: frame %d of a group (next %d, at most %d)", ErrFrameSize, k, g.cut, maxCarved)
	}
	for len(g.set) <= k {
		g.set = append(g.set, g.body())
	}
	st := g.set[k]
	if st.life.Load()&(refMask|holdBit|dropBit) != 0 {
		return nil, 0, fmt.Errorf("engine: carved body %d is still in use", k)
	}
	g.cut = k + 1
	st.flags, st.channel, st.err = 0, 0, 0
	return st, g.cur, nil
}

// takeRun is take for bodies k0..k1-1 at once: it fails, taking none,
// when one was cut already in this group or is still in use.
func (g *carvedGroup) takeRun(k0, k1 int) error {
	if k0 < g.cut || k1 > maxCarved {
		return fmt.Errorf("%w: frames %d..%d of a group (next %d, at most %d)", ErrFrameSize, k0, k1, g.cut, maxCarved)
	}
	for len(g.set) < k1 {
		g.set = append(g.set, g.body())
	}
	for k, st := range g.set[k0:k1] {
		if st.life.Load()&(refMask|holdBit|dropBit) != 0 {
			return fmt.Errorf("engine: carved body %d is still in use", k0+k)
		}
	}
	g.cut = k1
	return nil
}

// body returns a free body for the set: one given back, else a new one.
func (g *carvedGroup) body() *frameState {
	if len(g.spare) == 0 && g.returned.Load() != nil {
		for st := g.returned.Swap(nil); st != nil; {
			next := st.next
			st.next = nil
			g.spare = append(g.spare, st)
			st = next
		}
	}
	if n := len(g.spare); n > 0 {
		st := g.spare[n-1]
		g.spare = g.spare[:n-1]
		// Its frame ended (count 0, holdBit): make it free. No
		// handle can change the word now.
		st.life.Store(st.life.Load() &^ holdBit)
		return st
	}
	return &frameState{pool: g.pool, group: g, segs: make([]segment, 1)}
}

// settle ends the current group: the loop lets go of every frame cut in
// it with one atomic store, and each frame still retained gets its own
// reference to its buffer (which the caller must still hold) and leaves
// the set.
func (g *carvedGroup) settle() {
	n := g.cut
	g.cur++
	g.epoch.Store(g.cur)
	g.cut = 0
	for k, st := range g.set[:n] {
		if st.life.Load()&(refMask|dropBit) != 0 {
			g.settleBody(k, st)
		}
	}
}

// settleBody deals with body k, retained or dropped when its group ended.
// The buffer reference is added before holdBit, and taken back when the
// frame was released meanwhile, so that the frame's last release never
// gives back a reference not yet added.
func (g *carvedGroup) settleBody(k int, st *frameState) {
	for {
		w := st.life.Load()
		switch {
		case w&dropBit != 0:
			// Count 0 and marked: no handle can change the word.
			st.life.Store(w &^ dropBit)
			return
		case w&refMask == 0:
			return // released meanwhile: free
		}
		b := st.segs[0].buf
		b.Retain()
		if st.life.CompareAndSwap(w, w|holdBit) {
			g.set[k] = g.body()
			return
		}
		b.Release() // never the last: the caller holds b
	}
}

// framesCarved appends to dst frames k0..k1-1 of the current group of c,
// cut out of the datagrams laid end to end in b.Mem[:n]: every one seg
// bytes long but the last, which ends at n, with no headroom, so frames
// cut out of one buffer never overlap. The frames take no reference to b
// and need no release by the loop: the loop holds them until settleCarved,
// and must hold its own reference to b until then. A slave that keeps a
// frame retains it, as always. The run is checked once, not per datagram.
// k0 must not be below the frames already cut in the group; on an error
// (a body still in use) nothing is appended.
func (p *Pool) framesCarved(c *poolx.Carver, b *poolx.Buffer, n, seg, k0, k1 int, dst []Frame) ([]Frame, error) {
	if b == nil || !b.Live() {
		return dst, fmt.Errorf("engine: a frame on a free buffer")
	}
	if n < 0 || n > len(b.Mem) || seg <= 0 || k0 < 0 || k1 < k0 || k1 > max(1, (n+seg-1)/seg) {
		return dst, fmt.Errorf("%w: datagrams %d..%d of %d bytes in %d of a %d-byte buffer", ErrFrameSize, k0, k1, seg, n, len(b.Mem))
	}
	g := p.group(c)
	if err := g.takeRun(k0, k1); err != nil {
		return dst, err
	}
	e := g.cur
	for k, off := k0, k0*seg; k < k1; k, off = k+1, off+seg {
		st := g.set[k]
		st.flags, st.channel, st.err = 0, 0, 0
		sg := &st.segs[0]
		sg.buf, sg.floor, sg.lo, sg.hi, sg.n = b, off, off, min(off+seg, n), min(seg, n-off)
		dst = append(dst, Frame{st: st, gen: e})
	}
	return dst, nil
}

// frameCarvedOver makes frame k of the current group of c for a buffer b
// of this fixed-size pool that holds one datagram of n bytes: the frame
// spans b's whole usable space, headroom included, as frameOver's does.
// The loop holds it as framesCarved's frames.
func (p *Pool) frameCarvedOver(c *poolx.Carver, b *poolx.Buffer, k, n int) (Frame, error) {
	cfg := p.config()
	if b == nil || !b.Live() {
		return Frame{}, fmt.Errorf("engine: a frame on a free buffer")
	}
	if n < 0 || n > cfg.fixedSize || cfg.headroom+cfg.fixedSize > len(b.Mem) {
		return Frame{}, fmt.Errorf("%w: %d bytes in a %d-byte buffer of a pool of %d", ErrFrameSize, n, len(b.Mem), cfg.fixedSize)
	}
	st, e, err := p.group(c).take(k)
	if err != nil {
		return Frame{}, err
	}
	sg := &st.segs[0]
	sg.buf, sg.floor, sg.lo, sg.hi, sg.n = b, 0, cfg.headroom, cfg.headroom+cfg.fixedSize, n
	return Frame{st: st, gen: e}, nil
}

// settleCarved ends the current group of c (see carvedGroup.settle).
func (p *Pool) settleCarved(c *poolx.Carver) {
	if g, ok := c.Bodies.(*carvedGroup); ok {
		g.settle()
	}
}
