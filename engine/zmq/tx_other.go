//go:build !linux

package zmq

import (
	"net"
	"time"

	"udpstream.dev/engine"
)

// txState holds the message being sent. Off Linux it is written with
// net.Buffers (writev where the platform has it), which cannot try a write
// without waiting: a write waits for room up to the send timeout, or up to
// a second when the timeout is 0.
type txState struct {
	hdr  [32]byte
	bufs [][]byte
	out  net.Buffers

	firstWait time.Duration // deadline of the first attempt; < 0: none
	sent      int
	mayWait   bool
	blocked   bool
	err       error
}

func (t *txState) init(c config) {
	t.bufs = make([][]byte, 0, 8)
	t.firstWait = c.sendTimeout
	if t.firstWait == 0 {
		t.firstWait = stallTimeout
	}
}

// build lays out f as the 4-part message and returns its payload size.
func (t *txState) build(f engine.Frame) (int, error) {
	bufs, size, err := appendMessage(&t.hdr, t.bufs[:0], f)
	t.bufs = bufs
	return size, err
}

func (t *txState) start(mayWait bool) {
	t.out = append(t.out[:0], t.bufs...)
	t.sent, t.mayWait, t.blocked, t.err = 0, mayWait, false, nil
}

// writeTo writes the rest of the message to c, waiting for room up to the
// deadline (the first attempt sets its own).
func (t *txState) writeTo(c *conn) error {
	if !t.mayWait && t.firstWait >= 0 {
		c.nc.SetWriteDeadline(time.Now().Add(t.firstWait))
		defer c.nc.SetWriteDeadline(time.Time{})
	}
	n, err := t.out.WriteTo(c.nc)
	t.sent += int(n)
	return err
}
