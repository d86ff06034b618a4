package zmq

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// NewTcpClient is Rogue's rogue.interfaces.stream.TcpClient(addr, port): it
// connects a PUSH socket to addr:port, where the server receives, and a
// PULL socket to addr:port+1, where the server sends. It does not fail for
// a missing server: each connection is retried every reconnect interval
// (WithReconnectInterval) until it is made, and again whenever it is lost.
func NewTcpClient(addr string, port int, opts ...Option) (*Bridge, error) {
	if port <= 0 || port > 65534 {
		return nil, fmt.Errorf("zmq: client port %d, want 1..65534 (it uses port and port+1)", port)
	}
	if addr == "" {
		return nil, fmt.Errorf("zmq: client needs a server address")
	}
	b, err := newBridge(fmt.Sprintf("%s.Client.%d", addr, port), port, opts)
	if err != nil {
		return nil, err
	}
	push := net.JoinHostPort(addr, strconv.Itoa(port))
	pull := net.JoinHostPort(addr, strconv.Itoa(port+1))
	b.goTracked(func() { b.dialLoop(push, true) })
	b.goTracked(func() { b.dialLoop(pull, false) })
	return b, nil
}

// dialLoop keeps one connection to target up until Close.
func (b *Bridge) dialLoop(target string, push bool) {
	d := net.Dialer{Timeout: handshakeTimeout}
	for !b.life.Closed() {
		if nc, err := d.DialContext(b.life.Context(), "tcp", target); err == nil {
			if c, ok := b.track(nc, push); ok {
				b.serve(c)
			}
		}
		t := time.NewTimer(b.cfg.reconnect)
		select {
		case <-t.C:
		case <-b.life.Done():
			t.Stop()
			return
		}
	}
}
