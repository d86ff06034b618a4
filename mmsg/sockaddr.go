package mmsg

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// Linux socket address layout, decoded by hand so that no per-datagram
// net.UDPAddr or syscall.Sockaddr is allocated.
//
//	sockaddr_in  (16 bytes): family u16 (host order), port u16 (network
//	                         order), addr [4]byte, zero [8]byte
//	sockaddr_in6 (28 bytes): family u16, port u16, flowinfo u32,
//	                         addr [16]byte, scope_id u32 (host order)
const (
	afInet  = 2  // AF_INET on every Linux architecture
	afInet6 = 10 // AF_INET6 on every Linux architecture

	sizeofSockaddrInet4 = 16
	sizeofSockaddrInet6 = 28
)

// sockaddr is storage for one Linux sockaddr_in or sockaddr_in6. The kernel
// copies addresses byte-wise, so no alignment beyond a byte array is needed.
type sockaddr [sizeofSockaddrInet6]byte

// addrPort decodes the address the kernel wrote, namelen being the length it
// reported. IPv4-mapped IPv6 addresses are unmapped, so an IPv4 peer looks
// the same on IPv4 and dual-stack sockets. It reports false for an absent or
// unknown address.
func (sa *sockaddr) addrPort(namelen int) (netip.AddrPort, bool) {
	if namelen < 2 {
		return netip.AddrPort{}, false
	}
	port := binary.BigEndian.Uint16(sa[2:4])
	switch binary.NativeEndian.Uint16(sa[0:2]) {
	case afInet:
		if namelen < 8 {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), port), true
	case afInet6:
		if namelen < 24 {
			return netip.AddrPort{}, false
		}
		ip := netip.AddrFrom16([16]byte(sa[8:24]))
		if ip.Is4In6() {
			ip = ip.Unmap()
		} else if namelen >= sizeofSockaddrInet6 {
			// Only link-local (and other scoped) addresses carry a
			// scope. Small indices format without allocating.
			if scope := binary.NativeEndian.Uint32(sa[24:28]); scope != 0 {
				ip = ip.WithZone(strconv.FormatUint(uint64(scope), 10))
			}
		}
		return netip.AddrPortFrom(ip, port), true
	}
	return netip.AddrPort{}, false
}

// setAddrPort encodes ap for a socket of the given family (inet6 true for an
// AF_INET6 socket) and returns the length to pass as msg_namelen. An IPv4
// address on an IPv6 socket is written as IPv4-mapped; an IPv6 address on an
// IPv4 socket is an error unless it is IPv4-mapped.
func (sa *sockaddr) setAddrPort(ap netip.AddrPort, inet6 bool) (int, error) {
	ip := ap.Addr()
	if !ip.IsValid() {
		return 0, fmt.Errorf("mmsg: invalid destination address %v", ap)
	}
	*sa = sockaddr{}
	binary.BigEndian.PutUint16(sa[2:4], ap.Port())
	if !inet6 {
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		if !ip.Is4() {
			return 0, fmt.Errorf("mmsg: cannot send to IPv6 address %v from an IPv4 socket", ap)
		}
		binary.NativeEndian.PutUint16(sa[0:2], afInet)
		a := ip.As4()
		copy(sa[4:8], a[:])
		return sizeofSockaddrInet4, nil
	}
	binary.NativeEndian.PutUint16(sa[0:2], afInet6)
	a := ip.As16() // maps IPv4 into ::ffff:0:0/96
	copy(sa[8:24], a[:])
	if zone := ip.Zone(); zone != "" {
		idx, err := zoneIndex(zone)
		if err != nil {
			return 0, err
		}
		binary.NativeEndian.PutUint32(sa[24:28], idx)
	}
	return sizeofSockaddrInet6, nil
}

// zoneIndex turns an IPv6 zone into an interface index: decimal zones, which
// is how addresses are reported on receive, are parsed without a lookup.
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("mmsg: IPv6 zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}
