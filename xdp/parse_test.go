package xdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func TestParseValid(t *testing.T) {
	pay := []byte("0123456789abcdef-payload")
	tagged := hdr(testV4A, testV4B)
	tagged.Tagged, tagged.VLAN = true, 0xa07b
	nocsum := hdr(testV4A, testV4B)
	nocsum.NoUDPChecksum = true
	cases := []struct {
		name     string
		frame    []byte
		src, dst netip.AddrPort
		off      int
		tagged   bool
	}{
		{"ipv4", frame(hdr(testV4A, testV4B), pay), testV4A, testV4B, 42, false},
		{"ipv6", frame(hdr(testV6A, testV6B), pay), testV6A, testV6B, 62, false},
		{"vlan", frame(tagged, pay), testV4A, testV4B, 46, true},
		{"ipv4 no checksum", frame(nocsum, pay), testV4A, testV4B, 42, false},
		{"ipv4 options", withIPv4Options(frame(hdr(testV4A, testV4B), pay), []byte{1, 1, 1, 0}), testV4A, testV4B, 46, false},
		// Short frames are padded to 60 bytes on the wire.
		{"padded", append(frame(hdr(testV4A, testV4B), []byte("x")), make([]byte, 17)...), testV4A, testV4B, 42, false},
	}
	for _, c := range cases {
		var p Packet
		if err := Parse(c.frame, &p, 0); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want := pay
		if c.name == "padded" {
			want = []byte("x")
		}
		got := c.frame[p.PayloadOffset : p.PayloadOffset+p.PayloadLen]
		if !bytes.Equal(got, want) || p.PayloadOffset != c.off {
			t.Errorf("%s: payload %q at %d", c.name, got, p.PayloadOffset)
		}
		if p.Src() != c.src || p.Dst() != c.dst || p.Tagged != c.tagged || p.SrcMAC != testMACA || p.DstMAC != testMACB {
			t.Errorf("%s: %+v", c.name, p)
		}
		if c.tagged && p.VLAN != 0xa07b {
			t.Errorf("%s: VLAN %#x", c.name, p.VLAN)
		}
		if p.TTL != defaultTTL || p.headerLen() != c.off || p.UDPOffset != c.off-8 {
			t.Errorf("%s: TTL %d header %d", c.name, p.TTL, p.headerLen())
		}
	}
}

func TestParseErrors(t *testing.T) {
	v4 := frame(hdr(testV4A, testV4B), []byte("some payload"))
	v6 := frame(hdr(testV6A, testV6B), []byte("some payload"))
	mut := func(f []byte, fn func([]byte)) []byte {
		c := append([]byte(nil), f...)
		fn(c)
		return c
	}
	// fixIP recomputes the IPv4 header checksum after a mutation.
	fixIP := func(b []byte) {
		b[24], b[25] = 0, 0
		binary.BigEndian.PutUint16(b[24:], checksum(b[14:34]))
	}
	cases := []struct {
		name  string
		frame []byte
		want  ParseError
	}{
		{"empty", nil, ErrTruncated},
		{"arp", arpFrame(), ErrNotIP},
		{"two vlan tags", mut(frame(Header{Tagged: true, Src: testV4A, Dst: testV4B}, nil), func(b []byte) { binary.BigEndian.PutUint16(b[16:], 0x8100) }), ErrNotIP},
		{"ipv4 version", mut(v4, func(b []byte) { b[14] = 0x65; fixIP(b) }), ErrIPVersion},
		{"ipv6 version", mut(v6, func(b []byte) { b[14] = 0x45 }), ErrIPVersion},
		{"ihl 4", mut(v4, func(b []byte) { b[14] = 0x44 }), ErrIPHeaderLen},
		{"total below ihl", mut(v4, func(b []byte) { binary.BigEndian.PutUint16(b[16:], 19); fixIP(b) }), ErrIPHeaderLen},
		{"total beyond frame", mut(v4, func(b []byte) { binary.BigEndian.PutUint16(b[16:], 100); fixIP(b) }), ErrTruncated},
		{"ip checksum", mut(v4, func(b []byte) { b[24] ^= 1 }), ErrIPChecksum},
		{"more fragments", mut(v4, func(b []byte) { b[20] |= 0x20; fixIP(b) }), ErrFragment},
		{"fragment offset", mut(v4, func(b []byte) { b[21] = 8; fixIP(b) }), ErrFragment},
		{"tcp", mut(v4, func(b []byte) { b[23] = 6; fixIP(b) }), ErrNotUDP},
		{"ipv6 extension", mut(v6, func(b []byte) { b[20] = 0 }), ErrNotUDP},
		{"ipv6 payload beyond frame", mut(v6, func(b []byte) { binary.BigEndian.PutUint16(b[18:], 500) }), ErrTruncated},
		{"udp length 7", mut(v4, func(b []byte) { binary.BigEndian.PutUint16(b[38:], 7) }), ErrUDPLength},
		{"udp length beyond ip", mut(v4, func(b []byte) { binary.BigEndian.PutUint16(b[38:], 100) }), ErrUDPLength},
		{"ip payload below udp header", mut(v4, func(b []byte) { binary.BigEndian.PutUint16(b[16:], 27); fixIP(b) }), ErrUDPLength},
		{"udp checksum", mut(v4, func(b []byte) { b[len(b)-1] ^= 0x40 }), ErrUDPChecksum},
		{"udp checksum v6", mut(v6, func(b []byte) { b[len(b)-1] ^= 0x40 }), ErrUDPChecksum},
		{"zero checksum v6", mut(v6, func(b []byte) { b[60], b[61] = 0, 0 }), ErrUDPChecksum},
	}
	for _, c := range cases {
		var p Packet
		err := Parse(c.frame, &p, 0)
		var pe ParseError
		if !errors.As(err, &pe) || pe != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", ErrNotIP), ErrNotIP) {
		t.Error("a wrapped ParseError does not match its kind")
	}
	for e := ParseError(0); e <= ParseError(numParseErrors); e++ {
		if e.Error() == "" {
			t.Errorf("error %d has no text", e)
		}
	}

	// Skipping checksums accepts the corrupted ones.
	var p Packet
	if err := Parse(mut(v4, func(b []byte) { b[len(b)-1] ^= 0x40 }), &p, skipUDPChecksum); err != nil {
		t.Errorf("SkipUDPChecksum: %v", err)
	}
	if err := Parse(mut(v4, func(b []byte) { b[24] ^= 1 }), &p, skipIPChecksum); err != nil {
		t.Errorf("SkipIPChecksum: %v", err)
	}
}

// TestParseTruncations: every strict prefix of a valid frame is rejected
// without panicking.
func TestParseTruncations(t *testing.T) {
	tagged := hdr(testV6A, testV6B)
	tagged.Tagged = true
	for _, f := range [][]byte{
		frame(hdr(testV4A, testV4B), []byte("payload")),
		frame(hdr(testV6A, testV6B), []byte("payload")),
		frame(tagged, []byte("payload")),
	} {
		for n := range len(f) {
			var p Packet
			if err := Parse(f[:n], &p, 0); err == nil {
				t.Fatalf("prefix of %d of %d bytes accepted", n, len(f))
			}
		}
	}
}

// TestParseFrags: any split after the headers parses like the whole frame.
func TestParseFrags(t *testing.T) {
	pay := make([]byte, 3001)
	for i := range pay {
		pay[i] = byte(i * 31)
	}
	for _, h := range []Header{hdr(testV4A, testV4B), hdr(testV6A, testV6B)} {
		f := frame(h, pay)
		var whole Packet
		if err := Parse(f, &whole, 0); err != nil {
			t.Fatal(err)
		}
		for cut := whole.PayloadOffset; cut <= len(f); cut += 7 {
			for cut2 := cut; cut2 <= len(f); cut2 += 333 {
				var p Packet
				if err := ParseFrags([][]byte{f[:cut], f[cut:cut2], f[cut2:]}, &p, 0); err != nil {
					t.Fatalf("split %d/%d: %v", cut, cut2, err)
				}
				if p != whole {
					t.Fatalf("split %d/%d: %+v", cut, cut2, p)
				}
			}
		}
		bad := append([]byte(nil), f...)
		bad[len(bad)-5] ^= 1
		var p Packet
		if err := ParseFrags([][]byte{bad[:100], bad[100:1001], bad[1001:]}, &p, 0); !errors.Is(err, ErrUDPChecksum) {
			t.Fatalf("corrupt continuation frame: %v", err)
		}
		if err := ParseFrags([][]byte{f[:30], f[30:]}, &p, 0); err == nil {
			t.Fatal("headers split across frames accepted")
		}
	}
	var p Packet
	if err := ParseFrags(nil, &p, 0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("no frames: %v", err)
	}
}

func TestParseAllocs(t *testing.T) {
	f := frame(hdr(testV6A, testV6B), make([]byte, 1400))
	g := frame(hdr(testV4A, testV4B), make([]byte, 1400))
	var p Packet
	var failed int
	allocs := testing.AllocsPerRun(100, func() {
		_ = Parse(f, &p, 0)
		_ = Parse(g, &p, 0)
		if errors.Is(Parse(g[:30], &p, 0), ErrTruncated) {
			failed++
		}
	})
	if failed == 0 {
		t.Fatal("a truncated frame parsed")
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per parse", allocs)
	}
}

func BenchmarkParse1472(b *testing.B) {
	for _, c := range []struct {
		name string
		opts ParseOptions
	}{{"checksum", 0}, {"nochecksum", skipUDPChecksum}} {
		b.Run(c.name, func(b *testing.B) {
			f := frame(hdr(testV4A, testV4B), make([]byte, 1472))
			var p Packet
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Parse(f, &p, c.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/datagram")
		})
	}
}
