//go:build linux

package xdp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

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

// ResolveNeighbor returns the MAC of ip on the interface from the
// neighbour table, asking the kernel to resolve it first if it has no
// entry (RTM_NEWNEIGH with NTF_USE sends the ARP request or neighbour
// solicitation, as traffic to the address would, without sending any). It
// is for set-up paths: it waits up to wait, polling the table.
func ResolveNeighbor(ifindex int, ip netip.Addr, wait time.Duration) (net.HardwareAddr, error) {
	mac, err := NeighborMAC(ifindex, ip)
	if err == nil || !errors.Is(err, ErrNoNeighbor) {
		return mac, err
	}
	fam := unix.AF_INET6
	if ip.Is4() {
		fam = unix.AF_INET
	}
	n := &netlink.Neigh{LinkIndex: ifindex, Family: fam, IP: ip.AsSlice(), Flags: netlink.NTF_USE}
	if err := netlink.NeighSet(n); err != nil {
		return nil, fmt.Errorf("xdp: asking the kernel to resolve %v: %w", ip, err)
	}
	deadline := time.Now().Add(wait)
	for pause := 100 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		if mac, err = NeighborMAC(ifindex, ip); err == nil {
			return mac, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("xdp: %v did not answer ARP/NDP within %v: %w", ip, wait, err)
		}
		time.Sleep(pause) // set-up only, bounded by wait
	}
}

// RouteTo asks the kernel's routing table (of the calling thread's network
// namespace) how dst is reached: the interface the route leaves through,
// its preferred source address (invalid when it names none), and the next
// hop whose MAC frames go to (dst itself on a directly connected network).
func RouteTo(dst netip.Addr) (ifindex int, src, hop netip.Addr, err error) {
	routes, err := netlink.RouteGet(dst.AsSlice())
	if err != nil || len(routes) == 0 {
		return 0, src, hop, fmt.Errorf("no route to %v: %w", dst, err)
	}
	r := routes[0]
	hop = dst
	if gw, ok := netip.AddrFromSlice(r.Gw); ok && !gw.IsUnspecified() {
		hop = gw.Unmap()
	}
	if a, ok := netip.AddrFromSlice(r.Src); ok {
		src = a.Unmap()
	}
	return r.LinkIndex, src, hop, nil
}

// interfaceMAC returns the interface's own hardware address, the source
// MAC of frames sent from it. It reads the calling thread's network
// namespace.
func interfaceMAC(ifindex int) (net.HardwareAddr, error) {
	l, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return nil, fmt.Errorf("xdp: interface %d: %w", ifindex, err)
	}
	return l.Attrs().HardwareAddr, nil
}
