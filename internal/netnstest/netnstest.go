//go:build linux

// Package netnstest builds throw-away network namespaces joined by a veth
// pair for tests (of package xdp, engine and bench) that need real
// interfaces. Nothing is created in the
// caller's own namespace: both veth ends are created directly inside the new
// namespaces, and the namespaces are anonymous, so they disappear when the
// test's cleanup closes them or, at the latest, when the process exits.
package netnstest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var counter atomic.Uint32

// Side is one end of a Pair: a namespace with one veth interface in it.
type Side struct {
	// NS is the namespace handle; closed by the Pair's cleanup.
	NS netns.NsHandle
	// Link is the veth interface name, Index its index inside NS.
	Link  string
	Index int
	// MAC is the interface's hardware address.
	MAC net.HardwareAddr
	// Addr4 is the interface's IPv4 address (in 10.199.0.0/16, /30 per pair).
	Addr4 netip.Addr
	// Addr6 is the interface's IPv6 address (in fd00:199::/32, /64 per pair).
	Addr6 netip.Addr
}

// Pair is two namespaces, A and B, joined by a veth pair. IPv4 neighbours
// are resolved by ARP unless StaticARP is called; IPv6 neighbours are
// static entries.
type Pair struct {
	A, B Side
	MTU  int
}

// New creates the namespaces and the veth pair with the given MTU and one
// queue per direction (so every flow uses queue 0), assigns the addresses,
// brings the links up, waits until they can transmit and registers the
// removal of the namespaces with t.Cleanup. It fails the test if any step
// fails.
func New(t testing.TB, mtu int) *Pair {
	t.Helper()
	n := counter.Add(1)
	pid := os.Getpid()
	p := &Pair{MTU: mtu}
	p.A.Link = fmt.Sprintf("xa%d-%d", pid%1000000, n)
	p.B.Link = fmt.Sprintf("xb%d-%d", pid%1000000, n)
	net4 := [4]byte{10, 199, byte(n >> 6), byte(n&63) * 4}
	a4, b4 := net4, net4
	a4[3]++
	b4[3] += 2
	p.A.Addr4, p.B.Addr4 = netip.AddrFrom4(a4), netip.AddrFrom4(b4)
	p.A.Addr6 = netip.MustParseAddr(fmt.Sprintf("fd00:199:%x::1", n))
	p.B.Addr6 = netip.MustParseAddr(fmt.Sprintf("fd00:199:%x::2", n))

	var err error
	if p.A.NS, err = newNS(); err != nil {
		t.Fatalf("netnstest: create namespace: %v", err)
	}
	t.Cleanup(func() { p.A.NS.Close() })
	if p.B.NS, err = newNS(); err != nil {
		t.Fatalf("netnstest: create namespace: %v", err)
	}
	t.Cleanup(func() { p.B.NS.Close() })

	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: p.A.Link, MTU: mtu, Namespace: netlink.NsFd(p.A.NS),
			NumTxQueues: 1, NumRxQueues: 1},
		PeerName:        p.B.Link,
		PeerNamespace:   netlink.NsFd(p.B.NS),
		PeerMTU:         uint32(mtu),
		PeerNumTxQueues: 1,
		PeerNumRxQueues: 1,
	}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("netnstest: create veth %s/%s: %v", p.A.Link, p.B.Link, err)
	}
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.configure(); err != nil {
			t.Fatalf("netnstest: configure %s: %v", s.Link, err)
		}
	}
	for _, s := range []*Side{&p.A, &p.B} {
		if err := s.waitReady(2 * time.Second); err != nil {
			t.Fatalf("netnstest: %s: %v", s.Link, err)
		}
	}
	if err := p.A.addNeighbor(p.B.Addr6, p.B.MAC); err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	if err := p.B.addNeighbor(p.A.Addr6, p.A.MAC); err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	return p
}

// newNS creates an anonymous network namespace without moving the caller.
func newNS() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{netns.None(), err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{netns.None(), err}
			return
		}
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime discards it when the
			// goroutine exits, so no other goroutine runs in ns.
			ns.Close()
			ch <- result{netns.None(), err}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{ns, nil}
	}()
	r := <-ch
	return r.ns, r.err
}

func (s *Side) configure() error {
	h, err := netlink.NewHandleAt(s.NS)
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
	for _, a := range []struct {
		ip   netip.Addr
		bits int
	}{{s.Addr4, 30}, {s.Addr6, 64}} {
		addr := &netlink.Addr{
			IPNet: &net.IPNet{IP: a.ip.AsSlice(), Mask: net.CIDRMask(a.bits, a.ip.BitLen())},
			Flags: unix.IFA_F_NODAD,
		}
		if err := h.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("add %v: %w", a.ip, err)
		}
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	return h.LinkSetUp(l)
}

// StaticARP installs permanent IPv4 neighbour entries on both sides, for
// tests that send bursts before ARP could resolve: meanwhile the kernel
// queues only a limited number of bytes per neighbour and drops the rest.
func (p *Pair) StaticARP() error {
	if err := p.A.addNeighbor(p.B.Addr4, p.B.MAC); err != nil {
		return err
	}
	return p.B.addNeighbor(p.A.Addr4, p.A.MAC)
}

// waitReady waits until the kernel has finished bringing the link up. The
// link-watch work that does it runs asynchronously after the carrier comes
// on; until it attaches the real queueing discipline the device still has
// the "noop" one, which silently drops every transmitted frame.
func (s *Side) waitReady(timeout time.Duration) error {
	h, err := netlink.NewHandleAt(s.NS)
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
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link not ready after %v", timeout)
		}
		time.Sleep(2 * time.Millisecond) // set-up only, bounded by timeout
	}
}

// addNeighbor installs a permanent neighbour entry. IPv6 neighbours are
// static because solicited-node multicast groups are joined by a kernel
// work item after the link comes up: a solicitation arriving before that
// is ignored and retried only a second later. IPv4 neighbours are left to
// ARP, which tests exercise.
func (s *Side) addNeighbor(ip netip.Addr, mac net.HardwareAddr) error {
	h, err := netlink.NewHandleAt(s.NS)
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
	if err := h.NeighAdd(n); err != nil {
		return fmt.Errorf("neighbour %v on %s: %w", ip, s.Link, err)
	}
	return nil
}

// Do runs fn on a goroutine locked to an OS thread inside the side's
// namespace and returns its error. Sockets created by fn stay in that
// namespace and may be used from any goroutine afterwards.
func (s *Side) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(s.NS); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Offload names a toggle of the legacy ethtool ioctl interface.
type Offload uint32

// Offloads tests switch off to make a veth behave like a wire.
const (
	// TxChecksum: with it on, a veth passes UDP checksums uncomputed
	// (CHECKSUM_PARTIAL) to its peer, so frames seen by XDP carry only the
	// pseudo-header sum.
	TxChecksum Offload = unix.ETHTOOL_STXCSUM
	// RxChecksum: with it on, a veth marks frames without a checksum as
	// verified, so the stack would accept a wrong one.
	RxChecksum Offload = unix.ETHTOOL_SRXCSUM
)

// SetOffload switches an offload on the side's interface.
func (s *Side) SetOffload(o Offload, on bool) error {
	return s.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		val := struct{ cmd, data uint32 }{uint32(o), 0}
		if on {
			val.data = 1
		}
		var ifr struct {
			name [unix.IFNAMSIZ]byte
			data unsafe.Pointer
			_    [16]byte
		}
		copy(ifr.name[:], s.Link)
		ifr.data = unsafe.Pointer(&val)
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&val)
		if e != 0 {
			return fmt.Errorf("ethtool %#x on %s: %w", uint32(o), s.Link, e)
		}
		return nil
	})
}

// XDPProgID returns the ID of the XDP program attached to the side's
// interface, 0 if none.
func (s *Side) XDPProgID() (uint32, error) {
	h, err := netlink.NewHandleAt(s.NS)
	if err != nil {
		return 0, err
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		return 0, err
	}
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId, nil
	}
	return 0, nil
}

// Describe summarises the side's link state and counters, for test
// failure messages.
func (s *Side) Describe() string {
	h, err := netlink.NewHandleAt(s.NS)
	if err != nil {
		return err.Error()
	}
	defer h.Close()
	l, err := h.LinkByIndex(s.Index)
	if err != nil {
		return err.Error()
	}
	a := l.Attrs()
	out := fmt.Sprintf("%s %v flags=%v oper=%v queues=%d/%d", s.Link, a.HardwareAddr, a.Flags, a.OperState, a.NumTxQueues, a.NumRxQueues)
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

// SetMTU changes the MTU of both veth ends, for benchmarks that run cases
// of several MTUs on one pair.
func (p *Pair) SetMTU(mtu int) error {
	for _, s := range []*Side{&p.A, &p.B} {
		h, err := netlink.NewHandleAt(s.NS)
		if err != nil {
			return err
		}
		l, err := h.LinkByIndex(s.Index)
		if err == nil {
			err = h.LinkSetMTU(l, mtu)
		}
		h.Close()
		if err != nil {
			return fmt.Errorf("netnstest: MTU %d on %s: %w", mtu, s.Link, err)
		}
	}
	p.MTU = mtu
	return nil
}
