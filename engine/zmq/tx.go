package zmq

import (
	"errors"
	"os"
	"time"

	"udpstream.dev/engine"
)

// Send writes f to a peer as one 4-part message (flags, channel, error,
// payload) in one system call when the socket has room. It waits for a
// peer, or for room, as WithSendTimeout says, and counts every frame it
// drops in Stats. The caller keeps its reference to f.
func (b *Bridge) Send(f engine.Frame) error {
	if b.life.Closed() {
		b.st.txErrors.Add(1)
		return engine.ErrClosed
	}
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	size, err := b.tx.build(f)
	if err != nil {
		b.st.txErrors.Add(1)
		return err
	}
	var deadline time.Time // set when the first wait begins
	for {
		c, err := b.pickPeer(&deadline)
		if err != nil {
			return err
		}
		retry, err := b.writeMessage(c, &deadline)
		if retry {
			continue // the peer went away before a byte of this frame left
		}
		if err != nil {
			return err
		}
		b.st.txFrames.Add(1)
		b.st.txBytes.Add(uint64(size))
		return nil
	}
}

// pickPeer returns the next peer in turn, waiting for one to connect as
// the send timeout allows. A drop is counted here.
func (b *Bridge) pickPeer(deadline *time.Time) (*conn, error) {
	for {
		set := b.peers.Load()
		if n := len(set.conns); n > 0 {
			b.rr++
			return set.conns[b.rr%n], nil
		}
		if b.life.Closed() {
			b.st.txErrors.Add(1)
			return nil, engine.ErrClosed
		}
		if b.cfg.sendTimeout == 0 {
			b.st.txNoPeer.Add(1)
			return nil, ErrNoPeer
		}
		if err := b.waitPeer(set, deadline); err != nil {
			return nil, err
		}
	}
}

// waitPeer waits for the peer set to change, for the deadline or for Close.
func (b *Bridge) waitPeer(set *peerSet, deadline *time.Time) error {
	var expire <-chan time.Time
	if b.cfg.sendTimeout > 0 {
		if deadline.IsZero() {
			*deadline = time.Now().Add(b.cfg.sendTimeout)
		}
		t := time.NewTimer(time.Until(*deadline))
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-set.changed:
		return nil
	case <-expire:
		b.st.txNoPeer.Add(1)
		return ErrNoPeer
	case <-b.life.Done():
		b.st.txErrors.Add(1)
		return engine.ErrClosed
	}
}

// writeMessage writes the built message to c. retry is true when c failed
// before any byte was written: the frame is intact and may go to another
// peer. Drops are counted here.
func (b *Bridge) writeMessage(c *conn, deadline *time.Time) (retry bool, err error) {
	t := &b.tx
	t.start(false)
	werr := t.writeTo(c)
	if werr == nil && t.err == nil && !t.blocked {
		return false, nil
	}
	if werr == nil && t.err == nil {
		if t.sent == 0 && b.cfg.sendTimeout == 0 {
			b.st.txTimeouts.Add(1)
			return false, ErrSendTimeout
		}
		werr = b.waitWrite(c, deadline)
	}
	if werr == nil {
		werr = t.err
	}
	if werr == nil {
		return false, nil
	}
	return b.writeFailed(c, werr)
}

// waitWrite finishes a message the socket had no room for, waiting for
// room until the deadline.
func (b *Bridge) waitWrite(c *conn, deadline *time.Time) error {
	t := &b.tx
	switch {
	case b.cfg.sendTimeout > 0 && deadline.IsZero():
		*deadline = time.Now().Add(b.cfg.sendTimeout)
	case b.cfg.sendTimeout == 0:
		*deadline = time.Now().Add(stallTimeout)
	}
	if !deadline.IsZero() {
		c.nc.SetWriteDeadline(*deadline)
		defer c.nc.SetWriteDeadline(time.Time{})
	}
	t.mayWait = true
	return t.writeTo(c)
}

// writeFailed sorts out a failed write. A timeout before the first byte
// leaves the connection usable; anything else breaks the ZMTP stream, so
// the connection is dropped (a client reconnects).
func (b *Bridge) writeFailed(c *conn, err error) (retry bool, _ error) {
	sent := b.tx.sent
	timedOut := errors.Is(err, os.ErrDeadlineExceeded)
	if timedOut && sent == 0 {
		b.st.txTimeouts.Add(1)
		return false, ErrSendTimeout
	}
	b.removePeer(c)
	if sent == 0 && !b.life.Closed() {
		return true, nil
	}
	if b.log.allow(logSend) {
		b.logger().Warn("dropping connection: a frame was cut off while being sent", "peer", c.nc.RemoteAddr().String(), "error", err)
	}
	if timedOut {
		b.st.txTimeouts.Add(1)
		return false, ErrSendTimeout
	}
	b.st.txErrors.Add(1)
	if b.life.Closed() {
		return false, engine.ErrClosed
	}
	return false, ErrPeerLost
}

// appendMessage appends f to bufs as the 4-part message: the three
// metadata parts and the payload's frame header laid out in hdr, then the
// frame's buffers, not copied. It returns the payload size.
func appendMessage(hdr *[32]byte, bufs [][]byte, f engine.Frame) ([][]byte, int, error) {
	if !f.Valid() {
		return bufs, 0, engine.ErrReleased
	}
	flags, size := f.Flags(), f.Payload()
	h := append(hdr[:0],
		flagMore, 2, byte(flags), byte(flags>>8),
		flagMore, 1, f.Channel(),
		flagMore, 1, f.Error())
	h = h[:len(h)+putHeader(h[len(h):cap(h)], 0, size)]
	bufs, err := f.AppendBuffers(append(bufs, h))
	if err != nil {
		return bufs, 0, err
	}
	return bufs, size, nil
}
