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
	"sync/atomic"
	"syscall"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
	"udpstream.dev/ring"
)

// udpSocket is one UDP socket of an endpoint and the state of the receive
// goroutine that serves it.
type udpSocket struct {
	uc *net.UDPConn
	mc *mmsg.Conn

	rx  rxCounters
	rxq *ring.SPSC[engine.Frame] // WithRxQueue: receive goroutine -> consumer
}

// endpoint is what Server and Client share: sockets, receive goroutines,
// the transmit path, counters and shutdown.
type endpoint struct {
	cfg        endpointConfig
	master     *engine.Master
	slave      engine.BaseSlave // counters and debug dump of AcceptFrame
	client     bool
	maxPayload int
	mtu        int
	remote     netip.AddrPort // client: the server (the socket is connected)

	socks   []*udpSocket
	txPool  *engine.Pool // MaxPayload buffers lent by AcceptReq and ReqFrame (AF_XDP: the UMEM)
	rxPool  *engine.Pool // MaxPayload buffers for the batch and one-per-call paths
	groPool *engine.Pool // 64 KiB buffers for GRO receives
	allow   *allowList
	peer    peerTracker
	log     *rateLog
	timeout atomic.Int64 // transmit wait in nanoseconds

	rxBufShort bool // the default receive buffer fell short (logged once)

	txMu    sync.Mutex // one transmitter on the socket at a time
	tx      txCounters
	txs     txState // guarded by txMu
	txq     *ring.MPMC[engine.Frame]
	closeBy atomic.Int64 // unix ns: waits end by then once Close started

	tp transport // socketPath, or xdpPath for TransportXDP

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	rxWG      sync.WaitGroup
	consWG    sync.WaitGroup
	txWG      sync.WaitGroup
}

// txBufferBytes is the send buffer every socket asks for (beyond
// net.core.wmem_max where the process may), as the C reference sender does.
const txBufferBytes = 16 << 20

// groSlots caps the 64 KiB buffers posted per GRO receive call, as the C
// reference receiver does: more only adds memory, not speed.
const groSlots = 64

// newEndpoint checks the options and builds the pools; the caller opens
// the sockets and calls start.
func newEndpoint(m *engine.Master, jumbo, client bool, opts []Option) (*endpoint, error) {
	if !udpSupported {
		return nil, fmt.Errorf("udp: the UDP server and client need Linux")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(client); err != nil {
		return nil, err
	}
	e := &endpoint{cfg: cfg, master: m, client: client, log: newRateLog(cfg.logger)}
	e.slave.SetLogger(cfg.logger)
	e.tp = socketPath{e} // TransportXDP replaces it when it opens
	e.maxPayload = MaxPayloadStandard
	if jumbo {
		e.maxPayload = MaxPayloadJumbo
	}
	e.mtu = e.maxPayload + udpIPOverhead
	e.timeout.Store(int64(DefaultTimeout))
	e.allow = newAllowList(cfg.allowed)
	var err error
	if e.rxPool, err = engine.NewFixedPool(e.maxPayload, cfg.poolSize, 0); err != nil {
		return nil, err
	}
	if err = e.rxPool.SetAllocLimit(cfg.poolSize); err != nil {
		return nil, err
	}
	if cfg.transport == TransportGRO {
		// A frame cut from a GRO buffer pins the whole buffer, so the
		// limit counts buffers as the plain pool counts frames: slaves
		// may hold as many frames before datagrams are dropped. The
		// memory is carved only as it is needed; in steady state (frames
		// released promptly) a few receive batches of buffers are used.
		n := max(cfg.poolSize, 2*groSlots*cfg.queues)
		if e.groPool, err = engine.NewFixedPool(mmsg.GROBufferSize, n, 0); err != nil {
			return nil, err
		}
		if err = e.groPool.SetAllocLimit(n); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// open starts the transport, a server's bound to port, a client's aimed
// at remote, and makes the transmit pool: the UMEM for TransportXDP, else
// MaxPayload buffers.
func (e *endpoint) open(port int, remote netip.AddrPort) error {
	var err error
	if e.cfg.transport == TransportXDP {
		e.txPool, err = e.openXDP(port, remote)
		return err
	}
	if e.client {
		err = e.dial(remote)
	} else {
		err = e.listen(port)
	}
	if err != nil {
		return err
	}
	if e.txPool, err = engine.NewFixedPool(e.maxPayload, e.cfg.poolSize, 0); err != nil {
		e.closeSockets()
		return err
	}
	if err := e.start(); err != nil {
		e.closeSockets()
		return err
	}
	return nil
}

// addSocket wraps an opened socket for batched I/O and the options every
// socket gets.
func (e *endpoint) addSocket(uc *net.UDPConn) error {
	mc, err := mmsg.NewConn(uc, e.cfg.batch)
	if err != nil {
		return fmt.Errorf("udp: socket: %w", err)
	}
	s := &udpSocket{uc: uc, mc: mc}
	// A batch (64 GSO messages of 64 KiB) must fit the send buffer, or
	// the sender waits on the netpoller in the middle of every batch;
	// the system default (about 208 KiB) is far too small for that. The
	// memory is only charged while datagrams are in flight.
	if _, err := mc.SetWriteBuffer(txBufferBytes); err != nil {
		e.log.l.Warn("udp: could not enlarge the send buffer", "bytes", txBufferBytes, "err", err)
	}
	e.setDefaultRxBuffer(s, len(e.socks))
	if e.cfg.transport == TransportGRO {
		if err := mc.EnableGRO(); err != nil {
			e.log.l.Warn("udp: kernel refused UDP GRO; receiving datagram by datagram", "err", err)
		}
	}
	if e.cfg.rxQueue > 0 {
		q, err := ring.NewSPSC[engine.Frame](ceilPow2(max(e.cfg.rxQueue, 2)))
		if err != nil {
			return fmt.Errorf("udp: receive queue: %w", err)
		}
		s.rxq = q
	}
	e.socks = append(e.socks, s)
	return nil
}

// start launches the goroutines once every socket is open.
func (e *endpoint) start() error {
	tx := e.socks[0]
	e.txs.init(e, tx)
	if err := e.startTxQueue(); err != nil {
		return err
	}
	for _, s := range e.socks {
		e.rxWG.Add(1)
		go e.rxLoop(s)
		if s.rxq != nil {
			e.consWG.Add(1)
			go e.consume(s)
		}
	}
	return nil
}

// startTxQueue makes the transmit queue of WithTxQueue and starts the
// goroutine that drains it.
func (e *endpoint) startTxQueue() error {
	if e.cfg.txQueue == 0 {
		return nil
	}
	q, err := ring.NewMPMC[engine.Frame](ceilPow2(max(e.cfg.txQueue, 2)))
	if err != nil {
		return fmt.Errorf("udp: transmit queue: %w", err)
	}
	e.txq = q
	e.txWG.Add(1)
	go e.txLoop()
	return nil
}

// closeSockets releases the sockets of an endpoint that failed to start.
func (e *endpoint) closeSockets() {
	for _, s := range e.socks {
		s.uc.Close()
	}
}

// listen opens the server's sockets: one, or cfg.queues sharing the port
// with SO_REUSEPORT. Port 0 lets the kernel choose; the other queues then
// join the port the first one got.
func (e *endpoint) listen(port int) error {
	if port < 0 || port > math.MaxUint16 {
		return fmt.Errorf("udp: port %d outside 0..65535", port)
	}
	reuse := e.cfg.queues > 1
	for i := range e.cfg.queues {
		uc, err := listenUDP(e.cfg.bind, port, reuse, e.cfg.busyPoll)
		if err != nil {
			e.closeSockets()
			return err
		}
		if err := e.addSocket(uc); err != nil {
			uc.Close()
			e.closeSockets()
			return err
		}
		if i == 0 {
			port = int(e.localAddr().Port())
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

// dial opens the client's socket, connected to the server so the kernel
// filters other senders and reports ICMP errors (ECONNREFUSED).
func (e *endpoint) dial(remote netip.AddrPort) error {
	d := net.Dialer{Control: socketControl(false, e.cfg.busyPoll)}
	if e.cfg.bind.IsValid() {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.cfg.bind, 0))
	}
	network := "udp6"
	if remote.Addr().Unmap().Is4() {
		network = "udp4"
		remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	}
	c, err := d.DialContext(context.Background(), network, remote.String())
	if err != nil {
		return fmt.Errorf("udp: cannot open a UDP socket to %v: %w", remote, err)
	}
	uc := c.(*net.UDPConn)
	if err := e.addSocket(uc); err != nil {
		uc.Close()
		return err
	}
	e.remote = remote
	return nil
}

// localAddr is the transport's bound address.
func (e *endpoint) localAddr() netip.AddrPort {
	if e.tp == nil {
		return netip.AddrPort{}
	}
	return e.tp.localAddr()
}

// setDefaultRxBuffer sizes socket i's receive buffer for a burst of
// DefaultRxBurst datagrams, and says once, through the user's logger, when
// the kernel grants less.
func (e *endpoint) setDefaultRxBuffer(s *udpSocket, i int) {
	want := DefaultRxBurst * (e.mtu + rxChargeSlack)
	got, err := s.mc.SetReadBuffer(want)
	if err != nil {
		e.log.l.Warn("udp: setting the default receive buffer failed", "socket", i, "requested", want, "err", err)
		return
	}
	if got/2 < want && !e.rxBufShort {
		e.rxBufShort = true // once per endpoint, not per socket
		e.log.l.Warn("udp: receive buffer smaller than a burst of DefaultRxBurst datagrams needs (raise net.core.rmem_max or run with CAP_NET_ADMIN)",
			"socket", i, "requested", want, "granted", got/2, "burst", DefaultRxBurst)
	}
}

// setRxBufferCount asks for n MTUs of receive buffer on every socket,
// beyond net.core.rmem_max when the process may (SO_RCVBUFFORCE). The
// kernel reports twice what it grants (the rest is its bookkeeping); the
// request is met when the granted half reaches it.
func (e *endpoint) setRxBufferCount(n int) bool { return e.tp.setRxBufferCount(n) }

// setSocketRxBuffer is setRxBufferCount for the socket path.
func (e *endpoint) setSocketRxBuffer(n int) bool {
	if n <= 0 || n > math.MaxInt32/(2*e.mtu) {
		e.log.l.Warn("udp: receive buffer count out of range", "count", n, "max", math.MaxInt32/(2*e.mtu))
		return false
	}
	want := n * e.mtu
	ok := true
	for i, s := range e.socks {
		got, err := s.mc.SetReadBuffer(want)
		if err != nil {
			e.log.l.Warn("udp: setting the receive buffer failed", "socket", i, "requested", want, "err", err)
			ok = false
			continue
		}
		if got/2 < want {
			e.log.l.Warn("udp: receive buffer smaller than requested (raise net.core.rmem_max or run with CAP_NET_ADMIN)",
				"socket", i, "requested", want, "granted", got/2, "count", n, "mtu", e.mtu)
			ok = false
		}
	}
	return ok
}

// setTimeout sets the transmit wait.
func (e *endpoint) setTimeout(usec uint32) {
	e.timeout.Store(int64(usec) * int64(time.Microsecond))
}

// stats sums the transmit counters and the transport's own.
func (e *endpoint) stats() Stats {
	st := Stats{Transport: e.cfg.transport, Batch: e.cfg.batch}
	st.addTx(&e.tx)
	return e.tp.addStats(st)
}

// close stops everything the endpoint started, in an order that loses
// nothing silently: queued transmissions are flushed (waiting at most one
// transmit timeout in all), the sockets are closed, which wakes the
// receive goroutines at once, queued received frames are delivered, and
// the master is closed. Concurrent and repeated calls wait for the first.
func (e *endpoint) close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.closeBy.Store(time.Now().Add(time.Duration(e.timeout.Load())).UnixNano())
		if e.txq != nil {
			e.txq.Close()
			e.txWG.Wait()
			// A push that raced with Close may have landed after the
			// transmit goroutine drained the ring.
			for {
				f, ok := e.txq.TryPop()
				if !ok {
					break
				}
				e.tx.errors.Add(1)
				f.Release()
			}
		}
		e.stats() // the kernel's drop counters, before the sockets go
		errs := []error{e.tp.shutdown()}
		e.rxWG.Wait()
		e.consWG.Wait()
		errs = append(errs, e.tp.finish())
		e.master.Close()
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// acceptReq serves AcceptReq and ReqFrame from the transmit pool.
func (e *endpoint) acceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	if e.closed.Load() {
		return engine.Frame{}, engine.ErrClosed
	}
	return e.txPool.AcceptReq(size, zeroCopy)
}

// rxLoop is the receive goroutine of one socket.
func (e *endpoint) rxLoop(s *udpSocket) {
	defer e.rxWG.Done()
	if s.rxq != nil {
		defer s.rxq.Close()
	}
	if e.cfg.lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	e.receive(s)
}

// consume delivers the frames of a receive queue to the slaves.
func (e *endpoint) consume(s *udpSocket) {
	defer e.consWG.Done()
	buf := make([]engine.Frame, 64)
	for {
		n, err := s.rxq.PopWait(buf)
		for i := range n {
			e.master.SendFrame(buf[i])
			buf[i].Release()
			buf[i] = engine.Frame{}
		}
		if err != nil {
			return
		}
	}
}
