//go:build linux

package udp

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
	"udpstream.dev/ring"
	"udpstream.dev/xdp"
)

// xdpPath is the AF_XDP data path of an endpoint (TransportXDP).
//
// Memory: the UMEM is the path's pool (a region pool, one buffer per 4 KiB
// chunk), which is also the endpoint's transmit pool. The receive goroutine keeps a share of the buffers on the fill ring; a
// received datagram becomes a frame over the chunk the kernel wrote it into
// (several chunks for a multi-buffer packet), with the bytes in front of the
// payload as headroom. Transmitted frames get their headers written into
// that headroom and go out from where they are; the transmit path holds a
// reference to each buffer until the kernel reports it completed.
//
// Lifetime: Close closes the socket (which detaches the program), waits for
// the goroutines, drops the references the data path holds and retires the
// pool: further allocations fail, and the UMEM is unmapped once the last
// buffer still held by a slave comes back — at once if none is held. A frame
// kept after Close therefore stays readable until it is released.
type xdpPath struct {
	cfg     endpointConfig
	rx      *rxRules // the endpoint's receive rules
	txr     *txRules // the endpoint's transmit rules
	sock    *xdp.Socket
	umem    []byte
	pool    *engine.Pool
	rings   xdpRings
	ifindex int
	mtu     int
	mac     [6]byte
	port    uint16
	local   netip.AddrPort

	// rxs carries the receive counters and queue that rxRules.accept and
	// rxRules.consume take, and the socket that holds the
	// UDP port in the kernel so no other program binds it; datagrams the
	// steering program leaves to the kernel (IPv4 fragments) land there
	// unread, and its drops count as KernelDroppedBuffers.
	rxs   *udpSocket
	rxc   xdpRxCounters
	route xdpRoute
	held  []bool // receive goroutine: chunks it keeps for the kernel

	tx       xdpTx        // guarded by txr.txMu
	txOut    atomic.Int64 // descriptors queued and not completed
	txCopies atomic.Uint64

	statsMu  sync.Mutex
	kstats   xdp.Stats // last XDP_STATISTICS read; kept after Close
	unmapped atomic.Bool
}

// xdpRxCounters are the receive counters particular to AF_XDP.
type xdpRxCounters struct {
	malformed, offloaded atomic.Uint64
	_                    cacheLinePad
}

// neighborWait bounds how long a Client waits for ARP or NDP to resolve the
// next hop at construction.
const neighborWait = 3 * time.Second

// openXDP builds the AF_XDP data path: the port-holding socket, the UMEM
// and its pool, the socket and program, and the receive queue; start
// launches its goroutines. It returns the path and its pool, which is the
// transmit pool. The interface's MTU may lower MaxPayload first.
func (e *endpoint) openXDP(port int) (transport, *engine.Pool, error) {
	x, limit, err := newXDPPath(e.cfg, e.log, port, e.maxPayload)
	if err != nil {
		return nil, nil, err
	}
	e.setMaxPayload(limit)
	x.rx, x.txr = &e.rxRules, &e.txRules
	if err := x.open(port); err != nil {
		return nil, nil, err
	}
	return x, x.pool, nil
}

// open runs the phases of opening. Each phase that succeeds adds its undo
// step; a later failure runs them in reverse.
func (x *xdpPath) open(port int) (err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	var hdr xdp.Header
	bind := x.cfg.bind.Unmap()
	if x.rx.client {
		if bind, err = x.routeTo(x.rx.remote, bind, &hdr); err != nil {
			return err
		}
	}
	if err = x.holdPort(bind, port, &hdr, &undo); err != nil {
		return err
	}
	fill, err := x.mapUMEM(&undo)
	if err != nil {
		return err
	}
	if err = x.openSocket(bind, fill, &undo); err != nil {
		return err
	}
	if x.cfg.rxQueue > 0 {
		if x.rxs.rxq, err = ring.NewSPSC[engine.Frame](ceilPow2(max(x.cfg.rxQueue, 2))); err != nil {
			return fmt.Errorf("udp: receive queue: %w", err)
		}
	}
	return nil
}

// newXDPPath checks the port and the interface, and returns with the path
// the MaxPayload the interface's MTU carries (maxPayload or less).
func newXDPPath(cfg endpointConfig, log *rateLog, port, maxPayload int) (*xdpPath, int, error) {
	if port < 0 || port > math.MaxUint16 {
		return nil, 0, fmt.Errorf("udp: port %d outside 0..65535", port)
	}
	set := cfg.xdp
	ifi, err := net.InterfaceByName(set.iface)
	if err != nil {
		return nil, 0, fmt.Errorf("udp: xdp interface %q: %w", set.iface, err)
	}
	x := &xdpPath{cfg: cfg, ifindex: ifi.Index, mtu: ifi.MTU, rings: xdpRingSizes(cfg.poolSize)}
	var ok bool
	if x.mac, ok = xdp.MAC(ifi.HardwareAddr); !ok {
		return nil, 0, fmt.Errorf("udp: xdp interface %q has no Ethernet address", set.iface)
	}
	if limit := ifi.MTU - udpIPOverhead; limit < maxPayload {
		if limit <= 0 {
			return nil, 0, fmt.Errorf("udp: xdp interface %q has an MTU of %d", set.iface, ifi.MTU)
		}
		log.l.Warn("xdp: interface MTU limits the payload", "interface", set.iface, "mtu", ifi.MTU, "maxPayload", limit)
		maxPayload = limit
	}
	return x, maxPayload, nil
}

// routeTo is a client's way to its server: the source address it sends
// from (bind, or the route's) and, in hdr, the next hop's MAC and the
// server's address.
func (x *xdpPath) routeTo(remote netip.AddrPort, bind netip.Addr, hdr *xdp.Header) (netip.Addr, error) {
	src, hop, err := routeVia(x.ifindex, x.cfg.xdp.iface, remote.Addr(), bind)
	if err != nil {
		return bind, err
	}
	mac, err := xdp.ResolveNeighbor(x.ifindex, hop, neighborWait)
	if err != nil {
		return bind, err
	}
	var ok bool
	if hdr.DstMAC, ok = xdp.MAC(mac); !ok {
		return bind, fmt.Errorf("udp: xdp: next hop %v has the non-Ethernet address %v", hop, mac)
	}
	hdr.Dst = remote
	return src, nil
}

// holdPort binds an ordinary UDP socket to the port, so that no other
// socket takes it and the kernel answers nothing there itself; a client
// then knows its source address and publishes its route.
func (x *xdpPath) holdPort(bind netip.Addr, port int, hdr *xdp.Header, undo *[]func()) error {
	hold, err := listenUDP(bind, port, false, 0)
	if err != nil {
		return err
	}
	*undo = append(*undo, func() { hold.Close() })
	mc, err := mmsg.NewConn(hold, 1) // for its kernel drop counter
	if err != nil {
		return fmt.Errorf("udp: socket: %w", err)
	}
	x.rxs = &udpSocket{uc: hold, mc: mc}
	la := hold.LocalAddr().(*net.UDPAddr).AddrPort()
	x.local = netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
	x.port = x.local.Port()
	if x.rx.client {
		hdr.SrcMAC = x.mac
		hdr.Src = netip.AddrPortFrom(bind, x.port)
		x.route.set(hdr)
	}
	return nil
}

// mapUMEM maps the UMEM, makes its pool and takes the buffers the fill
// ring starts with, whose addresses it returns.
func (x *xdpPath) mapUMEM(undo *[]func()) ([]uint64, error) {
	var err error
	if x.umem, err = xdp.MapUMEM(x.cfg.poolSize * xdpChunk); err != nil {
		return nil, fmt.Errorf("udp: %w", err)
	}
	*undo = append(*undo, func() { xdp.UnmapUMEM(x.umem) })
	if x.pool, err = px.NewRegionPool(x.umem, xdpChunk, xdpTxHeadroom); err != nil {
		return nil, err
	}
	chunks := len(x.umem) / xdpChunk
	x.held = make([]bool, chunks)
	x.tx.init(x, chunks)
	fill := make([]uint64, 0, x.rings.posted)
	for range x.rings.posted {
		b, err := px.AllocBuffer(x.pool)
		if err != nil {
			return nil, fmt.Errorf("udp: stocking the fill ring: %w", err)
		}
		x.held[b.Index] = true
		fill = append(fill, uint64(b.Offset()))
	}
	return fill, nil
}

// openSocket binds the AF_XDP socket and attaches the redirect program for
// the held port (and bind address, unless it is the wildcard).
func (x *xdpPath) openSocket(bind netip.Addr, fill []uint64, undo *[]func()) error {
	if bind.IsUnspecified() {
		bind = netip.Addr{}
	}
	set := x.cfg.xdp
	var err error
	x.sock, err = xdp.Open(xdp.Config{
		IfIndex:        x.ifindex,
		QueueID:        set.queue,
		UMEM:           x.umem,
		ChunkSize:      xdpChunk,
		FillSize:       x.rings.fill,
		CompletionSize: x.rings.comp,
		RxSize:         x.rings.rx,
		TxSize:         x.rings.tx,
		Port:           x.port,
		Addr:           bind,
		Mode:           set.mode,
		Fill:           fill,
	})
	if err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	*undo = append(*undo, func() { x.sock.Close() })
	return nil
}

// start launches the receive goroutine, and the consumer of the receive
// queue of WithRxQueue.
func (x *xdpPath) start(wg *sync.WaitGroup) {
	wg.Add(1)
	go x.rxLoop(wg)
	if x.rxs.rxq != nil {
		wg.Add(1)
		go x.rx.consume(x.rxs, wg)
	}
}

// routeVia finds how a client reaches dst: the source address (bind if
// given, else the route's preferred source) and the next hop whose MAC
// frames are sent to. The route must leave through the AF_XDP interface.
func routeVia(ifindex int, iface string, dst, bind netip.Addr) (src, hop netip.Addr, err error) {
	link, pref, hop, err := xdp.RouteTo(dst)
	if err != nil {
		return src, hop, fmt.Errorf("udp: xdp: %w", err)
	}
	if link != ifindex {
		return src, hop, fmt.Errorf("udp: xdp: the route to %v leaves through interface %d, not %s (%d)", dst, link, iface, ifindex)
	}
	src = bind
	if !src.IsValid() || src.IsUnspecified() {
		src = pref
	}
	if !src.IsValid() || src.IsUnspecified() || src.Is4() != dst.Is4() {
		return src, hop, fmt.Errorf("udp: xdp: no %v source address for %v on %s (use WithBindAddress)", familyName(dst), dst, iface)
	}
	return src, hop, nil
}

// familyName names a's address family for messages.
func familyName(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// localAddr is the address of the port-holding socket.
func (x *xdpPath) localAddr() netip.AddrPort { return x.local }

// setRxBufferCount reports whether count datagrams fit the buffers kept on
// the fill ring; their number follows from WithPoolSize.
func (x *xdpPath) setRxBufferCount(count int) bool {
	if count > 0 && count <= x.rings.posted {
		return true
	}
	x.rx.log.l.Warn("xdp: the fill ring holds fewer buffers than requested (raise WithPoolSize: a quarter of the pool, at most 2048, is posted)",
		"requested", count, "posted", x.rings.posted)
	return false
}

// kernelStats reads XDP_STATISTICS, or returns the last values read once
// the socket is closed.
func (x *xdpPath) kernelStats() xdp.Stats {
	x.statsMu.Lock()
	defer x.statsMu.Unlock()
	if ks, err := x.sock.Stats(); err == nil {
		x.kstats = ks
	}
	return x.kstats
}

// addStats returns st with the AF_XDP counters and state added.
func (x *xdpPath) addStats(st Stats) Stats {
	if x.txOut.Load() > 0 && x.txr.txMu.TryLock() {
		x.reap() // so buffers sent are back before anyone looks
		x.txr.txMu.Unlock()
	}
	st.addRx(&x.rxs.rx)
	st.KernelDroppedBuffers += x.rxs.mc.KernelDrops()
	st.XDP.RxMalformed += x.rxc.malformed.Load()
	st.XDP.RxChecksumOffloaded += x.rxc.offloaded.Load()
	st.XDP.Mode = x.sock.Mode().String()
	st.XDP.MultiBuffer = x.sock.MultiBuffer()
	ks := x.kernelStats()
	st.XDP.RxDropped += ks.RxDropped
	st.XDP.RxInvalid += ks.RxInvalidDescs
	st.XDP.RingFull += ks.RxRingFull
	st.XDP.FillEmpty += ks.RxFillRingEmpty
	st.XDP.TxInvalid += ks.TxInvalidDescs
	st.XDP.TxCopies += x.txCopies.Load()
	return st
}

// shutdown closes the AF_XDP socket, which detaches the program and wakes
// the receive goroutine. Queued transmissions were flushed before.
func (x *xdpPath) shutdown() error {
	x.kernelStats()
	return x.sock.Close()
}

// finish runs once the goroutines are gone (or never started): it drops
// the buffers the receive and transmit paths still held for the kernel,
// closes the port-holding socket and retires the pool, which unmaps the
// UMEM when no frame holds it.
func (x *xdpPath) finish() error {
	x.releaseHeld() // the receive goroutine did it unless it never ran
	x.txr.txMu.Lock()
	x.tx.closed = true
	for i, n := range x.tx.inflight {
		if n > 0 {
			b := &px.RegionBuffers(x.pool)[i]
			for range n {
				b.Release()
			}
			x.tx.inflight[i] = 0
		}
	}
	x.txOut.Store(0)
	x.txr.txMu.Unlock()
	err := x.rxs.uc.Close()
	px.Retire(x.pool, func() {
		if uerr := xdp.UnmapUMEM(x.umem); uerr != nil {
			x.rx.log.l.Warn("xdp: unmapping the UMEM failed", "err", uerr)
		}
		x.unmapped.Store(true)
	})
	return err
}

// lockThread pins the receive goroutine to its thread if asked to.
func (x *xdpPath) lockThread() func() {
	if !x.rx.lockThread {
		return func() {}
	}
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
