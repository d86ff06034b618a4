package iperf3

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ServerConfig describes a Server. The zero value serves on an
// OS-chosen port on every address.
type ServerConfig struct {
	// Bind is the address to listen on; zero means every address (IPv4
	// and IPv6).
	Bind netip.Addr
	// Port for the control connection and the data socket; 0 lets the
	// system choose.
	Port int
	// MaxClients is how many tests run at once (default 8); a client
	// beyond it gets ACCESS_DENIED, as from a busy iperf3.
	MaxClients int
	// Allow lists the client addresses served; empty serves everyone.
	// Others are closed on at once with ACCESS_DENIED.
	Allow []netip.Prefix
	// ControlTimeout bounds every control read outside the test itself
	// (cookie, parameters, results, the final IPERF_DONE) and the stream
	// handshakes (default 10 s).
	ControlTimeout time.Duration
	// NoGRO turns UDP GRO off on the data socket (on by default where the
	// kernel has it: one receive then holds a run of datagrams).
	NoGRO bool
	// RxBuffer is the data socket's receive buffer in bytes (default
	// DefaultRxBuffer; the kernel may grant less).
	RxBuffer int
	// OnReport, if set, receives each session's report when it ends. It is
	// called from the session's goroutine.
	OnReport func(*SessionReport)
	// OnInterval, if set, receives each session's interval figures (every
	// Interval, default 1 s) while its test runs.
	OnInterval func(*SessionReport, Interval)
	Interval   time.Duration
}

// Config errors match ErrConfig.
var ErrConfig = errors.New("iperf3: bad configuration")

func (c *ServerConfig) check() error {
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("%w: port %d outside 0..65535", ErrConfig, c.Port)
	case c.MaxClients < 0:
		return fmt.Errorf("%w: max clients %d is negative", ErrConfig, c.MaxClients)
	case c.ControlTimeout < 0 || c.Interval < 0 || c.RxBuffer < 0:
		return fmt.Errorf("%w: negative timeout or interval", ErrConfig)
	}
	if c.MaxClients == 0 {
		c.MaxClients = 8
	}
	if c.ControlTimeout == 0 {
		c.ControlTimeout = 10 * time.Second
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.RxBuffer == 0 {
		c.RxBuffer = DefaultRxBuffer
	}
	return nil
}

// Server serves iperf3 UDP tests on one port: a TCP control listener and
// one UDP data socket that every test's streams share, told apart by the
// client's address and port.
type Server struct {
	cfg    ServerConfig
	ln     *net.TCPListener
	sock   *dataSock
	dm     *demux
	accept chan struct{} // one session at a time in CREATE_STREAMS
	active atomic.Int64
	nextID atomic.Uint64
	denied atomic.Uint64

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// NewServer listens and starts serving.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, uc, err := listenPair(cfg.Bind, cfg.Port)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln, sessions: make(map[*session]struct{}), accept: make(chan struct{}, 1)}
	s.sock = newDataSock(uc, sendBatch, !cfg.NoGRO, cfg.RxBuffer)
	s.dm = newDemux(s.sock)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.dm.readLoop() }()
	go func() { defer s.wg.Done(); s.acceptLoop() }()
	return s, nil
}

// listenPair opens the TCP listener and the UDP socket on the same port;
// with port 0 it retries a few OS-chosen ports until UDP's is free too.
func listenPair(bind netip.Addr, port int) (*net.TCPListener, *net.UDPConn, error) {
	host := ""
	if bind.IsValid() {
		host = bind.String()
	}
	var lastErr error
	for try := 0; try < 16; try++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("iperf3: control listener: %w", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln.(*net.TCPListener), pc.(*net.UDPConn), nil
		}
		ln.Close()
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("iperf3: data socket: %w", lastErr)
}

// transport names the data path: "gro", "mmsg" or "naive".
func (s *Server) transport() string {
	switch {
	case s.sock.groOK():
		return "gro"
	case s.sock.batched():
		return "mmsg"
	}
	return "naive"
}

// Port is the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Counters returns the data socket's counters.
func (s *Server) Counters() PortCounters { return s.dm.counters() }

// Denied is how many control connections were refused (limit or allow-list).
func (s *Server) Denied() uint64 { return s.denied.Load() }

// Active is how many sessions are open.
func (s *Server) Active() int { return int(s.active.Load()) }

func (s *Server) acceptLoop() {
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if isClosed(err) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of descriptors
			continue
		}
		s.admit(c)
	}
}

// admit refuses or starts a session for one control connection.
func (s *Server) admit(c *net.TCPConn) {
	peer := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if !s.allowed(peer.Addr()) || s.active.Add(1) > int64(s.cfg.MaxClients) {
		if s.allowed(peer.Addr()) {
			s.active.Add(-1)
		}
		s.denied.Add(1)
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = WriteState(c, AccessDenied)
		c.Close()
		return
	}
	_ = c.SetNoDelay(true)
	ss := &session{srv: s, conn: c, peer: peer, id: s.nextID.Add(1), aborted: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.active.Add(-1)
		c.Close()
		return
	}
	s.sessions[ss] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		ss.run()
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		s.active.Add(-1)
	}()
}

func (s *Server) allowed(a netip.Addr) bool {
	if len(s.cfg.Allow) == 0 {
		return true
	}
	for _, p := range s.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Close stops listening, ends every session (their clients see the
// control connection close) and waits for the goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for ss := range s.sessions {
		ss.abort()
	}
	s.mu.Unlock()
	s.sock.close()
	s.wg.Wait()
	return err
}
