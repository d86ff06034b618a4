package mmsg

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestSockaddrRoundTrip(t *testing.T) {
	cases := []struct {
		in    string
		inet6 bool
		want  string // decoded form
		size  int
	}{
		{in: "127.0.0.1:9000", inet6: false, want: "127.0.0.1:9000", size: sizeofSockaddrInet4},
		{in: "[::ffff:10.1.2.3]:53", inet6: false, want: "10.1.2.3:53", size: sizeofSockaddrInet4},
		{in: "127.0.0.1:9000", inet6: true, want: "127.0.0.1:9000", size: sizeofSockaddrInet6},
		{in: "[::1]:65535", inet6: true, want: "[::1]:65535", size: sizeofSockaddrInet6},
		{in: "[2001:db8::7]:1", inet6: true, want: "[2001:db8::7]:1", size: sizeofSockaddrInet6},
		{in: "[fe80::1%7]:8", inet6: true, want: "[fe80::1%7]:8", size: sizeofSockaddrInet6},
	}
	for _, c := range cases {
		ap := netip.MustParseAddrPort(c.in)
		var sa sockaddr
		n, err := sa.setAddrPort(ap, c.inet6)
		if err != nil {
			t.Errorf("%s (inet6 %v): %v", c.in, c.inet6, err)
			continue
		}
		if n != c.size {
			t.Errorf("%s: length %d, want %d", c.in, n, c.size)
		}
		got, ok := sa.addrPort(n)
		if !ok || got.String() != c.want {
			t.Errorf("%s: decoded %v (ok %v), want %s", c.in, got, ok, c.want)
		}
	}
}

// TestSockaddrLayout pins the byte layout the kernel reads and writes.
func TestSockaddrLayout(t *testing.T) {
	var sa sockaddr
	if _, err := sa.setAddrPort(netip.MustParseAddrPort("1.2.3.4:258"), false); err != nil {
		t.Fatal(err)
	}
	if f := binary.NativeEndian.Uint16(sa[0:2]); f != afInet {
		t.Errorf("family %d, want %d", f, afInet)
	}
	if sa[2] != 1 || sa[3] != 2 {
		t.Errorf("port bytes %x %x, want network order 01 02", sa[2], sa[3])
	}
	if [4]byte(sa[4:8]) != [4]byte{1, 2, 3, 4} {
		t.Errorf("address bytes %v", sa[4:8])
	}
	if _, err := sa.setAddrPort(netip.MustParseAddrPort("1.2.3.4:258"), true); err != nil {
		t.Fatal(err)
	}
	want := [16]byte{10: 0xff, 11: 0xff, 12: 1, 13: 2, 14: 3, 15: 4}
	if [16]byte(sa[8:24]) != want {
		t.Errorf("mapped address bytes %v, want %v", sa[8:24], want)
	}
}

func TestSockaddrErrors(t *testing.T) {
	var sa sockaddr
	if _, err := sa.setAddrPort(netip.MustParseAddrPort("[::1]:1"), false); err == nil {
		t.Error("IPv6 destination on an IPv4 socket accepted")
	}
	if _, err := sa.setAddrPort(netip.AddrPort{}, true); err == nil {
		t.Error("invalid address accepted")
	}
	if _, err := sa.setAddrPort(netip.MustParseAddrPort("[fe80::1%no-such-interface-x]:1"), true); err == nil {
		t.Error("unknown zone accepted")
	}
	var empty sockaddr
	if _, ok := empty.addrPort(sizeofSockaddrInet6); ok {
		t.Error("family 0 decoded as an address")
	}
	if _, ok := sa.addrPort(0); ok {
		t.Error("zero-length address decoded")
	}
}

func TestSockaddrDecodeNoAlloc(t *testing.T) {
	for _, s := range []string{"127.0.0.1:1", "[::1]:2", "[::ffff:1.2.3.4]:3", "[fe80::2%3]:4"} {
		var sa sockaddr
		n, err := sa.setAddrPort(netip.MustParseAddrPort(s), true)
		if err != nil {
			t.Fatal(err)
		}
		var got netip.AddrPort
		allocs := testing.AllocsPerRun(100, func() {
			got, _ = sa.addrPort(n)
		})
		if allocs != 0 {
			t.Errorf("decoding %s allocated %.1f times", s, allocs)
		}
		if !got.IsValid() {
			t.Errorf("decoding %s failed", s)
		}
	}
}
