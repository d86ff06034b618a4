package rssi

import (
	"time"

	"udpstream.dev/engine"
)

// A handshake slower than the client's SYN retry period leaves SYNs and
// SYN+ACKs in flight after the link opened, and each client SYN takes a
// new sequence (Rogue's numbering). The functions here let both ends
// agree on the last of them without losing what either sent; the reasons
// are in docs/rssi.md ("Departures").

// rxSynOpen takes a client's SYN on the open link, server side, and
// reports whether it belongs to the handshake that opened it. A copy of
// the SYN adopted, or an older retry overtaken by it, is dropped. A later
// retry arriving while nothing has been received in order since the
// adopted SYN (the client had not yet heard our SYN+ACK, or lost it) is
// adopted instead: the receive sequence moves past it, and, unless the
// client has acknowledged our SYN+ACK, it is answered with the same
// SYN+ACK again, so the link's data is kept both ways. (Rogue's client
// takes a SYN+ACK's sequence even when open, so a needless copy could
// rewind it.)
func (c *Controller) rxSynOpen(h *Header) bool {
	ahead := int(int8(h.Seq - c.peerSyn))
	switch {
	case ahead <= 0 && -ahead <= c.lk.window:
		c.stats.Drops++
		c.stats.Duplicates++
		return true
	case ahead > 0 && ahead <= c.lk.window && c.nextRx == c.peerSyn+1:
		c.stats.SynRetries++
		if !c.synAcked {
			p := c.lk.p
			c.emit(FlagSyn|FlagAck, c.synAck, engine.Frame{}, &p)
		}
		c.skipTo(h.Seq)
		return true
	}
	return false
}

// noteSynAcked records, server side, that the client acknowledged our
// SYN+ACK (an acknowledge from it up to the last sequence sent): the
// client is open, and a SYN retry still on its way needs no answer.
func (c *Controller) noteSynAcked(a uint8) {
	if c.server && !c.synAcked {
		c.synAcked = a-c.synAck < c.nextSeq-c.synAck
	}
}

// rxSynAckOpen takes a SYN+ACK on the open link, client side. A copy is
// answered with an ACK (ours may be lost). A later one, while nothing has
// been received in order since the SYN+ACK adopted, is adopted as
// Rogue's client does (a server that answers each SYN retry with a new
// SYN+ACK), keeping what this end sent.
func (c *Controller) rxSynAckOpen(h *Header) {
	ahead := int(int8(h.Seq - c.peerSyn))
	if ahead > 0 && ahead <= c.lk.window && c.nextRx == c.peerSyn+1 {
		c.delivered = h.Seq
		c.skipTo(h.Seq)
		c.stats.SynRetries++
	} else {
		c.stats.Drops++
		c.stats.Duplicates++
	}
	c.sendAck()
}

// skipTo makes seq, a SYN or SYN+ACK of the peer, the last sequence
// received: anything held at or before it is dropped, what it makes in
// order is queued.
func (c *Controller) skipTo(seq uint8) {
	for s := c.nextRx; s != seq+1; s++ {
		c.unhold(s)
	}
	c.nextRx, c.peerSyn = seq+1, seq
	c.drainHeld()
}

// resendSyn sends the client's last SYN again when the server answers
// with an ACK that takes nothing while none of this link's segments is
// acknowledged, and the handshake took several SYNs: the server may have
// adopted an earlier one and be holding our segments behind the sequence
// of the last (lost, or still on its way). Our server takes it as a retry
// (rxSynOpen) or drops it as a copy. A Rogue server sends no such ACK.
// At most one per retransmission timeout.
func (c *Controller) resendSyn() {
	if c.server || c.opts.rogueQuirks || c.synTries < 2 || c.outstand == 0 || c.base != c.lastSyn+1 {
		return
	}
	now := time.Now()
	if now.Sub(c.synAt) < c.lk.retran {
		return
	}
	c.synAt = now
	c.stats.SynRetries++
	p := c.opts.params()
	c.emit(FlagSyn, c.lastSyn, engine.Frame{}, &p)
}
