package xdp

import (
	"encoding/binary"
	"net/netip"
)

// Test frame constructors shared by the parser, builder and program tests.

var (
	testMACA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	testMACB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
	testV4A  = netip.MustParseAddrPort("10.199.0.1:40000")
	testV4B  = netip.MustParseAddrPort("10.199.0.2:5000")
	testV6A  = netip.MustParseAddrPort("[fd00:199::1]:40000")
	testV6B  = netip.MustParseAddrPort("[fd00:199::2]:5000")
)

// frame builds a complete frame with BuildUDPHeaders.
func frame(h Header, payload []byte) []byte {
	n := h.Len()
	b := make([]byte, n+len(payload))
	copy(b[n:], payload)
	if _, err := BuildUDPHeaders(b[:n], &h, b[n:]); err != nil {
		panic(err)
	}
	return b
}

func hdr(src, dst netip.AddrPort) Header {
	return Header{SrcMAC: testMACA, DstMAC: testMACB, Src: src, Dst: dst}
}

// withIPv4Options inserts opts (a multiple of 4 bytes) after the IPv4 header
// of an untagged frame and fixes IHL, lengths and the header checksum.
func withIPv4Options(f []byte, opts []byte) []byte {
	const ip = 14
	out := make([]byte, 0, len(f)+len(opts))
	out = append(out, f[:ip+20]...)
	out = append(out, opts...)
	out = append(out, f[ip+20:]...)
	out[ip] = 0x45 + byte(len(opts)/4)
	binary.BigEndian.PutUint16(out[ip+2:], binary.BigEndian.Uint16(out[ip+2:])+uint16(len(opts)))
	out[ip+10], out[ip+11] = 0, 0
	binary.BigEndian.PutUint16(out[ip+10:], checksum(out[ip:ip+20+len(opts)]))
	return out
}

// arpFrame is a broadcast ARP request.
func arpFrame() []byte {
	b := make([]byte, 42)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], testMACA[:])
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	binary.BigEndian.PutUint16(b[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	copy(b[22:28], testMACA[:])
	a, t := testV4A.Addr().As4(), testV4B.Addr().As4()
	copy(b[28:32], a[:])
	copy(b[38:42], t[:])
	return b
}
