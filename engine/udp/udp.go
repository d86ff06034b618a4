package udp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/mmsg"
)

// Transport selects how a Server or Client moves datagrams between the
// socket and its frames.
type Transport int

const (
	// TransportMmsg moves batches of datagrams per system call with
	// recvmmsg and sendmmsg. It is the default.
	TransportMmsg Transport = iota
	// TransportNaive moves one datagram per system call, as Rogue does: the
	// baseline the other transports are measured against.
	TransportNaive
	// TransportGRO adds UDP generic receive offload (runs of equal
	// datagrams from one sender arrive as one buffer) and UDP segmentation
	// offload on send (equal frames leave as one buffer the kernel cuts).
	// It falls back to TransportMmsg behaviour where the kernel refuses
	// either offload; Stats reports what is in use.
	TransportGRO
	// TransportXDP is AF_XDP on one queue of one interface, named with
	// WithXDP: the endpoint's pool is the UMEM, datagrams are parsed and
	// built in it without a copy in user space (see WithXDP and package
	// xdp). It needs Linux and CAP_NET_ADMIN and CAP_BPF.
	TransportXDP
)

var transportNames = [...]string{
	TransportMmsg:  "mmsg",
	TransportNaive: "naive",
	TransportGRO:   "gro",
	TransportXDP:   "xdp",
}

// String returns the transport's name as ParseTransport accepts it.
func (t Transport) String() string {
	if t >= 0 && int(t) < len(transportNames) {
		return transportNames[t]
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// ParseTransport maps a name ("mmsg", "naive", "gro", "xdp"; "gso" is an
// alias of "gro", case is ignored) to its Transport.
func ParseTransport(s string) (Transport, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "gso" {
		return TransportGRO, nil
	}
	for t, n := range transportNames {
		if n == name {
			return Transport(t), nil
		}
	}
	return 0, fmt.Errorf("udp: unknown transport %q (want mmsg, naive, gro, gso or xdp)", s)
}

// Payload limits of one UDP datagram, as in Rogue: an Ethernet MTU minus 20
// bytes of IPv4 header and 8 bytes of UDP header.
const (
	// MaxPayloadJumbo is MaxPayload with jumbo frames (MTU 9000).
	MaxPayloadJumbo = 8972
	// MaxPayloadStandard is MaxPayload with a standard MTU of 1500.
	MaxPayloadStandard = 1472
	// udpIPOverhead is what SetRxBufferCount adds to MaxPayload to get
	// the MTU it counts in, as Rogue does.
	udpIPOverhead = 28
	// rxChargeSlack is what the default receive buffer adds to each MTU
	// for the kernel's bookkeeping of a datagram (its sk_buff and shared
	// info); the kernel doubles the size asked on top of that.
	rxChargeSlack = 1024
)

// Defaults of the endpoint options.
const (
	// DefaultPoolSize is the receive pool size, Rogue's 10000 buffers.
	DefaultPoolSize = 10000
	// DefaultBatch is the number of messages per recvmmsg/sendmmsg.
	DefaultBatch = 64
	// DefaultTimeout is the transmit wait, Rogue's one second.
	DefaultTimeout = time.Second
	// DefaultRxBurst is the burst of MaxPayload datagrams every socket's
	// receive buffer holds by default while the receive goroutine is
	// busy (SetRxBufferCount changes it). The kernel charges a datagram
	// more than its payload, so the buffer asked is
	// DefaultRxBurst * (MTU + rxChargeSlack) bytes, beyond
	// net.core.rmem_max where the process may (CAP_NET_ADMIN), else as
	// much as rmem_max allows; Stats().RxBufferBytes reports the grant.
	DefaultRxBurst = 1000
	// MaxBatch is the largest batch the kernel takes in one call.
	MaxBatch = mmsg.MaxBatch
)

// TxErrorCode is the value AcceptFrame stores with Frame.SetError when a
// frame could not be transmitted, so other holders of the frame see the
// failure.
const TxErrorCode uint8 = 0x01

var (
	// ErrNoPeer is returned when a Server is asked to transmit before it
	// has received a datagram, so it has nobody to reply to.
	ErrNoPeer = errors.New("udp: no peer to send to yet (a server replies to the last address it received from)")

	// ErrTxTimeout is returned when the socket send buffer stayed full for
	// the whole transmit timeout (SetTimeout). It wraps
	// os.ErrDeadlineExceeded.
	ErrTxTimeout = errors.New("udp: transmit timed out waiting for socket buffer space")

	// ErrFrameErrored is returned for a frame whose Error() is non-zero:
	// damaged frames are not transmitted.
	ErrFrameErrored = errors.New("udp: frame has its error field set")
)

// px is how the transports reach the buffers behind frames and pools.
var px = poolx.Get[engine.Frame, *engine.Pool, *engine.Master]()

func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}
