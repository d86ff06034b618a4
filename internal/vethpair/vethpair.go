// Package vethpair builds two network namespaces joined by a veth pair:
// the test bed of the root-only tests (anonymous namespaces that vanish
// with their handles) and of `udpperf --netns` (named namespaces, bind
// mounted under /run/netns as `ip netns add` does, so `ip netns list`
// shows them and `ip netns del` removes them).
//
// Nothing is configured in the caller's own namespace: both veth ends are
// created directly inside the new namespaces, so closing the Pair removes
// everything it made.
package vethpair

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/vishvananda/netns"
)

// ErrUnsupported is returned where network namespaces do not exist.
var ErrUnsupported = errors.New("vethpair: network namespaces need Linux")

// ErrClosed is returned by operations on a Pair (or one of its Sides)
// after Close. It guards against a closed handle silently standing for
// the caller's own namespace.
var ErrClosed = errors.New("vethpair: pair is closed")

// NetnsDir is where named namespaces are bind mounted, the directory
// `ip netns` uses.
const NetnsDir = "/run/netns"

// Defaults for the fields of Config left zero.
const (
	DefaultMTU   = 1500
	DefaultLinkA = "veth-a"
	DefaultLinkB = "veth-b"
)

// Default addresses: a /30 of the 10.0.0.0/8 and a /64 of the fd00::/8
// private ranges, which exist only inside the two namespaces.
var (
	DefaultAddr4A = netip.MustParsePrefix("10.199.0.1/30")
	DefaultAddr4B = netip.MustParsePrefix("10.199.0.2/30")
	DefaultAddr6A = netip.MustParsePrefix("fd00:199::1/64")
	DefaultAddr6B = netip.MustParsePrefix("fd00:199::2/64")
)

// Config says how to build a Pair. Zero fields take the defaults above.
type Config struct {
	// MTU of both veth ends.
	MTU int
	// A and B describe the two sides.
	A, B SideConfig
	// StaticARP installs permanent IPv4 neighbour entries at once, as
	// Pair.StaticARP does later; otherwise IPv4 neighbours are resolved
	// by ARP.
	StaticARP bool
}

// SideConfig describes one side of a Pair.
type SideConfig struct {
	// Namespace names the namespace (a file in NetnsDir). Empty makes an
	// anonymous namespace that lives only as long as its handle and the
	// sockets made in it.
	Namespace string
	// Link is the name of the veth end inside the namespace.
	Link string
	// Addr4 and Addr6 are the interface's addresses with their prefix
	// lengths; both sides' prefixes must be the same subnet.
	Addr4, Addr6 netip.Prefix
}

// Side is one end of a Pair: a namespace with one veth interface in it.
type Side struct {
	// NS is the namespace handle; closed (set to -1) by Pair.Close.
	NS netns.NsHandle
	// Name is the namespace's name in NetnsDir, empty if anonymous.
	Name string
	// Link is the veth interface name, Index its index inside NS.
	Link  string
	Index int
	// MAC is the interface's hardware address.
	MAC net.HardwareAddr
	// Addr4 and Addr6 are the interface's addresses.
	Addr4, Addr6 netip.Addr

	bits4, bits6 int
	// mountPath is the file in NetnsDir this package created, empty if
	// none (anonymous namespace, or already removed); mounted says
	// whether the namespace is bind mounted on it.
	mountPath string
	mounted   bool
}

// Pair is two namespaces, A and B, joined by a veth pair with one queue
// per direction. IPv6 neighbours are static entries; IPv4 neighbours are
// resolved by ARP unless Config.StaticARP or Pair.StaticARP asks otherwise.
//
// A Pair's methods may run concurrently with each other, except Close.
type Pair struct {
	A, B Side
	// MTU is the MTU of both veth ends (see SetMTU).
	MTU int

	closeOnce sync.Once
	closeErr  error
}

// Offload names a toggle of the legacy ethtool ioctl interface (see
// SetOffload).
type Offload uint32

// withDefaults fills the zero fields of c and checks the result, so the
// kernel is asked only for a consistent set-up.
func (c Config) withDefaults() (Config, error) {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	def := func(s *SideConfig, link string, a4, a6 netip.Prefix) {
		if s.Link == "" {
			s.Link = link
		}
		if !s.Addr4.IsValid() {
			s.Addr4 = a4
		}
		if !s.Addr6.IsValid() {
			s.Addr6 = a6
		}
	}
	def(&c.A, DefaultLinkA, DefaultAddr4A, DefaultAddr6A)
	def(&c.B, DefaultLinkB, DefaultAddr4B, DefaultAddr6B)

	var errs []error
	// 68 is the smallest MTU IPv4 allows, 65535 the largest a veth takes.
	if c.MTU < 68 || c.MTU > 65535 {
		errs = append(errs, fmt.Errorf("MTU %d outside 68..65535", c.MTU))
	}
	for _, s := range []struct {
		name string
		c    SideConfig
	}{{"A", c.A}, {"B", c.B}} {
		if err := checkLinkName(s.c.Link); err != nil {
			errs = append(errs, fmt.Errorf("side %s: %w", s.name, err))
		}
		if s.c.Namespace != "" {
			if err := checkNamespaceName(s.c.Namespace); err != nil {
				errs = append(errs, fmt.Errorf("side %s: %w", s.name, err))
			}
		}
		if !s.c.Addr4.Addr().Is4() || s.c.Addr4.Bits() > 30 {
			errs = append(errs, fmt.Errorf("side %s: IPv4 address %v is not an IPv4 address with a prefix of /30 or wider", s.name, s.c.Addr4))
		}
		if !s.c.Addr6.Addr().Is6() || s.c.Addr6.Addr().Is4In6() || s.c.Addr6.Bits() > 126 {
			errs = append(errs, fmt.Errorf("side %s: IPv6 address %v is not an IPv6 address with a prefix of /126 or wider", s.name, s.c.Addr6))
		}
	}
	if c.A.Namespace != "" && c.A.Namespace == c.B.Namespace {
		errs = append(errs, fmt.Errorf("both sides name namespace %q", c.A.Namespace))
	}
	for _, p := range [][2]netip.Prefix{{c.A.Addr4, c.B.Addr4}, {c.A.Addr6, c.B.Addr6}} {
		if p[0].Addr() == p[1].Addr() {
			errs = append(errs, fmt.Errorf("both sides have address %v", p[0].Addr()))
		} else if p[0].Masked() != p[1].Masked() {
			errs = append(errs, fmt.Errorf("addresses %v and %v are not in one subnet", p[0], p[1]))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("vethpair: bad config: %w", err)
	}
	return c, nil
}

// checkLinkName applies the kernel's rules for interface names.
func checkLinkName(name string) error {
	if name == "" || len(name) >= 16 || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n") {
		return fmt.Errorf("bad interface name %q (1 to 15 bytes, no '/', ':' or blanks)", name)
	}
	return nil
}

// checkNamespaceName keeps a namespace name to one plain file in NetnsDir.
func checkNamespaceName(name string) error {
	if name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("bad namespace name %q (one path element)", name)
	}
	return nil
}

// fill copies what a Side keeps from its configuration.
func (s *Side) fill(c SideConfig) {
	s.Name = c.Namespace
	s.Link = c.Link
	s.Addr4, s.bits4 = c.Addr4.Addr(), c.Addr4.Bits()
	s.Addr6, s.bits6 = c.Addr6.Addr(), c.Addr6.Bits()
}
