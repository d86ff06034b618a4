package bench

import (
	"net/netip"

	"udpstream.dev/bench/internal/netns"
)

// Namespaces is a receiver and a sender network namespace joined by a veth
// pair (10.199.0.1/30 in the receiver's, 10.199.0.2/30 in the sender's).
// Those addresses exist only inside the two namespaces; nothing is added
// to the caller's namespace. Run sets the veth MTU to what each case needs
// (1500 or 9000).
type Namespaces struct {
	pair *netns.Pair
}

// CheckNamespaces says, as one readable error, why namespaces cannot be
// created here (not root, no `ip` command), or returns nil.
func CheckNamespaces() error { return netns.Check() }

// NewNamespaces creates the two namespaces and the veth pair. It needs
// root. Close removes them.
func NewNamespaces() (*Namespaces, error) {
	p, err := netns.Create()
	if err != nil {
		return nil, err
	}
	return &Namespaces{pair: p}, nil
}

// Names returns the names of the receiver and sender namespaces, as `ip
// netns list` shows them.
func (n *Namespaces) Names() (rx, tx string) { return n.pair.Rx, n.pair.Tx }

// RxAddr is the receiver's address, TxAddr the sender's.
func (n *Namespaces) RxAddr() netip.Addr { return netns.RxAddr }

// TxAddr is the sender's address.
func (n *Namespaces) TxAddr() netip.Addr { return netns.TxAddr }

// Close deletes both namespaces and with them the veth pair. It is safe to
// call more than once.
func (n *Namespaces) Close() error { return n.pair.Close() }

// NamespaceExists reports whether a named network namespace exists, so
// callers can verify that Close left nothing behind.
func NamespaceExists(name string) bool { return netns.Exists(name) }

// setMTU sets the veth MTU for a case.
func (n *Namespaces) setMTU(mtu int) error { return n.pair.SetMTU(mtu) }

// inRx and inTx run fn inside the receiver's or sender's namespace, so the
// sockets it creates belong there.
func (n *Namespaces) inRx(fn func() error) error { return n.pair.Do(n.pair.Rx, fn) }
func (n *Namespaces) inTx(fn func() error) error { return n.pair.Do(n.pair.Tx, fn) }
