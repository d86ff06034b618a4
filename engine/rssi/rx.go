package rssi

import (
	"time"

	"udpstream.dev/engine"
)

// receive handles one datagram from the transport.
func (c *Controller) receive(f engine.Frame) {
	b, berr := f.Bytes()
	c.mu.Lock()
	defer c.unlockFlush()
	if c.closed {
		return
	}
	var h Header
	n := 0
	err := berr
	if err == nil {
		n, err = Decode(b, &h)
	}
	if err != nil {
		c.stats.Drops++
		c.stats.BadHeaders++
		return
	}
	if h.Flags&FlagBusy != 0 {
		c.stats.BusyRx++
		c.busyRxAt = time.Now()
	}
	switch {
	case h.Flags&FlagSyn != 0:
		c.rxSyn(&h)
	case h.Flags&FlagRst != 0:
		if c.st == StateOpen {
			c.goDown(true)
		}
	case c.st != StateOpen:
		c.stats.Drops++
	default:
		c.rxOpen(&h, f, n, len(b)-n)
	}
}

// rxSyn handles a SYN (server) or SYN+ACK (client).
func (c *Controller) rxSyn(h *Header) {
	isAck := h.Flags&FlagAck != 0
	switch {
	case c.server && !isAck:
		c.rxSynServer(h)
	case !c.server && isAck && c.st == StateWaitSyn:
		c.open(h)
		c.delivered = h.Seq
		c.sendAck()
	case !c.server && isAck && c.st == StateOpen && !c.opts.rogueQuirks:
		c.rxSynAckOpen(h)
	default:
		c.stats.Drops++
	}
}

// rxSynServer opens the link on a client's SYN. On an open link (Rogue
// resets it) a SYN of the handshake that opened it is taken by
// rxSynOpen; any other (the client reconnected after data flowed)
// replaces the link.
func (c *Controller) rxSynServer(h *Header) {
	if c.st == StateOpen {
		if c.opts.rogueQuirks {
			c.goDown(false)
			return
		}
		if c.rxSynOpen(h) {
			return
		}
		c.dropLink()
		c.stats.Restarts++
	}
	c.open(h)
	p := c.lk.p
	seq := c.nextSeq
	c.nextSeq++
	c.base = c.nextSeq
	c.synAck, c.synAcked = seq, false
	c.emit(FlagSyn|FlagAck, seq, engine.Frame{}, &p)
}

// open adopts the peer's parameters and opens the link.
func (c *Controller) open(h *Header) {
	c.lk = adopt(h.Params, c.opts.MaxSegment)
	c.nextRx, c.peerSyn = h.Seq+1, h.Seq
	c.base = c.nextSeq
	c.st = StateOpen
	c.stats.Opens++
	c.space.Broadcast()
	select {
	case c.retick <- struct{}{}:
	default: // one already pending
	}
}

// rxOpen handles an ACK, NUL or data segment on an open link.
func (c *Controller) rxOpen(h *Header, f engine.Frame, hl, payload int) {
	if h.Flags&FlagAck != 0 {
		c.rxAck(h.Ack)
		c.noteSynAcked(h.Ack)
	}
	c.peerBusy = h.Flags&FlagBusy != 0
	nul := h.Flags&FlagNul != 0
	if !nul && payload == 0 {
		if h.Flags&(FlagAck|FlagBusy) == FlagAck {
			c.fastRetransmit(h.Ack)
			c.resendSyn()
		}
		return // ACK only: its sequence is not consumed
	}
	d := int(h.Seq - c.nextRx)
	switch {
	case d == 0:
		c.unhold(h.Seq) // a copy left held when the queue was full
		if c.accept(h.Seq, f, hl, nul) {
			c.nextRx++
			c.drainHeld()
		}
	case d <= c.lk.window && !c.held[h.Seq].ok:
		c.hold(h.Seq, f, hl, nul)
	default:
		c.stats.Drops++
		c.stats.Duplicates++
		c.dupAck()
	}
}

// rxAck releases the segments an acknowledge covers. An acknowledge
// outside [base-1, last sent] is stale (reordered) or bogus and ignored;
// Rogue instead walks its whole ring and forgets the window.
func (c *Controller) rxAck(a uint8) {
	k := int(a - c.base + 1)
	if k == 0 || k > c.outstand {
		return
	}
	for ; k > 0; k-- {
		e := &c.ring[c.base]
		if e.f.Valid() {
			e.f.Release()
		}
		*e = txEntry{}
		c.base++
		c.outstand--
	}
	c.space.Broadcast()
}

// accept queues an in-order segment for the application. It fails (the
// peer will send it again; counted in Drops) when the queue is full.
func (c *Controller) accept(seq uint8, f engine.Frame, hl int, nul bool) bool {
	it := rxItem{seq: seq, nul: nul, epoch: c.epoch}
	if !nul {
		if f.Retain() != nil {
			c.stats.Drops++
			return false
		}
		f.PullHeader(hl)
		it.f = f
	}
	select {
	case c.rxq <- it:
		return true
	default:
		if it.f.Valid() {
			it.f.Release()
		}
		c.stats.Drops++
		return false
	}
}

// hold keeps a segment that arrived after a gap.
func (c *Controller) hold(seq uint8, f engine.Frame, hl int, nul bool) {
	e := heldEntry{nul: nul, ok: true}
	if !nul {
		if f.Retain() != nil {
			c.stats.Drops++
			return
		}
		f.PullHeader(hl)
		e.f = f
	}
	c.held[seq] = e
	c.stats.OutOfOrder++
	c.dupAck() // tells the sender of the gap at once (see fastRetransmit)
}

// unhold releases a held segment.
func (c *Controller) unhold(seq uint8) {
	if e := &c.held[seq]; e.ok {
		if e.f.Valid() {
			e.f.Release()
		}
		*e = heldEntry{}
	}
}

// drainHeld queues the held segments the last arrival made in order.
func (c *Controller) drainHeld() {
	for c.held[c.nextRx].ok {
		e := c.held[c.nextRx]
		it := rxItem{f: e.f, seq: c.nextRx, nul: e.nul, epoch: c.epoch}
		select {
		case c.rxq <- it:
		default:
			return // stays held; delivered when the queue has room
		}
		c.held[c.nextRx] = heldEntry{}
		c.nextRx++
	}
}

// dupAck answers a duplicate, or a segment after a gap, with an ACK, at
// most one per half cumulative ack timeout. After a duplicate the peer
// resends because our last ACK was lost, and Rogue, which sends none,
// leaves it to retransmit until it gives up; after a gap the ACK repeats
// the last acknowledge, which our sender takes as a loss.
func (c *Controller) dupAck() {
	if c.opts.rogueQuirks {
		return
	}
	now := time.Now()
	if now.Sub(c.dupAckAt) < c.lk.cumAck/2 {
		return
	}
	c.dupAckAt = now
	c.stats.DupAcks++
	c.sendAck()
}

// fastRetransmit resends the oldest unacknowledged segment when a pure
// ACK (not BUSY) acknowledges nothing new: our receiver sends one when a
// segment arrives after a gap, so the hole is filled after a round trip
// instead of a retransmission timeout. Rogue's receiver sends none, and
// then the timer recovers as before. A segment goes again this way at
// most once per half cumulative ack timeout, and these sends do not count
// towards MaxRetran (they answer the receiver, which is alive).
func (c *Controller) fastRetransmit(a uint8) {
	if c.opts.rogueQuirks || c.outstand == 0 || a != c.base-1 {
		return
	}
	e := &c.ring[c.base]
	now := time.Now()
	if now.Sub(e.sent) < c.lk.cumAck/2 {
		return
	}
	e.sent = now
	c.stats.Retransmits++
	c.stats.FastRetransmits++
	flags := FlagAck
	if e.nul {
		flags |= FlagNul
	}
	c.emit(flags, c.base, e.f, nil)
}
