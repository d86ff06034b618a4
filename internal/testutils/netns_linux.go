//go:build linux

package testutils

// This file builds throw-away network namespaces joined by a veth pair for
// tests that need real interfaces. It is the testing face of package
// vethpair: the namespaces are anonymous, nothing is created in the
// caller's own namespace, and the test's cleanup removes everything (at
// the latest the process's exit does).

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"

	"udpstream.dev/internal/vethpair"
)

// Pair is two namespaces, A and B, joined by a veth pair (see
// vethpair.Pair). IPv4 neighbours are resolved by ARP unless StaticARP is
// called; IPv6 neighbours are static entries.
type Pair = vethpair.Pair

// Side is one end of a Pair: a namespace with one veth interface in it.
type Side = vethpair.Side

// Offload names a toggle of the legacy ethtool ioctl interface.
type Offload = vethpair.Offload

// Offloads tests switch off to make a veth behave like a wire.
const (
	// TxChecksum: with it on, a veth passes UDP checksums uncomputed to
	// its peer, so frames seen by XDP carry only the pseudo-header sum.
	TxChecksum = vethpair.TxChecksum
	// RxChecksum: with it on, a veth marks frames without a checksum as
	// verified, so the stack would accept a wrong one.
	RxChecksum = vethpair.RxChecksum
)

var counter atomic.Uint32

// New creates the namespaces and the veth pair with the given MTU and one
// queue per direction (so every flow uses queue 0), waits until the links
// can transmit and registers the pair's removal with t.Cleanup. It fails
// the test if any step fails.
//
// Each pair of the process gets its own interface names and subnets
// (10.199.0.0/16, a /30 per pair; fd00:199::/32, a /64 per pair), so
// failure messages tell the pairs apart.
func New(t testing.TB, mtu int) *Pair {
	t.Helper()
	RequireRoot(t)
	n := counter.Add(1)
	pid := os.Getpid() % 1000000
	net4 := [4]byte{10, 199, byte(n >> 6), byte(n&63) * 4}
	a4, b4 := net4, net4
	a4[3]++
	b4[3] += 2
	p, err := vethpair.New(vethpair.Config{
		MTU: mtu,
		A: vethpair.SideConfig{
			Link:  fmt.Sprintf("xa%d-%d", pid, n),
			Addr4: netip.PrefixFrom(netip.AddrFrom4(a4), 30),
			Addr6: netip.MustParsePrefix(fmt.Sprintf("fd00:199:%x::1/64", n)),
		},
		B: vethpair.SideConfig{
			Link:  fmt.Sprintf("xb%d-%d", pid, n),
			Addr4: netip.PrefixFrom(netip.AddrFrom4(b4), 30),
			Addr6: netip.MustParsePrefix(fmt.Sprintf("fd00:199:%x::2/64", n)),
		},
	})
	if err != nil {
		t.Fatalf("testutils: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("testutils: %v", err)
		}
	})
	return p
}

// RequireRoot skips the test when the process is not root: creating
// namespaces, veth pairs and XDP programs needs CAP_NET_ADMIN, CAP_SYS_ADMIN
// and CAP_BPF, and the skip message says so. Under -short it skips too:
// building namespaces and veth pairs is the slow part of the test run.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("short: builds network namespaces and veth pairs (root-only)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_BPF) to create namespaces, veth pairs and XDP programs")
	}
}

// NewWire is New with checksum offloads off on both ends, so that the
// pair behaves like a wire: each stack computes real UDP checksums and
// verifies those it receives, which is what a program that builds or
// parses packets itself (AF_XDP) meets on a physical link.
func NewWire(t testing.TB, mtu int) *Pair {
	t.Helper()
	p := New(t, mtu)
	for _, s := range []*Side{&p.A, &p.B} {
		for _, o := range []Offload{TxChecksum, RxChecksum} {
			if err := s.SetOffload(o, false); err != nil {
				t.Fatalf("testutils: %s: %v", s.Link, err)
			}
		}
	}
	return p
}
