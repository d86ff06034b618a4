package mmsg

import "net/netip"

// Message is one datagram in a batch, or one run of equal datagrams when UDP
// segmentation offload is in use (a GSO send or a GRO receive).
//
// The caller owns Buffers and may reuse a Message from batch to batch; a
// read or write sets only the result fields of the messages it reports as
// done.
type Message struct {
	// Buffers holds the payload. On receive the kernel scatters the
	// datagram across them in order; on send they are gathered into one
	// datagram (or one GSO buffer) without copying. Empty buffers are
	// allowed; the kernel accepts at most 1024 buffers per message.
	Buffers [][]byte

	// N is set by the call: the bytes received into Buffers, or the bytes
	// sent. A truncated receive reports the bytes that fit.
	N int

	// Addr is the source on receive and the destination on send. On send
	// the zero value means "no address": the socket must be connected. An
	// IPv4 address works on an IPv6 socket (as an IPv4-mapped address);
	// IPv4 senders seen on an IPv6 socket are reported as plain IPv4. A
	// link-local IPv6 zone is the interface index in decimal ("3") on
	// receive; on send a zone may be an index or an interface name.
	Addr netip.AddrPort

	// SegmentSize on receive is the size of each datagram in a GRO run
	// (every one but the last, which may be shorter), or 0 when Buffers
	// hold a single datagram; see Datagrams and SegmentAt. On send a
	// positive value, at most 65535, asks the kernel to cut the buffer into
	// datagrams of this size (GSO); 0 sends one datagram.
	SegmentSize int

	// Truncated reports on receive that the datagram did not fit into
	// Buffers and its tail was discarded by the kernel (MSG_TRUNC). The
	// bytes that fit are still in Buffers; callers normally drop and count
	// the datagram.
	Truncated bool
}

// Datagrams returns how many datagrams a received message carries: 1 for a
// plain datagram, more for a GRO run.
func (m *Message) Datagrams() int {
	return segments(m.N, m.SegmentSize)
}

// Len returns the total length of Buffers: the capacity of a receive, or the
// size of the datagram (or GSO buffer) a send would put on the wire.
func (m *Message) Len() int {
	n := 0
	for _, b := range m.Buffers {
		n += len(b)
	}
	return n
}

// MaxBatch is the largest batch size NewConn accepts: the kernel handles at
// most 1024 messages per recvmmsg/sendmmsg call (UIO_MAXIOV).
const MaxBatch = 1024
