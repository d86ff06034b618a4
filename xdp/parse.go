package xdp

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes and protocol numbers used by the parser and the builder.
const (
	ethHeaderLen  = 14
	vlanTagLen    = 4
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	udpHeaderLen  = 8

	etherTypeIPv4  = 0x0800
	etherTypeIPv6  = 0x86dd
	etherTypeVLAN  = 0x8100 // IEEE 802.1Q
	etherTypeQinQ  = 0x88a8 // IEEE 802.1ad service tag, accepted as the one tag
	protoUDP       = 17
	ipv4FlagDF     = 0x4000
	ipv4FragMask   = 0x3fff // MF flag and fragment offset
	defaultTTL     = 64
	maxIPv4Payload = 0xffff - ipv4HeaderLen
)

// ParseError classifies why a frame is not a well-formed UDP datagram. It
// is a small integer so returning it as an error does not allocate; match
// a kind with errors.Is.
type ParseError uint8

// Parse errors. Every frame that Parse rejects maps to exactly one of these.
const (
	// ErrTruncated: the frame ends before the headers do, or the IP length
	// claims more bytes than were captured.
	ErrTruncated ParseError = iota + 1
	// ErrNotIP: the EtherType (after at most one VLAN tag) is neither IPv4
	// nor IPv6, for example ARP or a second VLAN tag.
	ErrNotIP
	// ErrIPVersion: the IP version nibble does not match the EtherType.
	ErrIPVersion
	// ErrIPHeaderLen: IPv4 IHL below 5 or total length below the header.
	ErrIPHeaderLen
	// ErrIPChecksum: the IPv4 header checksum does not verify.
	ErrIPChecksum
	// ErrFragment: an IPv4 fragment (MF set or nonzero offset); fragments
	// are left to the kernel, which can reassemble them.
	ErrFragment
	// ErrNotUDP: the IP payload is not UDP. IPv6 extension headers also
	// land here: they are not walked.
	ErrNotUDP
	// ErrUDPLength: the UDP length is below 8 or exceeds the IP payload.
	ErrUDPLength
	// ErrUDPChecksum: the UDP checksum does not verify, or is zero on IPv6
	// where RFC 8200 makes it mandatory.
	ErrUDPChecksum

	numParseErrors = int(ErrUDPChecksum) + 1
)

var parseErrorText = [numParseErrors]string{
	ErrTruncated:   "xdp: truncated packet",
	ErrNotIP:       "xdp: not an IPv4 or IPv6 packet",
	ErrIPVersion:   "xdp: IP version does not match EtherType",
	ErrIPHeaderLen: "xdp: bad IP header or total length",
	ErrIPChecksum:  "xdp: bad IPv4 header checksum",
	ErrFragment:    "xdp: IPv4 fragment",
	ErrNotUDP:      "xdp: not a UDP packet",
	ErrUDPLength:   "xdp: bad UDP length",
	ErrUDPChecksum: "xdp: bad UDP checksum",
}

// Error describes the parse failure.
func (e ParseError) Error() string {
	if int(e) < numParseErrors && e != 0 {
		return parseErrorText[e]
	}
	return "xdp: parse error"
}

// ParseOptions turn off checks whose cost or whose inputs the caller does not
// want. The zero value checks everything.
type ParseOptions uint8

const (
	// skipIPChecksum does not verify the IPv4 header checksum.
	skipIPChecksum ParseOptions = 1 << iota
	// skipUDPChecksum does not verify the UDP checksum. Needed for frames
	// whose sender left checksumming to an offload that never ran, as on a
	// veth whose peer has TX checksum offload on.
	skipUDPChecksum
	// AcceptPartialUDPChecksum accepts, without verifying the payload, a
	// UDP checksum field that holds only the folded pseudo-header sum: what
	// a sender relying on checksum offload (the kernel's CHECKSUM_PARTIAL)
	// leaves when no NIC completes it, as over a veth, and what a capture
	// taken before the NIC shows. Packet.PartialChecksum reports it. The
	// IPv4 header checksum and the link's frame check still cover such a
	// packet; a damaged checksum field matches by chance once in 65536.
	AcceptPartialUDPChecksum
)

// Packet holds the parsed headers of one Ethernet/IP/UDP frame. Offsets are
// from the first byte of the frame. It contains no pointers into the frame.
type Packet struct {
	// DstMAC and SrcMAC are the Ethernet addresses.
	DstMAC, SrcMAC [6]byte
	// VLAN is the tag control information (priority and VLAN ID) when
	// Tagged is true.
	VLAN uint16
	// Tagged reports one 802.1Q or 802.1ad tag between the MACs and the
	// EtherType.
	Tagged bool
	// SrcIP and DstIP are the IP addresses, both 4-byte or both 16-byte.
	SrcIP, DstIP netip.Addr
	// SrcPort and DstPort are the UDP ports.
	SrcPort, DstPort uint16
	// TTL is the IPv4 time to live or IPv6 hop limit.
	TTL uint8
	// UDPOffset is the offset of the UDP header.
	UDPOffset int
	// PayloadOffset and PayloadLen locate the UDP payload. Bytes after it
	// (Ethernet padding) are not part of the datagram.
	PayloadOffset, PayloadLen int
	// PartialChecksum reports a UDP checksum accepted unverified under
	// AcceptPartialUDPChecksum.
	PartialChecksum bool
}

// Src returns the source address and port.
func (p *Packet) Src() netip.AddrPort { return netip.AddrPortFrom(p.SrcIP, p.SrcPort) }

// Dst returns the destination address and port.
func (p *Packet) Dst() netip.AddrPort { return netip.AddrPortFrom(p.DstIP, p.DstPort) }

// headerLen is the number of bytes before the UDP payload.
func (p *Packet) headerLen() int { return p.PayloadOffset }

// Parse decodes an Ethernet frame carrying one UDP datagram over IPv4 or
// IPv6, optionally with one VLAN tag, and checks that every length field is
// consistent with the captured bytes and with each other, the IPv4 header
// checksum and the UDP checksum (IPv4 checksum 0 means "none"). It never
// panics and never allocates; failures are ParseErrors, after which the
// contents of p are unspecified.
//
// IPv6 extension headers are not walked: such packets fail with ErrNotUDP.
func Parse(frame []byte, p *Packet, opts ParseOptions) error {
	return parse(frame, nil, len(frame), p, opts)
}

// ParseFrags is Parse for a multi-buffer packet given as the bytes of each of
// its frames in order. All headers must lie in the first frame (they always
// do with 2 KiB or larger chunks); the length checks use the total size and
// the UDP checksum runs over all frames. Offsets in p refer to the
// concatenation of the frames.
func ParseFrags(frags [][]byte, p *Packet, opts ParseOptions) error {
	if len(frags) == 0 {
		return ErrTruncated
	}
	total := 0
	for _, f := range frags {
		total += len(f)
	}
	return parse(frags[0], frags[1:], total, p, opts)
}

// parse checks the frame's layers in order: Ethernet, IP, UDP, then the UDP
// checksum, whose bytes may run on into the frames in rest. total is the
// packet's size over all frames.
func parse(first []byte, rest [][]byte, total int, p *Packet, opts ParseOptions) error {
	off, etype, err := p.parseEthernet(first)
	if err != nil {
		return err
	}
	var pseudo csum // the pseudo-header's addresses, summed by the IP layer
	var udpOff, udpAvail int
	switch etype {
	case etherTypeIPv4:
		udpOff, udpAvail, err = p.parseIPv4(first, off, total, opts, &pseudo)
	case etherTypeIPv6:
		udpOff, udpAvail, err = p.parseIPv6(first, off, total, &pseudo)
	default:
		return ErrNotIP
	}
	if err != nil {
		return err
	}
	udpLen, err := p.parseUDP(first, udpOff, udpAvail)
	if err != nil {
		return err
	}
	p.PartialChecksum = false
	if opts&skipUDPChecksum != 0 {
		return nil
	}
	return p.checkUDPChecksum(first, rest, udpOff, udpLen, etype == etherTypeIPv6, opts, pseudo)
}

// parseEthernet reads the MACs and at most one VLAN tag, and returns the
// offset of the IP header and the EtherType that announces it.
func (p *Packet) parseEthernet(b []byte) (off int, etype uint16, err error) {
	if len(b) < ethHeaderLen {
		return 0, 0, ErrTruncated
	}
	p.DstMAC, p.SrcMAC = [6]byte(b[0:6]), [6]byte(b[6:12])
	etype = binary.BigEndian.Uint16(b[12:])
	p.Tagged = etype == etherTypeVLAN || etype == etherTypeQinQ
	p.VLAN = 0
	if !p.Tagged {
		return ethHeaderLen, etype, nil
	}
	if len(b) < ethHeaderLen+vlanTagLen {
		return 0, 0, ErrTruncated
	}
	p.VLAN = binary.BigEndian.Uint16(b[14:])
	return ethHeaderLen + vlanTagLen, binary.BigEndian.Uint16(b[16:]), nil
}

// parseIPv4 checks the IPv4 header at off against the packet's total size,
// reads its addresses into p and pseudo, and returns the offset of the UDP
// header and the bytes the IP layer says it carries.
func (p *Packet) parseIPv4(b []byte, off, total int, opts ParseOptions, pseudo *csum) (udpOff, udpAvail int, err error) {
	if len(b) < off+ipv4HeaderLen {
		return 0, 0, ErrTruncated
	}
	ip := b[off:]
	if ip[0]>>4 != 4 {
		return 0, 0, ErrIPVersion
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < ipv4HeaderLen {
		return 0, 0, ErrIPHeaderLen
	}
	if len(b) < off+ihl {
		return 0, 0, ErrTruncated
	}
	totalLen := int(binary.BigEndian.Uint16(ip[2:]))
	if totalLen < ihl {
		return 0, 0, ErrIPHeaderLen
	}
	if off+totalLen > total {
		return 0, 0, ErrTruncated
	}
	if opts&skipIPChecksum == 0 {
		var c csum
		c.add(ip[:ihl])
		if c.fold() != 0xffff {
			return 0, 0, ErrIPChecksum
		}
	}
	if binary.BigEndian.Uint16(ip[6:])&ipv4FragMask != 0 {
		return 0, 0, ErrFragment
	}
	if ip[9] != protoUDP {
		return 0, 0, ErrNotUDP
	}
	p.TTL = ip[8]
	p.SrcIP = netip.AddrFrom4([4]byte(ip[12:16]))
	p.DstIP = netip.AddrFrom4([4]byte(ip[16:20]))
	pseudo.add(ip[12:20])
	return off + ihl, totalLen - ihl, nil
}

// parseIPv6 is parseIPv4 for a fixed IPv6 header without extension headers.
func (p *Packet) parseIPv6(b []byte, off, total int, pseudo *csum) (udpOff, udpAvail int, err error) {
	if len(b) < off+ipv6HeaderLen {
		return 0, 0, ErrTruncated
	}
	ip := b[off:]
	if ip[0]>>4 != 6 {
		return 0, 0, ErrIPVersion
	}
	payLen := int(binary.BigEndian.Uint16(ip[4:]))
	if off+ipv6HeaderLen+payLen > total {
		return 0, 0, ErrTruncated
	}
	if ip[6] != protoUDP {
		return 0, 0, ErrNotUDP
	}
	p.TTL = ip[7]
	p.SrcIP = netip.AddrFrom16([16]byte(ip[8:24]))
	p.DstIP = netip.AddrFrom16([16]byte(ip[24:40]))
	pseudo.add(ip[8:40])
	return off + ipv6HeaderLen, payLen, nil
}

// parseUDP checks the UDP header at udpOff against the udpAvail bytes the IP
// layer carries, fills in the ports and the payload's place, and returns the
// UDP length.
func (p *Packet) parseUDP(b []byte, udpOff, udpAvail int) (udpLen int, err error) {
	if udpAvail < udpHeaderLen {
		return 0, ErrUDPLength
	}
	if len(b) < udpOff+udpHeaderLen {
		return 0, ErrTruncated
	}
	udp := b[udpOff:]
	udpLen = int(binary.BigEndian.Uint16(udp[4:]))
	if udpLen < udpHeaderLen || udpLen > udpAvail {
		return 0, ErrUDPLength
	}
	p.SrcPort = binary.BigEndian.Uint16(udp[0:])
	p.DstPort = binary.BigEndian.Uint16(udp[2:])
	p.UDPOffset = udpOff
	p.PayloadOffset = udpOff + udpHeaderLen
	p.PayloadLen = udpLen - udpHeaderLen
	return udpLen, nil
}

// checkUDPChecksum verifies the UDP checksum over the pseudo-header (whose
// addresses pseudo already holds), the UDP header and the payload, which
// starts in first and may continue in rest. A zero checksum means "none" on
// IPv4 and is an error on IPv6; under AcceptPartialUDPChecksum a field
// holding just the pseudo-header sum is accepted and flagged.
func (p *Packet) checkUDPChecksum(first []byte, rest [][]byte, udpOff, udpLen int, ipv6 bool, opts ParseOptions, pseudo csum) error {
	stored := binary.BigEndian.Uint16(first[udpOff+6:])
	if stored == 0 {
		if ipv6 {
			return ErrUDPChecksum
		}
		return nil // IPv4 sender chose not to checksum
	}
	pseudo.add16(protoUDP)
	pseudo.add16(uint16(udpLen))
	if opts&AcceptPartialUDPChecksum != 0 && stored == pseudo.fold() {
		p.PartialChecksum = true
		return nil
	}
	sumSpan(&pseudo, first[udpOff:], rest, udpLen)
	if pseudo.fold() != 0xffff {
		return ErrUDPChecksum
	}
	return nil
}

// sumSpan adds the first n bytes of the stream formed by head followed by
// the frames in rest.
func sumSpan(c *csum, head []byte, rest [][]byte, n int) {
	take := min(n, len(head))
	c.add(head[:take])
	n -= take
	for _, f := range rest {
		if n == 0 {
			return
		}
		take = min(n, len(f))
		c.add(f[:take])
		n -= take
	}
}
