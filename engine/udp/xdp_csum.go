package udp

import (
	"encoding/binary"
	"net/netip"
)

// udpPartialChecksum is what a sender leaves in the UDP checksum field when
// it relies on checksum offload (the kernel's CHECKSUM_PARTIAL): the folded
// ones' complement sum of the pseudo-header only, not complemented. A veth
// whose peer offloads checksums, and any capture taken before the NIC
// computes the real value, show it. A datagram carrying exactly this value
// is accepted without its payload being verified: the IPv4 header checksum
// and the link's frame check still cover it, and a corrupted checksum field
// matches by chance once in 65536 damaged datagrams.
func udpPartialChecksum(src, dst netip.Addr, udpLen int) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
		sum += uint32(udpLen >> 16)
	}
	sum += 17 // protocol UDP
	sum += uint32(udpLen & 0xffff)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
