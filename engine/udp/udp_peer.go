package udp

import (
	"net/netip"
	"sync/atomic"
)

// peerTracker holds the reply address: the last peer a server heard from.
// Receive goroutines publish it with one atomic pointer store; transmitters
// read it with one atomic load.
type peerTracker struct {
	cur atomic.Pointer[netip.AddrPort]
}

// load returns the current peer, zero when none was seen.
func (p *peerTracker) load() netip.AddrPort {
	if a := p.cur.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

// peerCacheSize bounds the addresses one receive goroutine remembers. Past
// it a change of peer allocates one small value, which only a server
// talking to more than this many peers in turn would notice.
const peerCacheSize = 32

// peerCache belongs to one receive goroutine. It keeps one immutable
// pointer per recently seen peer so that peers taking turns (two clients
// of one server) do not allocate on every switch.
type peerCache struct {
	entries []*netip.AddrPort
}

// note makes a the current peer. The common case, the same peer as
// before, costs one atomic load and a comparison.
func (p *peerTracker) note(c *peerCache, a netip.AddrPort) {
	if cur := p.cur.Load(); cur != nil && *cur == a {
		return
	}
	for _, e := range c.entries {
		if *e == a {
			p.cur.Store(e)
			return
		}
	}
	e := new(netip.AddrPort)
	*e = a
	if len(c.entries) < peerCacheSize {
		c.entries = append(c.entries, e)
	}
	p.cur.Store(e)
}

// allowList is the set of peer addresses WithAllowedPeers admits. A nil
// list admits everyone. Small lists are scanned; larger ones use a map.
type allowList struct {
	small []netip.Addr
	large map[netip.Addr]struct{}
}

const allowScanLimit = 8

func newAllowList(addrs []netip.Addr) *allowList {
	if len(addrs) == 0 {
		return nil
	}
	l := &allowList{}
	if len(addrs) <= allowScanLimit {
		for _, a := range addrs {
			l.small = append(l.small, normalizePeer(a))
		}
		return l
	}
	l.large = make(map[netip.Addr]struct{}, len(addrs))
	for _, a := range addrs {
		l.large[normalizePeer(a)] = struct{}{}
	}
	return l
}

// admits reports whether datagrams from a are accepted.
func (l *allowList) admits(a netip.AddrPort) bool {
	if l == nil {
		return true
	}
	ip := a.Addr()
	if ip.Is4In6() || ip.Zone() != "" {
		ip = normalizePeer(ip)
	}
	if l.large != nil {
		_, ok := l.large[ip]
		return ok
	}
	for _, x := range l.small {
		if x == ip {
			return true
		}
	}
	return false
}
