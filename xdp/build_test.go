package xdp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// TestBuildRoundTrip builds headers in front of a payload already in place
// and parses the result back.
func TestBuildRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Src: testV4A, Dst: testV4B, TTL: 3, TOS: 0xb8, ID: 77},
		{Src: testV6A, Dst: testV6B, TTL: 9, TOS: 0x20},
		{Src: testV4A, Dst: testV4B, Tagged: true, VLAN: 0x0123},
		{Src: testV6A, Dst: testV6B, Tagged: true, VLAN: 0xe00f},
		{Src: testV4A, Dst: testV4B, NoUDPChecksum: true},
		{Src: testV6A, Dst: testV6B, NoUDPChecksum: true}, // ignored on IPv6
		{Src: netip.MustParseAddrPort("[::ffff:10.1.2.3]:9"), Dst: testV4B},
	} {
		h.SrcMAC, h.DstMAC = testMACA, testMACB
		for _, size := range []int{0, 1, 2, 1471, 1472, 8972} {
			const headroom = 256
			buf := make([]byte, headroom+size)
			for i := range size {
				buf[headroom+i] = byte(i * 7)
			}
			n, err := BuildUDPHeaders(buf[:headroom], &h, buf[headroom:])
			if err != nil {
				t.Fatal(err)
			}
			if n != h.Len() {
				t.Fatalf("wrote %d, Len %d", n, h.Len())
			}
			f := buf[headroom-n:]
			var p Packet
			if err := Parse(f, &p, 0); err != nil {
				t.Fatalf("%+v size %d: %v", h, size, err)
			}
			if p.Src() != netip.AddrPortFrom(h.Src.Addr().Unmap(), h.Src.Port()) || p.Dst() != h.Dst ||
				p.SrcMAC != h.SrcMAC || p.DstMAC != h.DstMAC || p.Tagged != h.Tagged || p.VLAN != h.VLAN {
				t.Fatalf("round trip %+v -> %+v", h, p)
			}
			wantTTL := h.TTL
			if wantTTL == 0 {
				wantTTL = defaultTTL
			}
			if p.TTL != wantTTL || p.PayloadOffset != n || p.PayloadLen != size {
				t.Fatalf("TTL %d payload %d+%d", p.TTL, p.PayloadOffset, p.PayloadLen)
			}
			udp := f[p.UDPOffset:]
			zero := udp[6] == 0 && udp[7] == 0
			if zero != (h.NoUDPChecksum && h.Src.Addr().Unmap().Is4()) {
				t.Fatalf("UDP checksum field %x for %+v", udp[6:8], h)
			}
		}
	}
}

// TestBuildKnownFrame pins the exact bytes of one IPv4 frame, including
// both checksums, computed independently.
func TestBuildKnownFrame(t *testing.T) {
	h := Header{
		DstMAC: [6]byte{0x02, 0, 0, 0, 0, 0x0b}, SrcMAC: [6]byte{0x02, 0, 0, 0, 0, 0x0a},
		Src: netip.MustParseAddrPort("192.168.0.1:1234"), Dst: netip.MustParseAddrPort("192.168.0.199:5678"),
		ID: 0x1c46,
	}
	buf := make([]byte, 42+4)
	copy(buf[42:], "abcd")
	if _, err := BuildUDPHeaders(buf[:42], &h, buf[42:]); err != nil {
		t.Fatal(err)
	}
	want := mustHex("02000000000b02000000000a0800" +
		"45000020" + "1c464000" + "4011" + "9c6e" + "c0a80001" + "c0a800c7" +
		"04d2162e000c" + "9df6" + "61626364")
	// IPv4 checksum: ~(4500+0020+1c46+4000+4011+c0a8+0001+c0a8+00c7) = 9c6e.
	// UDP: ~(c0a8+0001+c0a8+00c7+0011+000c + 04d2+162e+000c + 6162+6364) = 9df6.
	if !bytes.Equal(buf, want) {
		t.Fatalf("frame\n got %x\nwant %x", buf, want)
	}
}

func TestBuildErrors(t *testing.T) {
	room := make([]byte, 100)
	cases := []struct {
		name    string
		h       Header
		dst     []byte
		payload []byte
		want    error
	}{
		{"mixed families", Header{Src: testV4A, Dst: testV6B}, room, nil, ErrAddrFamily},
		{"no source", Header{Dst: testV4B}, room, nil, ErrAddrFamily},
		{"no room", Header{Src: testV6A, Dst: testV6B}, room[:61], nil, ErrNoRoom},
		{"too long v4", Header{Src: testV4A, Dst: testV4B}, room, make([]byte, 65508), ErrTooLong},
		{"too long v6", Header{Src: testV6A, Dst: testV6B}, room, make([]byte, 65528), ErrTooLong},
	}
	for _, c := range cases {
		if _, err := BuildUDPHeaders(c.dst, &c.h, c.payload); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if (&Header{Src: testV4A}).Len() != 0 {
		t.Error("Len of invalid header")
	}
	if _, ok := MAC(net.HardwareAddr{1, 2, 3}); ok {
		t.Error("MAC accepted 3 bytes")
	}
	if m, ok := MAC(net.HardwareAddr{1, 2, 3, 4, 5, 6}); !ok || m != [6]byte{1, 2, 3, 4, 5, 6} {
		t.Error("MAC")
	}
}

// TestBuildFrags: headers over a payload in several frames equal headers
// over the same payload in one piece.
func TestBuildFrags(t *testing.T) {
	pay := make([]byte, 8972)
	for i := range pay {
		pay[i] = byte(i ^ i>>8)
	}
	for _, h := range []Header{hdr(testV4A, testV4B), hdr(testV6A, testV6B)} {
		one := make([]byte, 62)
		n1, err := BuildUDPHeaders(one, &h, pay)
		if err != nil {
			t.Fatal(err)
		}
		many := make([]byte, 62)
		n2, err := BuildUDPHeadersFrags(many, &h, [][]byte{pay[:3777], pay[3777:3778], pay[3778:]})
		if err != nil {
			t.Fatal(err)
		}
		if n1 != n2 || !bytes.Equal(one, many) {
			t.Fatalf("frags headers differ: %x vs %x", one, many)
		}
	}
	h := hdr(testV4A, testV4B)
	if n, err := BuildUDPHeadersFrags(make([]byte, 42), &h, nil); err != nil || n != 42 {
		t.Fatalf("empty payload: %d %v", n, err)
	}
}

func TestBuildAllocs(t *testing.T) {
	h := hdr(testV6A, testV6B)
	buf := make([]byte, 62+1472)
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = BuildUDPHeaders(buf[:62], &h, buf[62:])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per build", allocs)
	}
}

func BenchmarkBuildUDPHeaders1472(b *testing.B) {
	h := hdr(testV4A, testV4B)
	buf := make([]byte, 42+1472)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildUDPHeaders(buf[:42], &h, buf[42:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/datagram")
}
