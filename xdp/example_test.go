package xdp_test

import (
	"errors"
	"fmt"
	"net/netip"

	"udpstream.dev/xdp"
)

// Headers are written in front of a payload that is already in place, as in
// a UMEM chunk, and the frame parses back to the same endpoints.
func ExampleBuildUDPHeaders() {
	const headroom = 64
	chunk := make([]byte, 2048)
	payload := chunk[headroom : headroom+5]
	copy(payload, "hello")

	h := xdp.Header{
		SrcMAC: [6]byte{2, 0, 0, 0, 0, 1},
		DstMAC: [6]byte{2, 0, 0, 0, 0, 2},
		Src:    netip.MustParseAddrPort("10.199.0.1:4000"),
		Dst:    netip.MustParseAddrPort("10.199.0.2:5000"),
	}
	n, err := xdp.BuildUDPHeaders(chunk[:headroom], &h, payload)
	if err != nil {
		panic(err)
	}
	frame := chunk[headroom-n : headroom+len(payload)]

	var p xdp.Packet
	if err := xdp.Parse(frame, &p, 0); err != nil {
		panic(err)
	}
	fmt.Println(n, p.Src(), p.Dst(), string(frame[p.PayloadOffset:p.PayloadOffset+p.PayloadLen]))
	// Output: 42 10.199.0.1:4000 10.199.0.2:5000 hello
}

// Malformed frames give typed errors that match their kind with errors.Is.
func ExampleParseError() {
	var p xdp.Packet
	arp := make([]byte, 42)
	arp[12], arp[13] = 0x08, 0x06
	for _, frame := range [][]byte{arp, arp[:10]} {
		err := xdp.Parse(frame, &p, 0)
		fmt.Println(err, errors.Is(err, xdp.ErrNotIP), errors.Is(err, xdp.ErrTruncated))
	}
	// Output:
	// xdp: not an IPv4 or IPv6 packet true false
	// xdp: truncated packet false true
}
