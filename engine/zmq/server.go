package zmq

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// NewTcpServer is Rogue's rogue.interfaces.stream.TcpServer(addr, port): it
// binds a PULL socket on addr:port, which receives the frames clients send,
// and a PUSH socket on addr:port+1, from which clients receive what is sent
// here. addr "*" or "" means every interface. Port 0 picks a free pair of
// adjacent ports (see Port). Frames sent are dealt round-robin to the
// connected clients; frames from every client are received.
func NewTcpServer(addr string, port int, opts ...Option) (*Bridge, error) {
	if port < 0 || port > 65534 {
		return nil, fmt.Errorf("zmq: server port %d, want 0..65534 (it uses port and port+1)", port)
	}
	host := addr
	if host == "*" {
		host = ""
	}
	pull, push, port, err := listenPair(host, port)
	if err != nil {
		return nil, err
	}
	b, err := newBridge(fmt.Sprintf("%s.Server.%d", addr, port), port, opts)
	if err != nil {
		pull.Close()
		push.Close()
		return nil, err
	}
	b.life.SetListeners(pull, push)
	b.goTracked(func() { b.acceptLoop(pull, false) })
	b.goTracked(func() { b.acceptLoop(push, true) })
	return b, nil
}

// pairAttempts bounds the search for two adjacent free ports.
const pairAttempts = 50

// listenPair listens on host:port and host:port+1; with port 0 it retries
// until the kernel's pick leaves the next port free.
func listenPair(host string, port int) (pull, push net.Listener, _ int, err error) {
	for range pairAttempts {
		pull, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("zmq: binding the PULL port: %w", err)
		}
		p := pull.Addr().(*net.TCPAddr).Port
		if p == 65535 {
			pull.Close()
			continue
		}
		push, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p+1)))
		if err == nil {
			return pull, push, p, nil
		}
		pull.Close()
		if port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, 0, fmt.Errorf("zmq: binding the PUSH port: %w", err)
		}
	}
	return nil, nil, 0, fmt.Errorf("zmq: no two adjacent free ports found in %d attempts", pairAttempts)
}
