package mmsg

// Limits of one UDP GSO send on Linux, measured and taken from the kernel's
// UDP send path. A GSO send is one sendmsg (or one sendmmsg entry) whose
// buffer the kernel cuts into SegmentSize datagrams. It is refused when:
//
//   - the buffer holds more than UDP_MAX_SEGMENTS segments (EINVAL). That
//     limit was 64 when UDP GSO appeared (Linux 4.18) and is 128 in recent
//     kernels (6.18 accepts 128 and refuses 129); [MaxGSOSegments] is the
//     value every GSO-capable kernel accepts.
//   - the whole buffer exceeds what one IP packet could carry, 65507 bytes
//     of UDP payload over IPv4 and 65527 over IPv6 (EMSGSIZE), although the
//     datagrams that leave are much smaller.
//   - one segment plus the IP and UDP headers exceeds the route's MTU
//     (EINVAL or EMSGSIZE): the kernel does not fragment GSO output, so over
//     Ethernet with MTU 1500 a segment is at most 1472 bytes (IPv4) or 1452
//     bytes (IPv6); over loopback (MTU 65536) any size up to the totals
//     above works for IPv4, and up to 65488 bytes for IPv6.
//   - the output device cannot compute UDP checksums (EIO), which
//     [Conn] answers by falling back to sending datagrams one by one.
const (
	// MaxGSOSegments is the number of segments per GSO send that every
	// kernel with UDP GSO accepts (the first ones had UDP_MAX_SEGMENTS 64;
	// newer ones accept 128).
	MaxGSOSegments = 64

	// MaxGSOSegmentsLimit is the highest UDP_MAX_SEGMENTS of any kernel
	// known (128). A send above it always fails.
	MaxGSOSegmentsLimit = 128

	// MaxPayloadIPv4 is the largest UDP payload of one IPv4 datagram, and
	// the largest buffer of one GSO send over IPv4: 65535 minus 20 bytes of
	// IPv4 header minus 8 bytes of UDP header.
	MaxPayloadIPv4 = 65507

	// MaxPayloadIPv6 is the largest UDP payload of one IPv6 datagram without
	// jumbograms, and the largest buffer of one GSO send over IPv6: the
	// 16-bit payload length covers the 8-byte UDP header and the data.
	MaxPayloadIPv6 = 65527

	// GROBufferSize is the receive buffer a GRO reader should give each
	// Message: the kernel coalesces at most 64 KiB into one receive, and a
	// smaller buffer truncates the run (Message.Truncated).
	GROBufferSize = 65536
)

// GSOSegments returns how many datagrams of segSize bytes one GSO send may
// carry when its buffer may hold at most maxBytes bytes (MaxPayloadIPv4 or
// MaxPayloadIPv6, or less to bound latency) and the kernel accepts at most
// maxSegments segments (MaxGSOSegments unless the kernel is known to accept
// more). It returns 0 when segSize is not positive, exceeds 65535 (the
// kernel takes it as 16 bits) or maxBytes, or maxSegments is not positive:
// such datagrams cannot go by GSO.
//
// For example GSOSegments(1472, MaxPayloadIPv4, MaxGSOSegments) is 44 and
// GSOSegments(8972, MaxPayloadIPv4, MaxGSOSegments) is 7.
func GSOSegments(segSize, maxBytes, maxSegments int) int {
	if segSize <= 0 || segSize > maxSegmentSize || segSize > maxBytes || maxSegments <= 0 {
		return 0
	}
	return min(maxBytes/segSize, maxSegments)
}

// GSOSend plans one GSO send a datagram at a time: which of the datagrams
// queued for one destination, taken in order, share one buffer. They must
// all have the length of the first except the last, which may be shorter,
// because the kernel can only cut a buffer into equal pieces followed by a
// short tail; so a run stops before a datagram longer than the first and
// right after a shorter one, and within the limits given to Start. An empty
// datagram never joins a run: it would vanish in the concatenation. Start
// begins a send; the zero value accepts nothing.
type GSOSend struct {
	seg, limit, count, total, maxBytes int
	closed                             bool
}

// Start begins a send whose first datagram has l bytes, within maxBytes
// and maxSegments as for GSOSegments. It reports whether more datagrams
// may join; when l cannot go by GSO none can, and the datagram goes alone.
func (g *GSOSend) Start(l, maxBytes, maxSegments int) bool {
	*g = GSOSend{seg: l, limit: GSOSegments(l, maxBytes, maxSegments), count: 1, total: l, maxBytes: maxBytes}
	return g.limit > 1
}

// Add reports whether the next datagram, of l bytes, joins the send, and
// counts it when it does. A datagram shorter than the first joins as the
// last one.
func (g *GSOSend) Add(l int) bool {
	if g.closed || g.count >= g.limit || l > g.seg || l <= 0 || g.total+l > g.maxBytes {
		return false
	}
	g.count++
	g.total += l
	g.closed = l < g.seg
	return true
}

// maxSegmentSize is the largest SegmentSize a GSO send can carry: the kernel
// takes it as a 16-bit value.
const maxSegmentSize = 65535
