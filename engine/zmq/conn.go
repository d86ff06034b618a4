package zmq

import (
	"errors"
	"io"
	"net"
)

var errDataOnPush = errors.New("zmq: a PULL peer sent a message")

// serve runs one connection of either direction after it is tracked: the
// handshake, then receiving (PULL) or standing by as a destination while
// reading the peer's commands (PUSH). It returns when the connection ends.
func (b *Bridge) serve(c *conn) {
	defer b.untrack(c)
	local, remote := "PULL", "PUSH"
	if c.push {
		local, remote = "PUSH", "PULL"
	}
	peer := c.nc.RemoteAddr().String()
	if err := handshake(c.nc, local, remote, handshakeTimeout, c.rd); err != nil {
		if !b.life.Closed() {
			b.st.handshake.Add(1)
			if b.log.allow(logHandshake) {
				b.logger().Warn("refusing a connection", "peer", peer, "socket", local, "error", err)
			}
		}
		return
	}
	b.st.connects.Add(1)
	var err error
	if c.push {
		b.addPeer(c)
		err = b.serveCommands(c)
		b.removePeer(c)
	} else {
		err = b.serveRx(c)
	}
	b.st.disconnects.Add(1)
	b.connEnded(c, peer, local, err)
}

// connEnded counts and logs why a connection ended.
func (b *Bridge) connEnded(c *conn, peer, local string, err error) {
	if b.life.Closed() || isClosing(err) {
		return
	}
	if errors.Is(err, errReservedFlags) || errors.Is(err, errBadCommand) || errors.Is(err, errDataOnPush) {
		b.st.protocol.Add(1)
	}
	if b.log.allow(logConn) {
		if errors.Is(err, io.EOF) {
			err = errors.New("peer closed the connection")
		}
		b.logger().Warn("connection ended", "peer", peer, "socket", local, "error", err)
	}
}

// serveCommands reads a PUSH connection, where a PULL peer sends only
// commands, until it fails: that is how a lost peer is noticed.
func (b *Bridge) serveCommands(c *conn) error {
	for {
		flags, size, err := c.rd.header()
		if err != nil {
			return err
		}
		if flags&flagCommand == 0 {
			return errDataOnPush
		}
		if err := b.rxCommand(c, size); err != nil {
			return err
		}
	}
}

// acceptLoop serves every connection made to l until l is closed.
func (b *Bridge) acceptLoop(l net.Listener, push bool) {
	for {
		nc, err := l.Accept()
		if err != nil {
			if b.life.Closed() || errors.Is(err, net.ErrClosed) {
				return
			}
			if b.log.allow(logConn) {
				b.logger().Warn("accept failed", "error", err)
			}
			continue
		}
		c, ok := b.track(nc, push)
		if !ok {
			continue
		}
		b.goTracked(func() { b.serve(c) })
	}
}
