package udp

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"udpstream.dev/engine"
)

// The rules every transport's receive side applies (rxRules). Each receive
// loop first judges a batch with verdict and publishes its counters, then
// delivers the accepted frames with accept, so that a slave that has seen
// a frame also sees it in Stats. The counters and receive queue they take
// are a udpSocket's: each socket's on the socket path, the port-holding
// socket's on the AF_XDP path.

// rxFailed handles a receive error and reports whether the loop must end.
func (r *rxRules) rxFailed(s *udpSocket, err error) bool {
	if r.closed.Load() || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, errnoConnRefused) {
		s.rx.refused.Add(1)
		if r.log.allow(logConnRefused) {
			r.log.l.Warn("udp: peer port unreachable (ICMP), continuing", "peer", r.remote,
				"suppressed", r.log.takeSuppressed(logConnRefused))
		}
		return false
	}
	s.rx.errors.Add(1)
	if r.log.allow(logRxError) {
		r.log.l.Warn("udp: receive failed, continuing", "err", err, "suppressed", r.log.takeSuppressed(logRxError))
	}
	return false
}

// report logs, rate-limited, what a batch dropped.
func (r *rxRules) report(t *rxTally) {
	if t.oversize != 0 && r.log.allow(logRxOversize) {
		r.log.l.Warn("udp: dropped datagrams larger than MaxPayload", "count", t.oversize,
			"maxPayload", r.maxPayload, "suppressed", r.log.takeSuppressed(logRxOversize))
	}
	if t.rejected != 0 && r.log.allow(logRxRejected) {
		r.log.l.Warn("udp: dropped datagrams from peers not allowed", "count", t.rejected,
			"suppressed", r.log.takeSuppressed(logRxRejected))
	}
	if t.exhausted != 0 && r.log.allow(logRxExhausted) {
		r.log.l.Warn("udp: receive pool exhausted (slaves hold every buffer), dropped datagrams", "count", t.exhausted,
			"suppressed", r.log.takeSuppressed(logRxExhausted))
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
func (r *rxRules) verdict(held, truncated bool, n int, from netip.AddrPort) rxVerdict {
	switch {
	case !held:
		return rxExhausted
	case truncated || n > r.maxPayload:
		return rxOversize
	case !r.allow.admits(from):
		return rxRejected
	}
	return rxAccepted
}

// publish flushes a tally into the socket's counters, logging drops.
func (r *rxRules) publish(s *udpSocket, t *rxTally) {
	if t.oversize|t.rejected|t.exhausted != 0 {
		r.report(t)
	}
	t.flush(&s.rx)
}

// notePeer records a as the reply address of a server. It runs before
// the datagram's frame is delivered, so a slave that answers at once
// answers the right peer.
func (r *rxRules) notePeer(pc *peerCache, a netip.AddrPort) {
	if !r.client {
		r.peer.note(pc, a)
	}
}

// accept hands f to the slaves, inline or through the receive queue. The
// loop's reference to f ends here.
func (r *rxRules) accept(s *udpSocket, f engine.Frame) {
	if s.rxq != nil {
		if !s.rxq.TryPush(f) {
			f.Release()
			s.rx.ringDrops.Add(1)
			if r.log.allow(logRingDrop) {
				r.log.l.Warn("udp: receive queue full, dropping frames", "suppressed", r.log.takeSuppressed(logRingDrop))
			}
		}
		return
	}
	r.master.SendFrame(f)
	f.Release()
}

// acceptCarved hands carved frames of one group to the slaves. The loop
// holds them until it settles their group and never releases them itself,
// so they go to the slaves unchecked (see engine's Master.sendHeld), and a
// frame for the receive queue first gets a reference of its own, which the
// queue's consumer releases.
func (r *rxRules) acceptCarved(s *udpSocket, fs []engine.Frame) {
	if s.rxq == nil {
		px.SendHeld(r.master, fs)
		return
	}
	for _, f := range fs {
		if f.Retain() != nil {
			s.rx.errors.Add(1) // cannot happen to a frame just cut
			continue
		}
		r.accept(s, f)
	}
}

// consume delivers the frames of a receive queue to the slaves until the
// receive goroutine closes the queue.
func (r *rxRules) consume(s *udpSocket, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]engine.Frame, 64)
	for {
		n, err := s.rxq.PopWait(buf)
		for i := range n {
			r.master.SendFrame(buf[i])
			buf[i].Release()
			buf[i] = engine.Frame{}
		}
		if err != nil {
			return
		}
	}
}
