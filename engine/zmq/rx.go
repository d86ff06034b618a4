package zmq

import (
	"errors"
	"fmt"
	"net"
	"time"

	"udpstream.dev/engine"
)

// message is what is known of a message while its parts arrive.
type message struct {
	meta  [4]byte   // flags (2, little-endian), channel, error
	sizes [5]uint64 // sizes of the first parts, for the log
	parts int       // data parts seen
	bad   bool      // parts 0..2 not of 2, 1, 1 bytes
	frame engine.Frame
	vec   [][]byte // payload buffers of frame
}

// metaSize is the size parts 0, 1 and 2 must have.
var metaSize = [3]int{2, 1, 1}

// metaOff is where part i goes in message.meta.
var metaOff = [3]int{0, 2, 3}

// serveRx reads messages from a PULL connection until it fails, handing
// each well-formed one to the slaves as a frame.
func (b *Bridge) serveRx(c *conn) error {
	m := &message{vec: make([][]byte, 0, 8)}
	for {
		if err := b.rxMessage(c, m); err != nil {
			return err
		}
	}
}

// rxMessage reads one message, part by part. Commands between parts are
// served; the payload goes straight into a pool frame.
func (b *Bridge) rxMessage(c *conn, m *message) error {
	m.parts, m.bad = 0, false
	defer m.drop()
	for {
		flags, size, err := c.rd.header()
		if err != nil {
			return err
		}
		if flags&flagCommand != 0 {
			if err := b.rxCommand(c, size); err != nil {
				return err
			}
			continue
		}
		more := flags&flagMore != 0
		if err := b.rxPart(c, m, size, more); err != nil {
			return err
		}
		m.parts++
		if !more {
			break
		}
	}
	b.rxDone(m)
	return nil
}

// rxPart consumes one data part of size bytes.
func (b *Bridge) rxPart(c *conn, m *message, size uint64, more bool) error {
	i := m.parts
	if i < len(m.sizes) {
		m.sizes[i] = size
	}
	switch {
	case i < 3 && !m.bad && size == uint64(metaSize[i]):
		p, err := c.rd.next(int(size))
		if err != nil {
			return unexpected(err)
		}
		copy(m.meta[metaOff[i]:], p)
		return nil
	case i < 3:
		m.bad = true
	case i == 3 && !more && !m.bad:
		return b.rxPayload(c, m, size)
	}
	return c.rd.skip(size)
}

// rxPayload reads the last part of a well-formed message into a frame,
// or skips it when it is too large or no frame can be had.
func (b *Bridge) rxPayload(c *conn, m *message, size uint64) error {
	if size > uint64(b.cfg.maxPayload) {
		b.st.rxOversize.Add(1)
		if b.log.allow(logOversize) {
			b.logger().Warn("dropping a message whose payload exceeds the maximum", "bytes", size, "max", b.cfg.maxPayload)
		}
		return c.rd.skip(size)
	}
	f, err := b.cfg.pool.AcceptReq(int(size), false)
	if err == nil {
		err = f.SetPayload(int(size))
		if err != nil {
			f.Release()
		}
	}
	if err != nil {
		b.st.rxPoolExhausted.Add(1)
		if b.log.allow(logPool) {
			b.logger().Warn("dropping a message: no frame from the receive pool", "bytes", size, "error", err)
		}
		return c.rd.skip(size)
	}
	m.frame = f
	m.vec, _ = f.AppendBuffers(m.vec[:0])
	for _, p := range m.vec {
		if err := c.rd.readInto(p); err != nil {
			return err
		}
	}
	return nil
}

// rxDone delivers a complete message, or counts and logs it as malformed.
func (b *Bridge) rxDone(m *message) {
	if m.parts != 4 || m.bad || !m.frame.Valid() {
		if m.parts == 4 && !m.bad {
			return // oversize or no frame: already counted
		}
		b.st.rxMalformed.Add(1)
		if b.log.allow(logMalformed) {
			n := min(m.parts, len(m.sizes))
			b.logger().Warn("dropping a malformed message: want 4 parts of 2, 1, 1 and N bytes",
				"parts", m.parts, "first_sizes", fmt.Sprint(m.sizes[:n]))
		}
		return
	}
	f := m.frame
	f.SetFlags(uint16(m.meta[0]) | uint16(m.meta[1])<<8)
	f.SetChannel(m.meta[2])
	f.SetError(m.meta[3])
	size := uint64(f.Payload())
	// Counted before the slaves see the frame, so that a slave reading
	// Stats finds it counted; taken back if it is not delivered (Close).
	b.st.rxFrames.Add(1)
	b.st.rxBytes.Add(size)
	b.rxMu.Lock()
	err := b.SendFrame(f)
	b.rxMu.Unlock()
	if err != nil {
		b.st.rxFrames.Add(^uint64(0))
		b.st.rxBytes.Add(-size)
	}
}

// drop releases a frame the message still holds.
func (m *message) drop() {
	if m.frame.Valid() {
		m.frame.Release()
	}
	m.frame = engine.Frame{}
}

// rxCommand serves a command frame: PING gets its PONG; other commands
// are ignored.
func (b *Bridge) rxCommand(c *conn, size uint64) error {
	if size > maxCommandSize {
		return errBadCommand
	}
	body, err := c.rd.next(int(size))
	if err != nil {
		return unexpected(err)
	}
	name, data, err := command(body)
	if err != nil || name != "PING" {
		return err
	}
	if len(data) < 2 {
		return errBadCommand
	}
	return b.pong(c, data[2:])
}

// pong answers a PING with its context. On a connection frames are sent
// on, the write waits its turn under sendMu; a PULL connection has no
// other writer.
func (b *Bridge) pong(c *conn, ctx []byte) error {
	if len(ctx) > 16 {
		ctx = ctx[:16]
	}
	var out [2 + 5 + 16]byte
	body := append(append(out[2:2], 4), "PONG"...)
	body = append(body, ctx...)
	putHeader(out[:], flagCommand, len(body))
	if c.push {
		b.sendMu.Lock()
		defer b.sendMu.Unlock()
	}
	c.nc.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	defer c.nc.SetWriteDeadline(time.Time{})
	_, err := c.nc.Write(out[:2+len(body)])
	return err
}

// isClosing reports whether err is the end of a connection rather than a
// fault worth a warning.
func isClosing(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
