// Package netns gives a benchmark a receiver and a sender network namespace
// joined by a veth pair, and runs functions inside either of them.
package netns

import (
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"

	"udpstream.dev/internal/vethpair"
)

// Addresses of the veth ends: a /30 of the 10.0.0.0/8 private range,
// inside the namespaces only.
var (
	nsRxAddr = netip.MustParsePrefix("10.199.0.1/30")
	nsTxAddr = netip.MustParsePrefix("10.199.0.2/30")
)

// IfName is the name of the veth end inside each namespace, which bench.Run
// hands to the xdp transport.
const IfName = "udpperf0"

var nsSeq atomic.Uint32

// Namespaces is a receiver and a sender network namespace joined by a veth
// pair (10.199.0.1/30 in the receiver's, 10.199.0.2/30 in the sender's).
// Those addresses exist only inside the two namespaces; nothing is added
// to the caller's namespace. bench.Run sets the veth MTU to what each case needs
// (1500 or 9000).
type Namespaces struct {
	pair *vethpair.Pair
}

// CheckNamespaces says, as one readable error, why namespaces cannot be
// created here (not root), or returns nil.
func CheckNamespaces() error { return vethpair.Check() }

// NewNamespaces creates the two namespaces, named udpperf-rx-PID-N and
// udpperf-tx-PID-N so that `ip netns list` shows them, and the veth pair.
// It needs root. Close removes them.
func NewNamespaces() (*Namespaces, error) {
	id := strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(int(nsSeq.Add(1)))
	p, err := vethpair.New(vethpair.Config{
		A: vethpair.SideConfig{Namespace: "udpperf-rx-" + id, Link: IfName, Addr4: nsRxAddr},
		B: vethpair.SideConfig{Namespace: "udpperf-tx-" + id, Link: IfName, Addr4: nsTxAddr},
	})
	if err != nil {
		return nil, err
	}
	return &Namespaces{pair: p}, nil
}

// Names returns the names of the receiver and sender namespaces, as `ip
// netns list` shows them.
func (n *Namespaces) Names() (rx, tx string) { return n.pair.A.Name, n.pair.B.Name }

// RxAddr is the receiver's address, TxAddr the sender's.
func (n *Namespaces) RxAddr() netip.Addr { return n.pair.A.Addr4 }

// TxAddr is the sender's address.
func (n *Namespaces) TxAddr() netip.Addr { return n.pair.B.Addr4 }

// Close deletes both namespaces and with them the veth pair. It is safe to
// call more than once.
func (n *Namespaces) Close() error { return n.pair.Close() }

// NamespaceExists reports whether a named network namespace exists, so
// callers can verify that Close left nothing behind.
func NamespaceExists(name string) bool { return vethpair.NamespaceExists(name) }

// SetMTU sets the veth MTU for a case.
func (n *Namespaces) SetMTU(mtu int) error { return n.pair.SetMTU(mtu) }

// InRx and InTx run fn inside the receiver's or sender's namespace, so the
// sockets it creates belong there.
func (n *Namespaces) InRx(fn func() error) error { return n.pair.A.Do(fn) }
func (n *Namespaces) InTx(fn func() error) error { return n.pair.B.Do(fn) }
