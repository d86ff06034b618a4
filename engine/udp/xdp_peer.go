package udp

import (
	"net/netip"
	"sync/atomic"

	"udpstream.dev/xdp"
)

// xdpRoute holds the header template of transmitted datagrams: the peer's
// (or next hop's) MAC and address, ours, and the VLAN tag. A server learns
// it from the datagrams it receives; a client starts from the neighbour
// table and follows the source MAC of the server's replies. The receive
// goroutine publishes it with one atomic pointer store; transmitters read
// it with one atomic load.
type xdpRoute struct {
	cur atomic.Pointer[xdp.Header]

	// Receive goroutine only: the value last published, and recently used
	// immutable copies so that peers taking turns do not allocate.
	last  xdp.Header
	cache []*xdp.Header
}

// load returns the current template, nil before the first peer.
func (r *xdpRoute) load() *xdp.Header { return r.cur.Load() }

// set publishes h. Only the receive goroutine and the constructor call it;
// the common case, the same header as before, is one comparison.
func (r *xdpRoute) set(h *xdp.Header) {
	if r.cur.Load() != nil && *h == r.last {
		return
	}
	r.last = *h
	for _, c := range r.cache {
		if *c == *h {
			r.cur.Store(c)
			return
		}
	}
	c := new(xdp.Header)
	*c = *h
	if len(r.cache) < peerCacheSize {
		r.cache = append(r.cache, c)
	}
	r.cur.Store(c)
}

// replyHeader is the header that answers a received datagram: back to its
// source, from the address and port it was sent to, through the MAC it came
// from, with its VLAN tag.
func replyHeader(pk *xdp.Packet, ownMAC [6]byte, port uint16) xdp.Header {
	return xdp.Header{
		DstMAC: pk.SrcMAC,
		SrcMAC: ownMAC,
		Tagged: pk.Tagged,
		VLAN:   pk.VLAN,
		Src:    netip.AddrPortFrom(pk.DstIP, port),
		Dst:    pk.Src(),
	}
}
