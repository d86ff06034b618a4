package udp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
	"udpstream.dev/ring"
)

// udpSocket is one UDP socket of a transport and the state of the receive
// goroutine that serves it.
type udpSocket struct {
	uc *net.UDPConn
	mc *mmsg.Conn

	rx  rxCounters
	rxq *ring.SPSC[engine.Frame] // WithRxQueue: receive goroutine -> consumer
}

// socketPath is the transport over UDP sockets: one socket for a client,
// one or WithQueues sharing the port for a server. TransportNaive reads
// one datagram per call, TransportMmsg a recvmmsg batch, TransportGRO a
// batch of GRO buffers; transmits go out through the first socket.
type socketPath struct {
	cfg   endpointConfig
	rx    *rxRules // the endpoint's receive rules
	txr   *txRules // the endpoint's transmit rules
	mtu   int      // MaxPayload plus the IP and UDP headers
	naive bool     // TransportNaive: one datagram per system call
	gro   bool     // TransportGRO: GRO receive, GSO transmit

	socks   []*udpSocket
	rxPool  *engine.Pool // MaxPayload buffers for the batch and one-per-call reads
	groPool *engine.Pool // 64 KiB buffers for GRO receives
	txs     txState      // guarded by txr.txMu

	rxBufShort bool // the default receive buffer fell short (logged once)
}

// txBufferBytes is the send buffer every socket asks for (beyond
// net.core.wmem_max where the process may), as the C reference sender does.
const txBufferBytes = 16 << 20

// groSlots caps the 64 KiB buffers posted per GRO receive call, as the C
// reference receiver does: more only adds memory, not speed.
const groSlots = 64

// newSocketPath builds the receive pools of a socket path for datagrams
// of up to rx.maxPayload bytes; listen or dial then opens its sockets.
func newSocketPath(cfg endpointConfig, rx *rxRules, tx *txRules, mtu int) (*socketPath, error) {
	p := &socketPath{cfg: cfg, rx: rx, txr: tx, mtu: mtu,
		naive: cfg.transport == TransportNaive, gro: cfg.transport == TransportGRO}
	var err error
	if p.rxPool, err = engine.NewFixedPool(rx.maxPayload, cfg.poolSize, 0); err != nil {
		return nil, err
	}
	if err = p.rxPool.SetAllocLimit(cfg.poolSize); err != nil {
		return nil, err
	}
	if p.gro {
		// A frame cut from a GRO buffer pins the whole buffer, so the
		// limit counts buffers as the plain pool counts frames: slaves
		// may hold as many frames before datagrams are dropped. The
		// memory is carved only as it is needed; in steady state (frames
		// released promptly) a few receive batches of buffers are used.
		n := max(cfg.poolSize, 2*groSlots*cfg.queues)
		if p.groPool, err = engine.NewFixedPool(mmsg.GROBufferSize, n, 0); err != nil {
			return nil, err
		}
		if err = p.groPool.SetAllocLimit(n); err != nil {
			return nil, err
		}
	}
	p.txs.alloc(cfg.batch)
	return p, nil
}

// addSocket wraps an opened socket for batched I/O and the options every
// socket gets.
func (p *socketPath) addSocket(uc *net.UDPConn) error {
	mc, err := mmsg.NewConn(uc, p.cfg.batch)
	if err != nil {
		return fmt.Errorf("udp: socket: %w", err)
	}
	s := &udpSocket{uc: uc, mc: mc}
	log := p.rx.log.l
	// A batch (64 GSO messages of 64 KiB) must fit the send buffer, or
	// the sender waits on the netpoller in the middle of every batch;
	// the system default (about 208 KiB) is far too small for that. The
	// memory is only charged while datagrams are in flight.
	if _, err := mc.SetWriteBuffer(txBufferBytes); err != nil {
		log.Warn("udp: could not enlarge the send buffer", "bytes", txBufferBytes, "err", err)
	}
	p.setDefaultRxBuffer(s, len(p.socks))
	if err := p.prepareLowLatency(s); err != nil {
		return fmt.Errorf("udp: low-latency receive: %w", err)
	}
	if p.gro {
		if err := mc.EnableGRO(); err != nil {
			log.Warn("udp: kernel refused UDP GRO; receiving datagram by datagram", "err", err)
		}
	}
	if p.cfg.rxQueue > 0 {
		q, err := ring.NewSPSC[engine.Frame](ceilPow2(max(p.cfg.rxQueue, 2)))
		if err != nil {
			return fmt.Errorf("udp: receive queue: %w", err)
		}
		s.rxq = q
	}
	if len(p.socks) == 0 {
		p.txs.uc, p.txs.mc = uc, mc
	}
	p.socks = append(p.socks, s)
	return nil
}

// start launches a receive goroutine per socket, and a consumer per
// receive queue.
func (p *socketPath) start(wg *sync.WaitGroup) {
	for _, s := range p.socks {
		wg.Add(1)
		go p.rxLoop(s, wg)
		if s.rxq != nil {
			wg.Add(1)
			go p.rx.consume(s, wg)
		}
	}
}

// rxLoop is the receive goroutine of one socket.
func (p *socketPath) rxLoop(s *udpSocket, wg *sync.WaitGroup) {
	defer wg.Done()
	if s.rxq != nil {
		defer s.rxq.Close()
	}
	if p.rx.lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	p.receive(s)
}

// listen opens the server's sockets: one, or cfg.queues sharing the port
// with SO_REUSEPORT. Port 0 lets the kernel choose; the other queues then
// join the port the first one got. On failure no socket stays open.
func (p *socketPath) listen(port int) error {
	if port < 0 || port > math.MaxUint16 {
		return fmt.Errorf("udp: port %d outside 0..65535", port)
	}
	reuse := p.cfg.queues > 1
	for i := range p.cfg.queues {
		uc, err := listenUDP(p.cfg.bind, port, reuse, p.cfg.busyPoll)
		if err != nil {
			p.shutdown()
			return err
		}
		if err := p.addSocket(uc); err != nil {
			uc.Close()
			p.shutdown()
			return err
		}
		if i == 0 {
			port = int(p.localAddr().Port())
		}
	}
	return nil
}

// listenUDP binds one socket. Without a bind address it tries the
// dual-stack wildcard, then 0.0.0.0 for hosts without IPv6.
func listenUDP(bind netip.Addr, port int, reuse bool, busyPoll int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: socketControl(reuse, busyPoll)}
	open := func(network string, a netip.Addr) (*net.UDPConn, error) {
		pc, err := lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(a, uint16(port)).String())
		if err != nil {
			return nil, err
		}
		return pc.(*net.UDPConn), nil
	}
	var uc *net.UDPConn
	var err error
	switch {
	case bind.IsValid() && bind.Unmap().Is4():
		uc, err = open("udp4", bind.Unmap())
	case bind.IsValid():
		uc, err = open("udp6", bind)
	default:
		uc, err = open("udp", netip.IPv6Unspecified())
		if err != nil && !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			var err4 error
			if uc, err4 = open("udp4", netip.IPv4Unspecified()); err4 == nil {
				err = nil
			}
		}
	}
	if err != nil {
		return nil, bindError(bind, port, err)
	}
	return uc, nil
}

// bindError says in words what went wrong with a bind.
func bindError(bind netip.Addr, port int, err error) error {
	where := fmt.Sprintf("UDP port %d", port)
	if bind.IsValid() {
		where = fmt.Sprintf("UDP %v", netip.AddrPortFrom(bind, uint16(port)))
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("udp: %s is already in use (another socket is bound to it; pick another port, or 0 to let the system choose): %w", where, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("udp: no permission to bind %s (ports below 1024 need privileges): %w", where, err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("udp: cannot bind %s: the address is not one of this host's: %w", where, err)
	}
	return fmt.Errorf("udp: cannot bind %s: %w", where, err)
}

// dial opens the client's socket, connected to the server (an IPv4
// address unmapped) so the kernel filters other senders and reports ICMP
// errors (ECONNREFUSED).
func (p *socketPath) dial(remote netip.AddrPort) error {
	d := net.Dialer{Control: socketControl(false, p.cfg.busyPoll)}
	if p.cfg.bind.IsValid() {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.cfg.bind, 0))
	}
	network := "udp6"
	if remote.Addr().Is4() {
		network = "udp4"
	}
	c, err := d.DialContext(context.Background(), network, remote.String())
	if err != nil {
		return fmt.Errorf("udp: cannot open a UDP socket to %v: %w", remote, err)
	}
	uc := c.(*net.UDPConn)
	if err := p.addSocket(uc); err != nil {
		uc.Close()
		return err
	}
	return nil
}

// localAddr is the first socket's bound address.
func (p *socketPath) localAddr() netip.AddrPort {
	if len(p.socks) == 0 {
		return netip.AddrPort{}
	}
	a, ok := p.socks[0].uc.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// setDefaultRxBuffer sizes socket i's receive buffer for a burst of
// DefaultRxBurst datagrams, and says once, through the user's logger, when
// the kernel grants less.
func (p *socketPath) setDefaultRxBuffer(s *udpSocket, i int) {
	log := p.rx.log.l
	want := DefaultRxBurst * (p.mtu + rxChargeSlack)
	got, err := s.mc.SetReadBuffer(want)
	if err != nil {
		log.Warn("udp: setting the default receive buffer failed", "socket", i, "requested", want, "err", err)
		return
	}
	if got/2 < want && !p.rxBufShort {
		p.rxBufShort = true // once per endpoint, not per socket
		log.Warn("udp: receive buffer smaller than a burst of DefaultRxBurst datagrams needs (raise net.core.rmem_max or run with CAP_NET_ADMIN)",
			"socket", i, "requested", want, "granted", got/2, "burst", DefaultRxBurst)
	}
}

// setRxBufferCount asks for n MTUs of receive buffer on every socket,
// beyond net.core.rmem_max when the process may (SO_RCVBUFFORCE). The
// kernel reports twice what it grants (the rest is its bookkeeping); the
// request is met when the granted half reaches it.
func (p *socketPath) setRxBufferCount(n int) bool {
	log := p.rx.log.l
	if n <= 0 || n > math.MaxInt32/(2*p.mtu) {
		log.Warn("udp: receive buffer count out of range", "count", n, "max", math.MaxInt32/(2*p.mtu))
		return false
	}
	want := n * p.mtu
	ok := true
	for i, s := range p.socks {
		got, err := s.mc.SetReadBuffer(want)
		if err != nil {
			log.Warn("udp: setting the receive buffer failed", "socket", i, "requested", want, "err", err)
			ok = false
			continue
		}
		if got/2 < want {
			log.Warn("udp: receive buffer smaller than requested (raise net.core.rmem_max or run with CAP_NET_ADMIN)",
				"socket", i, "requested", want, "granted", got/2, "count", n, "mtu", p.mtu)
			ok = false
		}
	}
	return ok
}

// addStats adds the sockets' receive counters, the kernel's drop counts
// and receive buffer sizes, and the offload state.
func (p *socketPath) addStats(st Stats) Stats {
	for _, s := range p.socks {
		st.addRx(&s.rx)
		drops, rcvbuf := s.mc.MemInfo()
		st.KernelDroppedBuffers += drops
		st.RxBufferBytes += uint64(rcvbuf)
		st.GRO = st.GRO || s.mc.GROEnabled()
	}
	if p.gro && len(p.socks) > 0 {
		st.GSO = p.socks[0].mc.GSOEnabled()
		st.GSOFallback = !st.GSO
	}
	return st
}

// shutdown closes the sockets, which wakes their receive goroutines at
// once (mmsg.Conn.Close also wakes one sleeping in the kernel).
func (p *socketPath) shutdown() error {
	var errs []error
	for _, s := range p.socks {
		if err := s.mc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// finish has nothing to free: the receive goroutines gave their buffers
// back as they ended.
func (p *socketPath) finish() error { return nil }
