package xdp

import "errors"

// Desc describes one frame of a packet inside the UMEM region, exactly as
// the kernel lays out struct xdp_desc in the RX and TX rings.
//
// Addr is a byte offset from the start of the UMEM region (not a pointer), so
// the same value is valid for the kernel and for the caller's []byte.
type Desc struct {
	// Addr is the offset of the first byte of the frame in the UMEM region.
	Addr uint64
	// Len is the number of bytes of the frame.
	Len uint32
	// Options carries per-descriptor flags; OptContinued is the only one
	// defined for RX and TX.
	Options uint32
}

// OptContinued is set in Desc.Options when the packet continues in the next
// descriptor (kernel XDP_PKT_CONTD). The last descriptor of a packet has it
// clear, so single-frame packets look the same with or without multi-buffer.
const OptContinued = 1

// continued reports whether more frames of the same packet follow d.
func (d Desc) continued() bool { return d.Options&OptContinued != 0 }

// NextPacket splits the first packet off a batch returned by ReceiveWait: pkt
// holds its descriptors (one, or several for a multi-buffer packet) and rest
// the remaining descriptors. An empty batch yields two empty slices. A batch
// that ends inside a packet (which ReceiveWait never returns) yields the partial
// packet as pkt.
func NextPacket(descs []Desc) (pkt, rest []Desc) {
	for i := range descs {
		if !descs[i].continued() {
			return descs[:i+1], descs[i+1:]
		}
	}
	return descs, nil
}

// packetLen is the total number of bytes in the frames of one packet.
func packetLen(pkt []Desc) int {
	n := 0
	for i := range pkt {
		n += int(pkt[i].Len)
	}
	return n
}

// Stats are the socket's drop counters as kept by the kernel
// (getsockopt XDP_STATISTICS). They only grow while the socket is open.
type Stats struct {
	// RxDropped counts packets dropped for want of a buffer (in copy mode
	// the fill ring was empty, or held too few for a multi-buffer packet)
	// or as larger than a chunk without multi-buffer. RxDropped plus
	// RxRingFull counts every packet the socket dropped once.
	RxDropped uint64
	// RxInvalidDescs counts fill-ring addresses the kernel rejected.
	RxInvalidDescs uint64
	// TxInvalidDescs counts TX descriptors the kernel rejected.
	TxInvalidDescs uint64
	// RxRingFull counts packets dropped because the RX ring was full: the
	// application did not consume fast enough.
	RxRingFull uint64
	// RxFillRingEmpty counts the times the kernel found the fill ring
	// empty when it wanted a buffer: the application did not give buffers
	// back fast enough. It is not a packet count to add to the others: in
	// copy mode each such packet is also in RxDropped, and in zero-copy
	// mode a driver's refill attempts count while the packets its NIC
	// drops do not.
	RxFillRingEmpty uint64
	// TxRingEmpty counts transmit wake-ups that found the TX ring empty.
	TxRingEmpty uint64
}

// Errors returned by the socket.
var (
	// ErrClosed is returned by operations on a closed socket.
	ErrClosed = errors.New("xdp: socket closed")
	// ErrShortBuffer is returned by ReceiveWait when the next packet has more
	// frames than the descriptor slice can hold; retry with a larger slice.
	ErrShortBuffer = errors.New("xdp: descriptor slice too small for the next packet")
	// ErrNoTxRing is returned by Transmit on a receive-only socket.
	ErrNoTxRing = errors.New("xdp: socket has no TX ring")
	// ErrNotSupported is returned where AF_XDP is not available.
	ErrNotSupported = errors.New("xdp: AF_XDP is not supported on this platform")
)
