package tcpbridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"udpstream.dev/engine/internal/zmtp"
)

// endpoint is what a server and a client share: the connections, the
// current sending connection, the goroutines Close waits for.
type endpoint struct {
	port      int
	onMessage func(parts [][]byte, bad bool) // called on a PULL connection's goroutine
	st        counters

	life zmtp.Life // listeners, connections, goroutines; close

	mu      sync.Mutex
	push    *sock         // the connection messages go out on, or nil
	changed chan struct{} // closed and replaced when push changes
	wait    time.Duration // how long a send waits for a connection
}

// sendWait is how long a message waits for a connection to go out on, as
// a libzmq PUSH socket with ZMQ_IMMEDIATE waits (Rogue's waits forever).
const sendWait = time.Second

func (e *endpoint) init(port int, onMessage func([][]byte, bool)) {
	e.port, e.onMessage = port, onMessage
	e.life.Init()
	e.changed = make(chan struct{})
	e.wait = sendWait
}

// goTracked runs fn on a goroutine Close waits for.
func (e *endpoint) goTracked(fn func()) { e.life.Go(fn) }

// close ends every connection and goroutine; it returns when they are
// gone.
func (e *endpoint) close() { e.life.Close(nil) }

// serve runs one connection: the handshake, then messages (PULL) or
// commands (PUSH) until it ends.
func (e *endpoint) serve(nc net.Conn, push bool) {
	s := newSock(nc, push)
	if !e.life.Track(nc) {
		return
	}
	defer e.untrack(s)
	if err := s.handshake(); err != nil {
		e.st.handshake.Add(1)
		return
	}
	e.st.connects.Add(1)
	defer e.st.disconnects.Add(1)
	if push {
		e.setPush(s)
	}
	for {
		parts, bad, err := s.readMessage()
		if err != nil {
			if !e.life.Closed() && !errors.Is(err, net.ErrClosed) && !isEOF(err) {
				e.st.protocol.Add(1)
			}
			return
		}
		if push {
			e.st.protocol.Add(1) // a PULL peer sends no messages
			return
		}
		e.onMessage(parts, bad)
	}
}

func (e *endpoint) untrack(s *sock) {
	e.life.Untrack(s.nc)
	e.mu.Lock()
	if e.push == s {
		e.setPushLocked(nil)
	}
	e.mu.Unlock()
}

// setPush makes s the sending connection (the newest wins).
func (e *endpoint) setPush(s *sock) {
	e.mu.Lock()
	e.setPushLocked(s)
	e.mu.Unlock()
}

func (e *endpoint) setPushLocked(s *sock) {
	e.push = s
	close(e.changed)
	e.changed = make(chan struct{})
}

// pushSock is the sending connection, waiting up to e.wait for one;
// nil if none came or the endpoint closed.
func (e *endpoint) pushSock() *sock {
	var timer *time.Timer
	for {
		e.mu.Lock()
		s, ch := e.push, e.changed
		e.mu.Unlock()
		if s != nil || e.life.Closed() || e.wait <= 0 {
			return s
		}
		if timer == nil {
			timer = time.NewTimer(e.wait)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil
		case <-e.life.Done():
			return nil
		}
	}
}

// send writes a message on the sending connection; a failed write drops
// that connection.
func (e *endpoint) send(parts ...[]byte) error {
	s := e.pushSock()
	if s == nil {
		e.st.txNoPeer.Add(1)
		return ErrNoPeer
	}
	if err := s.send(parts...); err != nil {
		e.st.txErrors.Add(1)
		s.nc.Close()
		return fmt.Errorf("tcpbridge: sending: %w", err)
	}
	e.st.txMessages.Add(1)
	return nil
}

// listen binds the PULL port and the PUSH port above it and serves them.
func (e *endpoint) listen(host string, port int) (int, error) {
	pull, push, port, err := listenPair(host, port)
	if err != nil {
		return 0, err
	}
	e.life.SetListeners(pull, push)
	e.goTracked(func() { e.acceptLoop(pull, false) })
	e.goTracked(func() { e.acceptLoop(push, true) })
	return port, nil
}

func (e *endpoint) acceptLoop(l net.Listener, push bool) {
	for {
		nc, err := l.Accept()
		if err != nil {
			if e.life.Closed() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		e.goTracked(func() { e.serve(nc, push) })
	}
}

// dialLoop keeps a connection to target up until Close.
func (e *endpoint) dialLoop(target string, push bool, retry time.Duration) {
	d := net.Dialer{Timeout: handshakeTimeout}
	for !e.life.Closed() {
		if nc, err := d.DialContext(e.life.Context(), "tcp", target); err == nil {
			e.serve(nc, push)
		}
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-e.life.Done():
			t.Stop()
			return
		}
	}
}

// listenPair listens on host:port and host:port+1; port 0 retries until
// the kernel's pick leaves the next port free.
func listenPair(host string, port int) (pull, push net.Listener, _ int, err error) {
	for range 50 {
		pull, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("tcpbridge: binding the request port: %w", err)
		}
		p := pull.Addr().(*net.TCPAddr).Port
		if p < 65535 {
			push, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p+1)))
			if err == nil {
				return pull, push, p, nil
			}
		}
		pull.Close()
		if port != 0 || (err != nil && !errors.Is(err, syscall.EADDRINUSE)) {
			return nil, nil, 0, fmt.Errorf("tcpbridge: binding the response port: %w", err)
		}
	}
	return nil, nil, 0, errors.New("tcpbridge: no two adjacent free ports found")
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
