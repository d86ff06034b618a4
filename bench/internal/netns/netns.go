// Package netns builds the two-namespace test bed for udpperf: a receiver
// namespace and a sender namespace joined by a veth pair, with fixed
// private addresses that exist only inside those namespaces.
//
// Nothing is configured in the caller's own namespace: the veth ends are
// created directly inside the new namespaces, so removing the namespaces
// removes everything this package made.
package netns

import (
	"errors"
	"net/netip"
)

// Addresses of the veth ends: a /30 of the 10.0.0.0/8 private range,
// inside the test namespaces only.
var (
	RxAddr = netip.MustParseAddr("10.199.0.1")
	TxAddr = netip.MustParseAddr("10.199.0.2")
)

// PrefixLen is the prefix length of the veth addresses.
const PrefixLen = 30

// IfName is the name of the veth end inside each namespace; namespaces
// keep separate interface name spaces, so it never clashes.
const IfName = "udpperf0"

// ErrUnsupported is returned where network namespaces do not exist.
var ErrUnsupported = errors.New("netns: network namespaces need Linux")
