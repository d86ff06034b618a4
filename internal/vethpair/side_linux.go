package vethpair

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// handle opens a netlink handle inside the side's namespace. A closed
// namespace handle is refused here: netlink would take it for "the
// current namespace" and act on the caller's own interfaces.
func (s *Side) handle() (*netlink.Handle, error) {
	if !s.NS.IsOpen() {
		return nil, ErrClosed
	}
	h, err := netlink.NewHandleAt(s.NS)
	if err != nil {
		return nil, fmt.Errorf("netlink in namespace of %s: %w", s.Link, err)
	}
	return h, nil
}

// configure reads the link's index and MAC, assigns the addresses and
// brings loopback and the link up.
func (s *Side) configure() error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(s.Link)
	if err != nil {
		return err
	}
	s.Index = l.Attrs().Index
	s.MAC = l.Attrs().HardwareAddr
	for _, a := range []netip.Prefix{netip.PrefixFrom(s.Addr4, s.bits4), netip.PrefixFrom(s.Addr6, s.bits6)} {
		addr := &netlink.Addr{
			IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())},
			// No duplicate address detection: the subnet holds only the
			// two ends, and a tentative address could not be bound.
			Flags: unix.IFA_F_NODAD,
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("add %v: %w", a, err)
		}
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find loopback: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring loopback up: %w", err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring up: %w", err)
	}
	return nil
}

// waitReady waits until the kernel has finished bringing the link up. The
// link-watch work that does it runs asynchronously after the carrier comes
// on; until it attaches the real queueing discipline the device still has
// the "noop" one, which silently drops every transmitted frame. It also
// waits for the IPv6 address's local route (see localRoute6).
func (s *Side) waitReady(timeout time.Duration) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	deadline := time.Now().Add(timeout)
	for {
		l, err := h.LinkByIndex(s.Index)
		if err != nil {
			return err
		}
		ready := l.Attrs().OperState == netlink.OperUp
		if ready {
			qs, err := h.QdiscList(l)
			if err != nil {
				return err
			}
			ready = len(qs) > 0
			for _, q := range qs {
				if q.Type() == "noop" {
					ready = false
				}
			}
		}
		if ready {
			ready, err = s.localRoute6(h)
			if err != nil {
				return err
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link not ready after %v (%s)", timeout, s.Describe())
		}
		time.Sleep(2 * time.Millisecond) // set-up only, bounded by timeout
	}
}

// localRoute6 reports whether the side's IPv6 address has its local route.
// The kernel installs it from a work item some time after the link comes
// up, and after the address can already be bound: a datagram arriving
// before it is taken for one to forward and dropped (Ip6InAddrErrors).
func (s *Side) localRoute6(h *netlink.Handle) (bool, error) {
	if !s.Addr6.IsValid() {
		return true, nil
	}
	routes, err := h.RouteListFiltered(unix.AF_INET6, &netlink.Route{
		Table: unix.RT_TABLE_LOCAL,
		Dst:   &net.IPNet{IP: s.Addr6.AsSlice(), Mask: net.CIDRMask(128, 128)},
	}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_DST)
	if err != nil {
		return false, fmt.Errorf("list local routes: %w", err)
	}
	for _, r := range routes {
		if r.Type == unix.RTN_LOCAL {
			return true, nil
		}
	}
	return false, nil
}

// addNeighbor installs a permanent neighbour entry. IPv6 neighbours are
// always static because solicited-node multicast groups are joined by a
// kernel work item after the link comes up: a solicitation arriving
// before that is ignored and retried only a second later.
func (s *Side) addNeighbor(ip netip.Addr, mac net.HardwareAddr) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	n := &netlink.Neigh{
		LinkIndex:    s.Index,
		Family:       family,
		State:        netlink.NUD_PERMANENT,
		IP:           ip.AsSlice(),
		HardwareAddr: mac,
	}
	if err := h.NeighSet(n); err != nil {
		return fmt.Errorf("neighbour %v on %s: %w", ip, s.Link, err)
	}
	return nil
}

// StaticARP installs permanent IPv4 neighbour entries on both sides, for
// senders of bursts before ARP could resolve: meanwhile the kernel queues
// only a limited number of bytes per neighbour and drops the rest.
func (p *Pair) StaticARP() error {
	if err := p.staticARP(); err != nil {
		return fmt.Errorf("vethpair: %w", err)
	}
	return nil
}

func (p *Pair) staticARP() error {
	if err := p.A.addNeighbor(p.B.Addr4, p.B.MAC); err != nil {
		return err
	}
	return p.B.addNeighbor(p.A.Addr4, p.A.MAC)
}

// SetMTU changes the MTU of both veth ends, for runs of cases of several
// MTUs on one pair.
func (p *Pair) SetMTU(mtu int) error {
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.setMTU(mtu); err != nil {
			return fmt.Errorf("vethpair: MTU %d on %s: %w", mtu, s.Link, err)
		}
	}
	p.MTU = mtu
	return nil
}

func (s *Side) setMTU(mtu int) error {
	h, err := s.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		return err
	}
	return h.LinkSetMTU(l, mtu)
}

// XDPProgID returns the ID of the XDP program attached to the side's
// interface, 0 if none.
func (s *Side) XDPProgID() (uint32, error) {
	h, err := s.handle()
	if err != nil {
		return 0, err
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		return 0, fmt.Errorf("vethpair: %s: %w", s.Link, err)
	}
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId, nil
	}
	return 0, nil
}

// Describe summarises the side's link state, counters and neighbours, for
// failure messages.
func (s *Side) Describe() string {
	h, err := s.handle()
	if err != nil {
		return err.Error()
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		return fmt.Sprintf("%s: %v", s.Link, err)
	}
	a := l.Attrs()
	out := fmt.Sprintf("%s %v mtu=%d flags=%v oper=%v queues=%d/%d", s.Link, a.HardwareAddr, a.MTU, a.Flags, a.OperState, a.NumTxQueues, a.NumRxQueues)
	if st := a.Statistics; st != nil {
		out += fmt.Sprintf(" rx=%d/%d drop=%d tx=%d/%d drop=%d", st.RxPackets, st.RxBytes, st.RxDropped, st.TxPackets, st.TxBytes, st.TxDropped)
	}
	if x := a.Xdp; x != nil && x.Attached {
		out += fmt.Sprintf(" xdp=%d mode=%d", x.ProgId, x.AttachMode)
	}
	neighs, _ := h.NeighList(s.Index, 0)
	for _, n := range neighs {
		out += fmt.Sprintf(" neigh=%v/%v/%#x", n.IP, n.HardwareAddr, n.State)
	}
	return out
}
