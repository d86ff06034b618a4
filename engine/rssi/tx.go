package rssi

import (
	"io"
	"time"

	"udpstream.dev/engine"
)

// send transmits one application segment, waiting for window space.
func (c *Controller) send(f engine.Frame) {
	n := f.Payload()
	c.mu.Lock()
	defer c.unlockFlush()
	for c.st == StateOpen && !c.closed && c.outstand >= c.lk.window {
		if len(c.txq) > 0 && !c.flushing {
			c.flushLocked() // what a cork holds must go before waiting for acknowledges
			continue
		}
		c.space.Wait()
	}
	if c.st != StateOpen || c.closed || n < 1 || n > c.lk.seg-HeaderSize || f.Retain() != nil {
		c.stats.TxRefused++
		f.SetError(TxErrorCode)
		return
	}
	seq := c.nextSeq
	c.nextSeq++
	c.ring[seq] = txEntry{f: f, sent: time.Now(), count: 1}
	c.outstand++
	c.stats.TxSegments++
	c.emit(FlagAck, seq, f, nil)
}

// emit builds one datagram in a frame of the transport's allocator and
// queues it for sending once mu is released (flush.go): header (with the current acknowledge and BUSY), then a copy
// of payload (which may be the zero Frame). syn carries the parameters of
// a SYN or SYN+ACK. Called with mu held.
func (c *Controller) emit(flags, seq uint8, payload engine.Frame, syn *Params) {
	h := Header{Flags: flags, Seq: seq}
	h.Ack = c.ackField(&h.Flags)
	if syn != nil {
		h.Params = *syn
	}
	hl := h.Len()
	n := hl + max(payload.Payload(), 0)
	out, err := c.tr.ReqFrame(n, true)
	if err != nil {
		c.stats.TxErrors++
		return
	}
	if err := c.fill(out, &h, payload, n); err != nil {
		out.Release()
		c.stats.TxErrors++
		return
	}
	c.lastTx = time.Now()
	c.queue(out)
}

// fill writes the header and payload into out and sets its payload size.
func (c *Controller) fill(out engine.Frame, h *Header, payload engine.Frame, n int) error {
	if mem, err := out.Memory(); err == nil && len(mem) >= n {
		h.Encode(mem)
		if payload.Valid() {
			if _, err := payload.ReadAt(mem[h.Len():n], 0); err != nil {
				return err
			}
		}
		return out.SetPayload(n)
	}
	hl, _ := h.Encode(c.scratch)
	if _, err := out.WriteAt(c.scratch[:hl], 0); err != nil {
		return err
	}
	if payload.Valid() && n > hl {
		return copyFrame(out, payload, hl)
	}
	return nil
}

// copyFrame copies src's payload into dst at off through a stack buffer.
func copyFrame(dst, src engine.Frame, off int) error {
	var buf [512]byte
	for pos := 0; pos < src.Payload(); {
		k, _ := src.ReadAt(buf[:min(len(buf), src.Payload()-pos)], int64(pos))
		if k == 0 {
			return io.ErrUnexpectedEOF // src shrank: the loop would not advance
		}
		if _, err := dst.WriteAt(buf[:k], int64(off+pos)); err != nil {
			return err
		}
		pos += k
	}
	return nil
}

// ackField is the acknowledge a segment sent now carries: what the
// application has taken, or, while the queue towards it is at the BUSY
// threshold, BUSY and the acknowledge sent last (Rogue's rule).
func (c *Controller) ackField(flags *uint8) uint8 {
	if len(c.rxq) >= c.opts.BusyThreshold {
		*flags |= FlagBusy
		c.stats.BusyTx++
		return c.lastAckTx
	}
	c.lastAckTx = c.delivered
	return c.delivered
}

// sendAck sends an ACK-only segment: it carries the next sequence without
// consuming it.
func (c *Controller) sendAck() { c.emit(FlagAck, c.nextSeq, engine.Frame{}, nil) }

// sendRST sends a reset; it consumes a sequence.
func (c *Controller) sendRST() {
	c.emit(FlagRst, c.nextSeq, engine.Frame{}, nil)
	c.nextSeq++
}

// sendNul sends a keep-alive, which is retransmitted like data.
func (c *Controller) sendNul(now time.Time) {
	seq := c.nextSeq
	c.nextSeq++
	c.ring[seq] = txEntry{sent: now, count: 1, nul: true}
	c.outstand++
	c.emit(FlagAck|FlagNul, seq, engine.Frame{}, nil)
}

// sendSyn sends the client's connection request with its parameters; each
// attempt consumes a sequence.
func (c *Controller) sendSyn(now time.Time) {
	p := c.opts.params()
	seq := c.nextSeq
	c.nextSeq++
	c.base = c.nextSeq
	if c.st == StateClosed {
		c.synTries = 0
	}
	c.lastSyn, c.synTries = seq, c.synTries+1
	c.st, c.synAt = StateWaitSyn, now
	c.emit(FlagSyn, seq, engine.Frame{}, &p)
}

// retransmit sends again every unacknowledged segment whose timer ran
// out, and takes the link down when one has been sent MaxRetran times. A
// BUSY peer gets nothing (Rogue's rule); as a busy peer still sends an
// ACK every cumulative ack timeout, one silent for twice the null timeout
// (a margin for a burst of loss, like the retransmissions' span) is gone
// and the link goes down. Called with mu held.
func (c *Controller) retransmit(now time.Time) {
	if c.peerBusy {
		if now.Sub(c.busyRxAt) >= 2*c.lk.null {
			c.goDown(false)
		}
		return
	}
	for i := 0; i < c.outstand; i++ {
		seq := c.base + uint8(i)
		e := &c.ring[seq]
		if now.Sub(e.sent) < c.rto(e.count) {
			continue
		}
		if e.count >= c.lk.maxRetr {
			c.goDown(false)
			return
		}
		e.count++
		e.sent = now
		c.stats.Retransmits++
		flags := FlagAck
		if e.nul {
			flags |= FlagNul
		}
		c.emit(flags, seq, e.f, nil)
	}
}

// rto is the wait before the next transmission of a segment sent count
// times: the negotiated timeout doubled per retransmission up to 8 times
// it. Rogue keeps it fixed, so that MaxRetran sends span only 15 x 20 ms,
// shorter than the peer's keep-alive period that carries a lost ACK again.
func (c *Controller) rto(count int) time.Duration {
	if c.opts.rogueQuirks {
		return c.lk.retran
	}
	return c.lk.retran << min(max(count-1, 0), 3)
}
