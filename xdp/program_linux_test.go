//go:build linux

package xdp

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"

	"udpstream.dev/internal/testutils"
)

// TestProgramVerdicts runs the steering program on crafted frames with
// BPF_PROG_TEST_RUN. A socket is registered for queue 0 (the queue a test
// run reports), so a match returns XDP_REDIRECT and anything else XDP_PASS.
func TestProgramVerdicts(t *testing.T) {
	r := newRig(t, 1500, Config{Port: testV4B.Port()})
	anyAddr := r.s.steering()

	// Same port, filtered on testV4B's address.
	v4only, err := newProgram(programConfig{Port: testV4B.Port(), Addr: testV4B.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer v4only.Close()
	v6only, err := newProgram(programConfig{Port: testV6B.Port(), Addr: testV6B.Addr(), MultiBuffer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v6only.Close()
	for _, p := range []*program{v4only, v6only} {
		if err := p.register(0, r.s.fd); err != nil {
			t.Fatal(err)
		}
	}

	pay := []byte("payload bytes")
	v4 := frame(hdr(testV4A, testV4B), pay)
	v6 := frame(hdr(testV6A, testV6B), pay)
	tagged := func(h Header) Header { h.Tagged, h.VLAN = true, 0x2064; return h }
	otherDst4 := netip.AddrPortFrom(netip.MustParseAddr("10.199.0.3"), testV4B.Port())
	otherDst6 := netip.AddrPortFrom(netip.MustParseAddr("fd00:199::3"), testV6B.Port())
	otherPort4 := netip.AddrPortFrom(testV4B.Addr(), testV4B.Port()+1)

	mut := func(f []byte, fn func([]byte)) []byte {
		c := append([]byte(nil), f...)
		fn(c)
		return c
	}
	cases := []struct {
		name          string
		frame         []byte
		any, on4, on6 uint32
	}{
		{"ipv4", v4, xdpRedirect, xdpRedirect, xdpPass},
		{"ipv4 options", withIPv4Options(v4, []byte{1, 1, 1, 0, 1, 1, 1, 0}), xdpRedirect, xdpRedirect, xdpPass},
		{"ipv4 max options", withIPv4Options(v4, make([]byte, 40)), xdpRedirect, xdpRedirect, xdpPass},
		{"ipv4 vlan", frame(tagged(hdr(testV4A, testV4B)), pay), xdpRedirect, xdpRedirect, xdpPass},
		{"ipv4 qinq tag", mut(frame(tagged(hdr(testV4A, testV4B)), pay), func(b []byte) { binary.BigEndian.PutUint16(b[12:], 0x88a8) }), xdpRedirect, xdpRedirect, xdpPass},
		{"ipv4 two tags", mut(frame(tagged(hdr(testV4A, testV4B)), pay), func(b []byte) { binary.BigEndian.PutUint16(b[16:], 0x8100) }), xdpPass, xdpPass, xdpPass},
		{"ipv4 other port", frame(hdr(testV4A, otherPort4), pay), xdpPass, xdpPass, xdpPass},
		{"ipv4 other address", frame(hdr(testV4A, otherDst4), pay), xdpRedirect, xdpPass, xdpPass},
		{"ipv4 first fragment", mut(v4, func(b []byte) { b[20] |= 0x20 }), xdpPass, xdpPass, xdpPass},
		{"ipv4 later fragment", mut(v4, func(b []byte) { b[21] = 1 }), xdpPass, xdpPass, xdpPass},
		{"ipv4 tcp", mut(v4, func(b []byte) { b[23] = 6 }), xdpPass, xdpPass, xdpPass},
		{"ipv4 ihl 4", mut(v4, func(b []byte) { b[14] = 0x44 }), xdpPass, xdpPass, xdpPass},
		{"ipv4 version 6", mut(v4, func(b []byte) { b[14] = 0x65 }), xdpPass, xdpPass, xdpPass},
		{"ipv4 truncated ip", v4[:14+19], xdpPass, xdpPass, xdpPass},
		{"ipv4 truncated udp", v4[:14+20+3], xdpPass, xdpPass, xdpPass},
		{"ipv4 options past end", withIPv4Options(v4, make([]byte, 40))[:14+60+3], xdpPass, xdpPass, xdpPass},
		{"ipv6", v6, xdpRedirect, xdpPass, xdpRedirect},
		{"ipv6 vlan", frame(tagged(hdr(testV6A, testV6B)), pay), xdpRedirect, xdpPass, xdpRedirect},
		{"ipv6 other address", frame(hdr(testV6A, otherDst6), pay), xdpRedirect, xdpPass, xdpPass},
		{"ipv6 hop-by-hop", mut(v6, func(b []byte) { b[20] = 0 }), xdpPass, xdpPass, xdpPass},
		{"ipv6 truncated", v6[:14+40+7], xdpPass, xdpPass, xdpPass},
		{"arp", arpFrame(), xdpPass, xdpPass, xdpPass},
		{"ethernet only", v4[:14], xdpPass, xdpPass, xdpPass},
	}
	for _, c := range cases {
		for _, p := range []struct {
			prog *program
			want uint32
			name string
		}{{anyAddr, c.any, "any"}, {v4only, c.on4, "v4only"}, {v6only, c.on6, "v6only"}} {
			got, err := p.prog.prog.Run(&ebpf.RunOptions{Data: c.frame})
			if err != nil {
				t.Fatalf("%s/%s: run: %v", c.name, p.name, err)
			}
			if got != p.want {
				t.Errorf("%s/%s: verdict %d, want %d", c.name, p.name, got, p.want)
			}
		}
	}
}

// TestProgramNoSocket: without a registered socket the redirect falls back
// to XDP_PASS rather than dropping.
func TestProgramNoSocket(t *testing.T) {
	testutils.RequireRoot(t)
	p, err := newProgram(programConfig{Port: testV4B.Port()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.prog.Run(&ebpf.RunOptions{Data: frame(hdr(testV4A, testV4B), []byte("x"))})
	if err != nil {
		t.Fatal(err)
	}
	if got != xdpPass {
		t.Fatalf("verdict %d, want XDP_PASS", got)
	}
}

var _ = testutils.New
