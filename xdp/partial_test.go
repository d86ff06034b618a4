package xdp

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// pseudoHeader lays out the UDP pseudo-header of RFC 768 / RFC 8200.
func pseudoHeader(src, dst netip.Addr, udpLen int) []byte {
	var b []byte
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		b = append(append(b, s[:]...), d[:]...)
		return append(b, 0, 17, byte(udpLen>>8), byte(udpLen))
	}
	s, d := src.As16(), dst.As16()
	b = append(append(b, s[:]...), d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(udpLen))
	return append(b, 0, 0, 0, 17)
}

// TestParsePartialChecksum: a UDP checksum field holding the folded
// pseudo-header sum (the complement of the pseudo-header's Internet
// checksum, computed independently here) is accepted and reported under
// AcceptPartialUDPChecksum, refused without it, and one bit off is refused
// either way; a real checksum is still verified.
func TestParsePartialChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		src, dst := testV4A, testV4B
		if i%2 == 1 {
			src, dst = testV6A, testV6B
		}
		payload := make([]byte, 1+r.IntN(2000))
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		f := frame(hdr(src, dst), payload)
		var p Packet
		if err := Parse(f, &p, AcceptPartialUDPChecksum); err != nil || p.PartialChecksum {
			t.Fatalf("real checksum: %v, partial %v", err, p.PartialChecksum)
		}
		partial := ^checksum(pseudoHeader(src.Addr(), dst.Addr(), 8+len(payload)))
		binary.BigEndian.PutUint16(f[p.UDPOffset+6:], partial)
		if err := Parse(f, &p, AcceptPartialUDPChecksum); err != nil || !p.PartialChecksum {
			t.Fatalf("%v: partial checksum %#04x: %v, partial %v", src, partial, err, p.PartialChecksum)
		}
		if err := Parse(f, &p, 0); !errors.Is(err, ErrUDPChecksum) {
			t.Fatalf("partial checksum without the option: %v", err)
		}
		binary.BigEndian.PutUint16(f[p.UDPOffset+6:], partial^0x0100)
		if err := Parse(f, &p, AcceptPartialUDPChecksum); !errors.Is(err, ErrUDPChecksum) {
			t.Fatalf("damaged partial checksum: %v", err)
		}
	}
}
