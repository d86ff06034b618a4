//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoNeighbor is returned by NeighborMAC when the kernel has no usable
// entry for the address. Any traffic the kernel sends to the address (a
// ping, a datagram from an ordinary socket) makes it resolve one.
var ErrNoNeighbor = errors.New("xdp: no neighbour entry")

// usableNeigh are the neighbour states whose link-layer address may be used.
const usableNeigh = netlink.NUD_REACHABLE | netlink.NUD_STALE | netlink.NUD_DELAY |
	netlink.NUD_PROBE | netlink.NUD_PERMANENT | netlink.NUD_NOARP

// NeighborMAC returns the link-layer address the kernel's neighbour table
// (ARP for IPv4, NDP for IPv6) holds for ip on the interface, as frames
// built with BuildUDPHeaders need it. It reads the calling thread's network
// namespace.
func NeighborMAC(ifindex int, ip netip.Addr) (net.HardwareAddr, error) {
	ip = ip.Unmap()
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	neighs, err := netlink.NeighList(ifindex, family)
	if err != nil {
		return nil, fmt.Errorf("xdp: neighbour table of interface %d: %w", ifindex, err)
	}
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || a.Unmap() != ip || n.State&usableNeigh == 0 || len(n.HardwareAddr) == 0 {
			continue
		}
		return n.HardwareAddr, nil
	}
	return nil, fmt.Errorf("%w for %v on interface %d", ErrNoNeighbor, ip, ifindex)
}

// InterfaceMAC returns the interface's own hardware address, the source
// MAC of frames sent from it. It reads the calling thread's network
// namespace.
func InterfaceMAC(ifindex int) (net.HardwareAddr, error) {
	l, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return nil, fmt.Errorf("xdp: interface %d: %w", ifindex, err)
	}
	return l.Attrs().HardwareAddr, nil
}
