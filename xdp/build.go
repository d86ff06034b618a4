package xdp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
)

// Header describes the Ethernet, IP and UDP headers BuildUDPHeaders writes.
type Header struct {
	// DstMAC and SrcMAC are the Ethernet addresses (see NeighborMAC and
	// ResolveNeighbor for how to find a peer's; net.Interface has one's own).
	DstMAC, SrcMAC [6]byte
	// Tagged inserts one 802.1Q tag carrying VLAN (priority and VLAN ID).
	Tagged bool
	// VLAN is the tag control information used when Tagged is set.
	VLAN uint16
	// Src and Dst are the IP endpoints; both IPv4 or both IPv6
	// (IPv4-mapped IPv6 addresses count as IPv4).
	Src, Dst netip.AddrPort
	// TTL is the IPv4 time to live or IPv6 hop limit; 0 means 64.
	TTL uint8
	// TOS is the IPv4 type of service or IPv6 traffic class byte.
	TOS uint8
	// ID is the IPv4 identification field. Datagrams are sent with Don't
	// Fragment set, so it only matters to tools that look at it.
	ID uint16
	// NoUDPChecksum writes a zero UDP checksum on IPv4, which RFC 768
	// allows and which saves one pass over the payload: the IPv4 header
	// checksum and the Ethernet FCS still protect the frame on each link.
	// IPv6 requires the checksum (RFC 8200), so it is ignored there.
	NoUDPChecksum bool
}

// Errors returned by BuildUDPHeaders.
var (
	// ErrAddrFamily: an address is missing, or one is IPv4 and the other
	// IPv6.
	ErrAddrFamily = errors.New("xdp: source and destination must both be valid IPv4 or both IPv6 addresses")
	// ErrNoRoom: dst is shorter than Header.Len.
	ErrNoRoom = errors.New("xdp: headroom too small for the headers")
	// ErrTooLong: the UDP length or IP total length would exceed 65535.
	ErrTooLong = errors.New("xdp: payload too long for one UDP datagram")
)

// MAC converts a net.HardwareAddr of 6 bytes to the array form Header uses.
// Other lengths give the zero address and false.
func MAC(hw net.HardwareAddr) ([6]byte, bool) {
	if len(hw) != 6 {
		return [6]byte{}, false
	}
	return [6]byte(hw), true
}

// v4 reports whether the header describes IPv4, after checking that both
// addresses are valid and of the same family.
func (h *Header) v4() (bool, error) {
	s, d := h.Src.Addr().Unmap(), h.Dst.Addr().Unmap()
	if !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4() {
		return false, ErrAddrFamily
	}
	return s.Is4(), nil
}

// Len returns the number of header bytes BuildUDPHeaders writes, or 0 if the
// addresses are invalid.
func (h *Header) Len() int {
	is4, err := h.v4()
	if err != nil {
		return 0
	}
	n := ethHeaderLen + udpHeaderLen
	if h.Tagged {
		n += vlanTagLen
	}
	if is4 {
		return n + ipv4HeaderLen
	}
	return n + ipv6HeaderLen
}

// BuildUDPHeaders writes the Ethernet, IP and UDP headers for payload into
// the last Len() bytes of dst, so that a payload already sitting in a UMEM
// frame right after dst can be sent without being moved. The IPv4 header
// checksum and the UDP checksum (over the payload) are computed. It returns
// the number of header bytes written; the frame to send starts at
// len(dst)-n.
//
// Typical use with a UMEM chunk whose payload was written at offset hr:
//
//	n, err := BuildUDPHeaders(chunk[:hr], &h, chunk[hr:hr+size])
//	d := Desc{Addr: base + uint64(hr-n), Len: uint32(n + size)}
func BuildUDPHeaders(dst []byte, h *Header, payload []byte) (int, error) {
	return buildHeaders(dst, h, payload, nil)
}

// BuildUDPHeadersFrags is BuildUDPHeaders for a payload spread over several
// frames of a multi-buffer packet: payload[0] follows dst, the others are the
// continuation frames in order.
func BuildUDPHeadersFrags(dst []byte, h *Header, payload [][]byte) (int, error) {
	if len(payload) == 0 {
		return buildHeaders(dst, h, nil, nil)
	}
	return buildHeaders(dst, h, payload[0], payload[1:])
}

// buildHeaders writes the headers layer by layer, outermost first, into the
// tail of dst; the UDP checksum runs over first and then the frames in rest.
func buildHeaders(dst []byte, h *Header, first []byte, rest [][]byte) (int, error) {
	is4, err := h.v4()
	if err != nil {
		return 0, err
	}
	plen := len(first)
	for _, f := range rest {
		plen += len(f)
	}
	udpLen := udpHeaderLen + plen
	if udpLen > 0xffff || (is4 && udpLen > maxIPv4Payload) {
		return 0, ErrTooLong
	}
	n := h.Len()
	if len(dst) < n {
		return 0, ErrNoRoom
	}
	b := dst[len(dst)-n:]
	off := h.putEthernet(b, is4)
	var sum csum // the pseudo-header's addresses, added by the IP layer
	var udp []byte
	if is4 {
		h.putIPv4(b[off:off+ipv4HeaderLen], udpLen, &sum)
		udp = b[off+ipv4HeaderLen:]
	} else {
		h.putIPv6(b[off:off+ipv6HeaderLen], udpLen, &sum)
		udp = b[off+ipv6HeaderLen:]
	}
	h.putUDP(udp, udpLen, is4, first, rest, sum)
	return n, nil
}

// putEthernet writes the MACs, the VLAN tag if any and the EtherType of the
// IP version, and returns the offset of the IP header.
func (h *Header) putEthernet(b []byte, is4 bool) int {
	copy(b[0:6], h.DstMAC[:])
	copy(b[6:12], h.SrcMAC[:])
	off := 12
	if h.Tagged {
		binary.BigEndian.PutUint16(b[off:], etherTypeVLAN)
		binary.BigEndian.PutUint16(b[off+2:], h.VLAN)
		off += vlanTagLen
	}
	etype := uint16(etherTypeIPv6)
	if is4 {
		etype = etherTypeIPv4
	}
	binary.BigEndian.PutUint16(b[off:], etype)
	return off + 2
}

// ttl returns the time to live or hop limit to send with.
func (h *Header) ttl() uint8 {
	if h.TTL == 0 {
		return defaultTTL
	}
	return h.TTL
}

// putIPv4 writes the IPv4 header, with Don't Fragment and its checksum, into
// ip, for a UDP datagram of udpLen bytes, and adds the addresses to the
// pseudo-header sum.
func (h *Header) putIPv4(ip []byte, udpLen int, sum *csum) {
	ip[0] = 0x45
	ip[1] = h.TOS
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HeaderLen+udpLen))
	binary.BigEndian.PutUint16(ip[4:], h.ID)
	binary.BigEndian.PutUint16(ip[6:], ipv4FlagDF)
	ip[8] = h.ttl()
	ip[9] = protoUDP
	ip[10], ip[11] = 0, 0
	s4, d4 := h.Src.Addr().Unmap().As4(), h.Dst.Addr().Unmap().As4()
	copy(ip[12:16], s4[:])
	copy(ip[16:20], d4[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	sum.add(ip[12:20])
}

// putIPv6 is putIPv4 for the IPv6 header, which has no checksum.
func (h *Header) putIPv6(ip []byte, udpLen int, sum *csum) {
	binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(h.TOS)<<20)
	binary.BigEndian.PutUint16(ip[4:], uint16(udpLen))
	ip[6] = protoUDP
	ip[7] = h.ttl()
	s16, d16 := h.Src.Addr().As16(), h.Dst.Addr().As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	sum.add(ip[8:40])
}

// putUDP writes the UDP header and, unless IPv4 goes without one
// (NoUDPChecksum), its checksum over the pseudo-header sum so far, the header
// and the payload in first and rest.
func (h *Header) putUDP(udp []byte, udpLen int, is4 bool, first []byte, rest [][]byte, sum csum) {
	binary.BigEndian.PutUint16(udp[0:], h.Src.Port())
	binary.BigEndian.PutUint16(udp[2:], h.Dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	udp[6], udp[7] = 0, 0
	if is4 && h.NoUDPChecksum {
		return
	}
	sum.add16(protoUDP)
	sum.add16(uint16(udpLen))
	sum.add(udp[:udpHeaderLen])
	sum.add(first)
	for _, f := range rest {
		sum.add(f)
	}
	c := ^sum.fold()
	if c == 0 {
		c = 0xffff // 0 would mean "no checksum"
	}
	binary.BigEndian.PutUint16(udp[6:], c)
}
