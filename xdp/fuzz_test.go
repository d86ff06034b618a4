package xdp

import (
	"bytes"
	"errors"
	"testing"
)

// maxHeaders is the longest header chain Parse accepts: Ethernet, one tag,
// IPv4 with 40 bytes of options, UDP.
const maxHeaders = ethHeaderLen + vlanTagLen + 60 + udpHeaderLen

func FuzzParse(f *testing.F) {
	pay := []byte("fuzz payload 0123456789")
	tag4 := hdr(testV4A, testV4B)
	tag4.Tagged, tag4.VLAN = true, 5
	tag6 := hdr(testV6A, testV6B)
	tag6.Tagged, tag6.VLAN = true, 6
	nocsum := hdr(testV4A, testV4B)
	nocsum.NoUDPChecksum = true
	seeds := [][]byte{
		frame(hdr(testV4A, testV4B), pay),
		frame(hdr(testV6A, testV6B), pay),
		frame(tag4, pay),
		frame(tag6, pay),
		frame(nocsum, nil),
		withIPv4Options(frame(hdr(testV4A, testV4B), pay), make([]byte, 40)),
		arpFrame(),
	}
	for _, s := range seeds {
		f.Add(s, uint8(0), uint16(len(s)/2))
		f.Add(s[:len(s)-3], uint8(skipUDPChecksum), uint16(20))
		f.Add(s[:30], uint8(0), uint16(0))
	}
	f.Add([]byte{}, uint8(0), uint16(0))

	f.Fuzz(func(t *testing.T, b []byte, opts uint8, cut uint16) {
		o := ParseOptions(opts) & (skipIPChecksum | skipUDPChecksum)
		var p Packet
		err := Parse(b, &p, o)
		if err != nil {
			var pe ParseError
			if !errors.As(err, &pe) || pe == 0 || int(pe) >= numParseErrors {
				t.Fatalf("error %v is not a ParseError", err)
			}
		} else {
			if p.UDPOffset+udpHeaderLen != p.PayloadOffset || p.PayloadLen < 0 || p.PayloadOffset+p.PayloadLen > len(b) {
				t.Fatalf("payload %d+%d outside %d bytes", p.PayloadOffset, p.PayloadLen, len(b))
			}
			if !p.SrcIP.IsValid() || p.SrcIP.Is4() != p.DstIP.Is4() {
				t.Fatalf("addresses %v %v", p.SrcIP, p.DstIP)
			}
			roundTrip(t, b, &p)
		}

		// Any split past the headers parses identically.
		k := int(cut)
		if k > len(b) {
			k = len(b)
		}
		if k >= maxHeaders || k == len(b) {
			var q Packet
			qerr := ParseFrags([][]byte{b[:k], b[k:]}, &q, o)
			if !errors.Is(qerr, err) && !(qerr == nil && err == nil) {
				t.Fatalf("split at %d: %v, whole: %v", k, qerr, err)
			}
			if err == nil && q != p {
				t.Fatalf("split at %d: %+v, whole %+v", k, q, p)
			}
		}
	})
}

// roundTrip rebuilds the headers of a parsed frame over its payload and
// checks the result parses to the same fields and payload.
func roundTrip(t *testing.T, b []byte, p *Packet) {
	h := Header{
		DstMAC: p.DstMAC, SrcMAC: p.SrcMAC, Tagged: p.Tagged, VLAN: p.VLAN,
		Src: p.Src(), Dst: p.Dst(), TTL: p.TTL,
	}
	if h.TTL == 0 {
		h.TTL = 1 // 0 means default in Header
	}
	pay := b[p.PayloadOffset : p.PayloadOffset+p.PayloadLen]
	n := h.Len()
	out := make([]byte, n+len(pay))
	copy(out[n:], pay)
	if _, err := BuildUDPHeaders(out[:n], &h, out[n:]); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	var q Packet
	if err := Parse(out, &q, 0); err != nil {
		t.Fatalf("rebuilt frame: %v", err)
	}
	if q.Src() != p.Src() || q.Dst() != p.Dst() || q.SrcMAC != p.SrcMAC || q.DstMAC != p.DstMAC ||
		q.Tagged != p.Tagged || q.VLAN != p.VLAN || !bytes.Equal(out[q.PayloadOffset:q.PayloadOffset+q.PayloadLen], pay) {
		t.Fatalf("rebuilt %+v, parsed %+v", q, p)
	}
}
