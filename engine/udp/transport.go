package udp

import (
	"errors"
	"net"
	"net/netip"

	"udpstream.dev/engine"
)

// transport is the data path under an endpoint: the sockets (naive, mmsg,
// gro; socketPath) or an AF_XDP socket (xdpPath). The endpoint keeps what
// every path shares: the master, the peer and allow-list, the options, the
// transmit checks and counters, the transmit queue and the shutdown order.
// A transport's receive goroutines are running once it is opened; they
// judge each datagram with the endpoint's rules and hand the frames to
// endpoint.accept.
type transport interface {
	// localAddr is the bound address, IPv4-mapped addresses unmapped.
	localAddr() netip.AddrPort
	// setRxBufferCount sizes the receive buffering for n MTUs.
	setRxBufferCount(n int) bool
	// send transmits one frame to dest (the zero address for a client);
	// it counts what it refuses or fails.
	send(f engine.Frame, dest netip.AddrPort) error
	// transmit sends fs to dest, counting every frame that does not go
	// out; with mark it also sets their error code.
	transmit(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult
	// addStats returns st with the path's own counters added (st is
	// passed by value so that Stats does not escape to the heap).
	addStats(st Stats) Stats
	// shutdown wakes and ends the receive goroutines; finish runs once
	// they have returned, and frees what they used.
	shutdown() error
	finish() error
}

// socketPath is the transport over UDP sockets; its state is the
// endpoint's socket list and transmit scratch space.
type socketPath struct{ e *endpoint }

func (p socketPath) localAddr() netip.AddrPort {
	e := p.e
	if len(e.socks) == 0 {
		return netip.AddrPort{}
	}
	a, ok := e.socks[0].uc.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (p socketPath) setRxBufferCount(n int) bool { return p.e.setSocketRxBuffer(n) }

func (p socketPath) send(f engine.Frame, dest netip.AddrPort) error {
	return p.e.sendChecked(f, dest)
}

func (p socketPath) transmit(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult {
	return p.e.transmitSockets(fs, dest, mark)
}

func (p socketPath) addStats(st Stats) Stats {
	e := p.e
	for _, s := range e.socks {
		st.addRx(&s.rx)
		drops, rcvbuf := s.mc.MemInfo()
		st.KernelDroppedBuffers += drops
		st.RxBufferBytes += uint64(rcvbuf)
		st.GRO = st.GRO || s.mc.GROEnabled()
	}
	if e.cfg.transport == TransportGRO && len(e.socks) > 0 {
		st.GSO = e.socks[0].mc.GSOEnabled()
		st.GSOFallback = !st.GSO
	}
	return st
}

// shutdown closes the sockets, which wakes their receive goroutines at
// once.
func (p socketPath) shutdown() error {
	var errs []error
	for _, s := range p.e.socks {
		if err := s.uc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p socketPath) finish() error { return nil }
