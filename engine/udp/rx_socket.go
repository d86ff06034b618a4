package udp

import (
	"net/netip"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/mmsg"
)

// The socket path's receive loop posts pooled memory to the kernel and
// turns what arrives into frames without copying: a frame's payload is the
// memory the kernel wrote the datagram into.

// rxSlots is the receive memory posted to the kernel: one pooled buffer
// per message, or a shared scratch buffer where the pool had nothing left
// (datagrams landing there are counted as pool exhaustion and dropped). A
// slot keeps its buffer for the next datagram when the frames made on it
// were released during delivery, as they are when slaves do not keep
// frames, so the kernel copies into cache-warm memory instead of cycling
// through the pool.
type rxSlots struct {
	pool    *engine.Pool
	size    int // bytes posted per message
	blks    []*poolx.Buffer
	bufs    [][]byte
	ok      []bool // per message: something in it is delivered
	scratch []byte
	short   bool // some slot may hold the scratch buffer (see compact)
}

func newRxSlots(pool *engine.Pool, n, size int) *rxSlots {
	r := &rxSlots{
		pool:    pool,
		size:    size,
		blks:    make([]*poolx.Buffer, n),
		bufs:    make([][]byte, n),
		ok:      make([]bool, n),
		scratch: make([]byte, size),
	}
	for i := range n {
		r.fill(i)
	}
	return r
}

// fill posts memory in slot i: a buffer from the pool when it has one.
// Exactly size bytes are posted, so longer datagrams are truncated
// (MSG_TRUNC) and dropped.
func (r *rxSlots) fill(i int) {
	if b, err := px.AllocBuffer(r.pool); err == nil {
		r.blks[i], r.bufs[i] = b, b.Memory()[:r.size:r.size]
		return
	}
	r.blks[i], r.bufs[i] = nil, r.scratch
	r.short = true
}

// compact moves pool buffers posted in later slots in front of the
// scratch slots among the first got: the kernel fills messages in order,
// so while reads return few datagrams a buffer behind a scratch slot
// would sit unused and every datagram would land in the scratch and be
// dropped as pool exhaustion. Only called when short is set.
func (r *rxSlots) compact(got int) {
	j := len(r.blks) - 1
	for i := 0; i < got && i < j; i++ {
		if r.blks[i] != nil {
			continue
		}
		for j > i && r.blks[j] == nil {
			j--
		}
		if j <= i {
			break
		}
		r.blks[i], r.blks[j] = r.blks[j], nil
		r.bufs[i], r.bufs[j] = r.bufs[j], r.scratch
	}
	r.short = false
	for _, b := range r.blks {
		if b == nil {
			r.short = true
			return
		}
	}
}

// recycle keeps slot i's buffer when no frame holds it any more, or gives
// it back and posts a fresh one.
func (r *rxSlots) recycle(i int) {
	b := r.blks[i]
	if b != nil && b.SoleOwner() {
		return
	}
	if b != nil {
		b.Release()
	}
	r.fill(i)
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

// receive is the receive loop of every socket path. It reads messages
// (one datagram per call for TransportNaive, a recvmmsg batch otherwise),
// judges every datagram and publishes the counts, then, in a second pass
// over the same messages, delivers them: a plain message is one frame over
// its buffer, a GRO message is cut into one frame per datagram sharing the
// buffer, without copying.
func (p *socketPath) receive(s *udpSocket) {
	gro := s.mc.GROEnabled()
	n, pool, size := p.cfg.batch, p.rxPool, p.rx.maxPayload
	switch {
	case p.naive:
		n = 1
	case gro:
		// The C reference receiver posts as many; more only adds memory.
		n, pool, size = min(p.cfg.batch, groSlots), p.groPool, mmsg.GROBufferSize
	}
	slots := newRxSlots(pool, n, size)
	defer slots.release()
	msgs := make([]mmsg.Message, n)
	for i := range msgs {
		msgs[i].Buffers = slots.bufs[i : i+1 : i+1]
	}
	var pc peerCache
	var t rxTally
	var cut rxCut
	offer := len(msgs)
	for {
		got, err := p.readMessages(s, msgs[:offer])
		offer = nextOffer(offer, got, len(msgs))
		if err != nil {
			if p.rx.rxFailed(s, err) {
				return
			}
			continue
		}
		for i := range got {
			slots.ok[i] = p.judge(s, &t, &msgs[i], slots.blks[i] != nil, gro)
		}
		p.rx.publish(s, &t)
		if gro {
			for i := range got {
				if slots.ok[i] {
					p.deliverGRO(s, &pc, &cut, &msgs[i], slots.blks[i])
				}
			}
		} else {
			p.deliverPlain(s, &pc, &cut, msgs[:got], slots)
		}
		for i := range got {
			slots.recycle(i) // msgs[i].Buffers aliases slots.bufs[i]
		}
		if slots.short {
			slots.compact(got)
		}
	}
}

// minOffer is the fewest messages a read offers the kernel.
const minOffer = 8

// nextOffer is how many of its n messages the receive loop offers to the
// next read, after a read offered offer and got got: twice as many as the
// last read filled, at least minOffer, and double when it filled them all.
// Each message offered costs the read a header check, whether or not the
// kernel fills it, so a loop that keeps up with its sender reads a few at a
// time; one that falls behind is back at n within a few reads.
func nextOffer(offer, got, n int) int {
	if got >= offer {
		return min(n, 2*offer)
	}
	return min(n, max(minOffer, 2*got))
}

// readMessages fills msgs from the socket: with TransportNaive one
// datagram through the standard library's recvmsg (Rogue's way, kept as
// the baseline), otherwise a recvmmsg batch.
func (p *socketPath) readMessages(s *udpSocket, msgs []mmsg.Message) (int, error) {
	if p.cfg.lowLatency {
		return p.readBlocking(s, msgs)
	}
	if !p.naive {
		return s.mc.ReadBatch(msgs)
	}
	m := &msgs[0]
	n, _, flags, addr, err := s.uc.ReadMsgUDPAddrPort(m.Buffers[0], nil)
	if err != nil {
		return 0, err
	}
	if addr.Addr().Is4In6() {
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	}
	m.N, m.Addr, m.Truncated, m.SegmentSize = n, addr, isMsgTrunc(flags), 0
	return 1, nil
}

// judge counts what becomes of the datagrams of m, held in a pool buffer
// or not, and reports whether any is to be delivered. A GRO message is
// judged as a run first (one sender, and a GRO buffer does not truncate),
// then by size: every datagram but the last is SegmentSize bytes.
func (p *socketPath) judge(s *udpSocket, t *rxTally, m *mmsg.Message, held, gro bool) bool {
	if !gro {
		v := p.rx.verdict(held, m.Truncated, m.N, m.Addr)
		t.count(v, 1, m.N)
		return v == rxAccepted
	}
	count := m.Datagrams()
	t.groBuffers++
	t.groDatagrams += uint64(count)
	t.groMax = max(t.groMax, uint64(count))
	if v := p.rx.verdict(held, m.Truncated, 0, m.Addr); v != rxAccepted {
		t.count(v, count, 0)
		return false
	}
	if count > 1 {
		s.rx.groRuns.Add(1)
	}
	if count == 0 {
		return false
	}
	_, last, _ := mmsg.SegmentAt(m.N, m.SegmentSize, count-1)
	p.judgeSize(t, count-1, (count-1)*m.SegmentSize)
	p.judgeSize(t, 1, last)
	return last <= p.rx.maxPayload || (count > 1 && m.SegmentSize <= p.rx.maxPayload)
}

// judgeSize counts n datagrams of bytes/n bytes each as accepted or
// oversize.
func (p *socketPath) judgeSize(t *rxTally, n, bytes int) {
	if n == 0 {
		return
	}
	if bytes/n > p.rx.maxPayload {
		t.count(rxOversize, n, bytes)
		return
	}
	t.count(rxAccepted, n, bytes)
}

// rxCut is what a receive loop cuts its frames with: its own frame bodies
// (see engine's carvedGroup) and room for the frames of one GRO buffer.
type rxCut struct {
	carver poolx.Carver
	frames []engine.Frame
	warm   byte // what warmHeads read, kept so the reads stay
}

// warmHeads reads the first byte of every datagram of a GRO buffer (n
// bytes, seg-byte datagrams) before any is delivered. The kernel's copy of
// up to 64 KiB leaves the datagrams' starts out of the near caches, and a
// slave reads each one's header: one load after another, each a cache
// miss the next waits for. These loads depend on nothing, so the processor
// overlaps their misses (docs/cost.md).
func warmHeads(buf []byte, n, seg int) byte {
	var x byte
	for off := 0; off < n && off < len(buf); off += seg {
		x ^= buf[off]
	}
	return x
}

// deliverGRO hands the accepted datagrams of GRO message m, in buffer b,
// to the slaves, noting the peer first (one sender per GRO run). Their
// frames are cut out of b with the loop's own frame bodies and make one
// group, settled here.
func (p *socketPath) deliverGRO(s *udpSocket, pc *peerCache, c *rxCut, m *mmsg.Message, b *poolx.Buffer) {
	p.rx.notePeer(pc, m.Addr)
	// The datagrams lie end to end, every one but the last seg bytes
	// long. judge let the message through, so either every datagram fits
	// or only the last, shorter one does.
	count, seg := m.Datagrams(), m.SegmentSize
	if count == 1 {
		seg = max(m.N, 1)
	}
	k0 := 0
	if seg > p.rx.maxPayload {
		k0 = count - 1
	}
	if count > 1 && b != nil {
		c.warm ^= warmHeads(b.Mem, m.N, seg)
	}
	frames, err := px.FramesCarved(p.groPool, &c.carver, b, m.N, seg, k0, count, c.frames[:0])
	if err != nil {
		s.rx.errors.Add(uint64(count - k0))
	}
	p.rx.acceptCarved(s, frames)
	c.frames = frames
	px.SettleCarved(p.groPool, &c.carver)
}

// deliverPlain hands the accepted datagrams of a batch of plain messages
// (slots.ok) to the slaves, message i's frame being frame i of the batch's
// group, cut over slot i's buffer. Consecutive messages from one sender go
// to the slaves in one call, after that sender is noted as the peer, so a
// slave that answers at once answers the right one. The group is settled
// once the whole batch is delivered.
func (p *socketPath) deliverPlain(s *udpSocket, pc *peerCache, c *rxCut, msgs []mmsg.Message, slots *rxSlots) {
	run := c.frames[:0]
	var from netip.AddrPort
	for i := range msgs {
		if !slots.ok[i] {
			continue
		}
		m := &msgs[i]
		if len(run) > 0 && m.Addr != from {
			p.rx.acceptCarved(s, run)
			run = run[:0]
		}
		if len(run) == 0 {
			p.rx.notePeer(pc, m.Addr)
			from = m.Addr
		}
		f, err := px.FrameCarvedOver(p.rxPool, &c.carver, slots.blks[i], i, m.N)
		if err != nil {
			// Cannot happen for a judged datagram in a held
			// buffer; count it rather than lose it silently.
			s.rx.errors.Add(1)
			continue
		}
		run = append(run, f)
	}
	if len(run) > 0 {
		p.rx.acceptCarved(s, run)
	}
	c.frames = run[:0]
	px.SettleCarved(p.rxPool, &c.carver)
}
