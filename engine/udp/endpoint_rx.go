package udp

import (
	"errors"
	"net"
	"net/netip"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/mmsg"
)

// The receive loops post pooled memory to the kernel and turn what arrives
// into frames without copying: a frame's payload is the memory the kernel
// wrote the datagram into. Each loop first classifies a batch and publishes
// its counters, then delivers the accepted frames, so that a slave that has
// seen a frame also sees it in Stats.

// rxFailed handles a receive error and reports whether the loop must end.
func (e *endpoint) rxFailed(s *udpSocket, err error) bool {
	if e.closed.Load() || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, errnoConnRefused) {
		s.rx.refused.Add(1)
		if e.log.allow(logConnRefused) {
			e.log.l.Warn("udp: peer port unreachable (ICMP), continuing", "peer", e.remote,
				"suppressed", e.log.takeSuppressed(logConnRefused))
		}
		return false
	}
	s.rx.errors.Add(1)
	if e.log.allow(logRxError) {
		e.log.l.Warn("udp: receive failed, continuing", "err", err, "suppressed", e.log.takeSuppressed(logRxError))
	}
	return false
}

// report logs, rate-limited, what a batch dropped.
func (e *endpoint) report(t *rxTally) {
	if t.oversize != 0 && e.log.allow(logRxOversize) {
		e.log.l.Warn("udp: dropped datagrams larger than MaxPayload", "count", t.oversize,
			"maxPayload", e.maxPayload, "suppressed", e.log.takeSuppressed(logRxOversize))
	}
	if t.rejected != 0 && e.log.allow(logRxRejected) {
		e.log.l.Warn("udp: dropped datagrams from peers not allowed", "count", t.rejected,
			"suppressed", e.log.takeSuppressed(logRxRejected))
	}
	if t.exhausted != 0 && e.log.allow(logRxExhausted) {
		e.log.l.Warn("udp: receive pool exhausted (slaves hold every buffer), dropped datagrams", "count", t.exhausted,
			"suppressed", e.log.takeSuppressed(logRxExhausted))
	}
}

// rxVerdict is what becomes of a received datagram.
type rxVerdict uint8

const (
	rxAccepted  rxVerdict = iota
	rxExhausted           // no pool buffer was posted for it
	rxOversize            // truncated by the kernel, or longer than MaxPayload
	rxRejected            // from a peer outside WithAllowedPeers
)

// verdict judges a datagram of n bytes from from, received into a pool
// buffer (held) or into scratch memory, truncated or not. Every receive
// path asks it, so every path drops and counts alike.
func (e *endpoint) verdict(held, truncated bool, n int, from netip.AddrPort) rxVerdict {
	switch {
	case !held:
		return rxExhausted
	case truncated || n > e.maxPayload:
		return rxOversize
	case !e.allow.admits(from):
		return rxRejected
	}
	return rxAccepted
}

// publish flushes a tally into the socket's counters, logging drops.
func (e *endpoint) publish(s *udpSocket, t *rxTally) {
	if t.oversize|t.rejected|t.exhausted != 0 {
		e.report(t)
	}
	t.flush(&s.rx)
}

// notePeer records a as the reply address of a server. It runs before
// the datagram's frame is delivered, so a slave that answers at once
// answers the right peer.
func (e *endpoint) notePeer(pc *peerCache, a netip.AddrPort) {
	if !e.client {
		e.peer.note(pc, a)
	}
}

// accept hands f to the slaves, inline or through the receive queue. The
// loop's reference to f ends here.
func (e *endpoint) accept(s *udpSocket, f engine.Frame) {
	if s.rxq != nil {
		if !s.rxq.TryPush(f) {
			f.Release()
			s.rx.ringDrops.Add(1)
			if e.log.allow(logRingDrop) {
				e.log.l.Warn("udp: receive queue full, dropping frames", "suppressed", e.log.takeSuppressed(logRingDrop))
			}
		}
		return
	}
	e.master.SendFrame(f)
	f.Release()
}

// rxSlots is the receive memory posted to the kernel: one pooled buffer
// per message, or a shared scratch buffer where the pool had nothing left
// (datagrams landing there are counted as pool exhaustion and dropped). A
// slot keeps its buffer for the next datagram when the frame made on it
// was released during delivery, as it is when slaves do not keep frames.
type rxSlots struct {
	blks    []*poolx.Buffer
	bufs    [][]byte
	scratch []byte
}

func newRxSlots(n, size int) *rxSlots {
	return &rxSlots{
		blks:    make([]*poolx.Buffer, n),
		bufs:    make([][]byte, n),
		scratch: make([]byte, size),
	}
}

// fill posts memory in slot i: a buffer from the pool when it has one.
// Exactly MaxPayload bytes are posted, so longer datagrams are truncated
// (MSG_TRUNC) and dropped.
func (r *rxSlots) fill(e *endpoint, i int) {
	if b, err := px.AllocBuffer(e.rxPool); err == nil {
		r.blks[i], r.bufs[i] = b, b.Memory()[:e.maxPayload:e.maxPayload]
		return
	}
	r.blks[i], r.bufs[i] = nil, r.scratch
}

// recycle keeps slot i's buffer when no frame holds it any more, or gives
// it back and posts a fresh one.
func (r *rxSlots) recycle(e *endpoint, i int) {
	b := r.blks[i]
	if b != nil && b.SoleOwner() {
		return
	}
	if b != nil {
		b.Release()
	}
	r.fill(e, i)
}

// release gives every posted buffer back to the pool.
func (r *rxSlots) release() {
	for i, b := range r.blks {
		if b != nil {
			b.Release()
			r.blks[i] = nil
		}
	}
}

// rxBatch is the recvmmsg loop: up to a batch of datagrams per call, each
// into its own pooled buffer, delivered as a frame over that buffer.
func (e *endpoint) rxBatch(s *udpSocket) {
	n := e.cfg.batch
	slots := newRxSlots(n, e.maxPayload)
	defer slots.release()
	msgs := make([]mmsg.Message, n)
	ok := make([]bool, n)
	for i := range msgs {
		slots.fill(e, i)
		msgs[i].Buffers = slots.bufs[i : i+1 : i+1]
	}
	var pc peerCache
	var t rxTally
	for {
		got, err := s.mc.ReadBatch(msgs)
		if err != nil {
			if e.rxFailed(s, err) {
				return
			}
			continue
		}
		for i := range got {
			m := &msgs[i]
			v := e.verdict(slots.blks[i] != nil, m.Truncated, m.N, m.Addr)
			t.count(v, 1, m.N)
			ok[i] = v == rxAccepted
		}
		e.publish(s, &t)
		for i := range got {
			if ok[i] {
				e.notePeer(&pc, msgs[i].Addr)
				e.accept(s, px.FrameOver(e.rxPool, slots.blks[i], msgs[i].N))
			}
			slots.recycle(e, i)
		}
	}
}

// rxNaive is the one-datagram-per-call loop on the standard library's
// socket calls: Rogue's way, kept as the baseline.
func (e *endpoint) rxNaive(s *udpSocket) {
	slots := newRxSlots(1, e.maxPayload)
	defer slots.release()
	slots.fill(e, 0)
	var pc peerCache
	var t rxTally
	for {
		n, _, flags, addr, err := s.uc.ReadMsgUDPAddrPort(slots.bufs[0], nil)
		if err != nil {
			if e.rxFailed(s, err) {
				return
			}
			continue
		}
		if addr.Addr().Is4In6() {
			addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		}
		v := e.verdict(slots.blks[0] != nil, isMsgTrunc(flags), n, addr)
		t.count(v, 1, n)
		e.publish(s, &t)
		if v == rxAccepted {
			e.notePeer(&pc, addr)
			e.accept(s, px.FrameOver(e.rxPool, slots.blks[0], n))
		}
		slots.recycle(e, 0)
	}
}

// groBuffers holds the 64 KiB pooled buffers posted for GRO receives; each run
// that arrives is cut into one frame per datagram sharing the buffer.
type groBuffers struct {
	blks    []*poolx.Buffer
	bufs    [][]byte
	scratch []byte
}

func (g *groBuffers) fill(e *endpoint, i int) {
	b, err := px.AllocBuffer(e.groPool)
	if err == nil {
		g.blks[i], g.bufs[i] = b, b.Memory()[:mmsg.GROBufferSize]
		return
	}
	g.blks[i], g.bufs[i] = nil, g.scratch
}

// rxGRO is the recvmmsg loop with UDP GRO: each message may carry a run of
// equal datagrams (the last may be shorter), split into frames with
// frameOn, without copying.
func (e *endpoint) rxGRO(s *udpSocket) {
	n := min(e.cfg.batch, groSlots)
	g := &groBuffers{blks: make([]*poolx.Buffer, n), bufs: make([][]byte, n), scratch: make([]byte, mmsg.GROBufferSize)}
	msgs := make([]mmsg.Message, n)
	for i := range msgs {
		g.fill(e, i)
		msgs[i].Buffers = g.bufs[i : i+1 : i+1]
	}
	defer func() {
		for _, b := range g.blks {
			if b != nil {
				b.Release()
			}
		}
	}()
	var pc peerCache
	var t rxTally
	for {
		got, err := s.mc.ReadBatch(msgs)
		if err != nil {
			if e.rxFailed(s, err) {
				return
			}
			continue
		}
		for i := range got {
			m := &msgs[i]
			b := g.blks[i]
			count := m.Datagrams()
			// The run as a whole first (its size is checked per
			// datagram by splitRun: a GRO buffer does not truncate).
			if v := e.verdict(b != nil, m.Truncated, 0, m.Addr); v != rxAccepted {
				t.count(v, count, 0)
			} else {
				if count > 1 {
					s.rx.groRuns.Add(1)
				}
				e.splitRun(s, &pc, &t, m, b)
			}
			if b != nil && b.SoleOwner() {
				// Every frame cut from b is gone already (delivered
				// inline, or dropped): post the same, cache-warm buffer
				// again instead of cycling the pool.
				continue
			}
			if b != nil {
				b.Release()
			}
			g.fill(e, i)
		}
		e.publish(s, &t)
	}
}

// splitRun turns one GRO message into frames, one per datagram, each a
// window of b. Datagrams longer than MaxPayload (possible here, since a
// GRO buffer does not truncate them) are dropped and counted.
func (e *endpoint) splitRun(s *udpSocket, pc *peerCache, t *rxTally, m *mmsg.Message, b *poolx.Buffer) {
	count := m.Datagrams()
	good := 0
	for k := range count {
		_, l, _ := mmsg.SegmentAt(m.N, m.SegmentSize, k)
		v := e.verdict(true, false, l, m.Addr)
		t.count(v, 1, l)
		if v == rxAccepted {
			good++
		}
	}
	e.publish(s, t)
	if good == 0 {
		return
	}
	e.notePeer(pc, m.Addr) // one sender per GRO run
	for k := range count {
		off, l, _ := mmsg.SegmentAt(m.N, m.SegmentSize, k)
		if l > e.maxPayload {
			continue
		}
		f, err := px.FrameOn(e.groPool, b, off, l)
		if err != nil {
			// Cannot happen for a window of a held buffer; count it
			// rather than lose it silently.
			s.rx.errors.Add(1)
			continue
		}
		e.accept(s, f)
	}
}
