//go:build linux

package xdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

func TestReceiveIPv4(t *testing.T) {
	const port = 47001
	r := newRig(t, 1500, Config{Port: port})
	t.Logf("mode %v zerocopy %v multibuffer %v", r.s.Mode(), r.s.zeroCopy(), r.s.MultiBuffer())
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.p.B.Addr4, port))

	const count = 200
	for i := range count {
		msg := make([]byte, 1472)
		binary.BigEndian.PutUint32(msg, uint32(i))
		for j := 4; j < len(msg); j++ {
			msg[j] = byte(i + j)
		}
		if _, err := src.WriteToUDP(msg[:100+i*6], dst); err != nil {
			t.Fatal(err)
		}
	}
	seen := make([]bool, count)
	var pk Packet
	got := r.recvPackets(t, count, 5*time.Second, func(pkt []Desc) bool {
		if len(pkt) != 1 {
			t.Fatalf("packet in %d frames", len(pkt))
		}
		b := r.s.descBytes(pkt[0])
		if err := Parse(b, &pk, 0); err != nil {
			t.Fatalf("parse: %v", err)
		}
		pl := b[pk.PayloadOffset : pk.PayloadOffset+pk.PayloadLen]
		i := int(binary.BigEndian.Uint32(pl))
		if i >= count || seen[i] || len(pl) != 100+i*6 {
			t.Fatalf("unexpected datagram %d of %d bytes", i, len(pl))
		}
		for j := 4; j < len(pl); j++ {
			if pl[j] != byte(i+j) {
				t.Fatalf("datagram %d byte %d corrupt", i, j)
			}
		}
		if pk.Src() != src.LocalAddr().(*net.UDPAddr).AddrPort() || pk.DstPort != port || pk.DstIP != r.p.B.Addr4 {
			t.Fatalf("addresses %v -> %v", pk.Src(), pk.Dst())
		}
		if !bytes.Equal(pk.SrcMAC[:], r.p.A.MAC) || !bytes.Equal(pk.DstMAC[:], r.p.B.MAC) {
			t.Fatalf("MACs %x -> %x", pk.SrcMAC, pk.DstMAC)
		}
		seen[i] = true
		return false
	})
	if got != count {
		t.Fatalf("received %d of %d datagrams", got, count)
	}
	st, err := r.s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v", st)
}

func TestReceiveIPv6(t *testing.T) {
	const port = 47002
	r := newRig(t, 1500, Config{Port: port}, withConfig(func(p *testutils.Pair, c *Config) { c.Addr = p.B.Addr6 }))
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr6, 0))
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.p.B.Addr6, port))
	const count = 50
	for i := range count {
		msg := bytes.Repeat([]byte{byte(i)}, 1000+i)
		if _, err := src.WriteToUDP(msg, dst); err != nil {
			t.Fatal(err)
		}
	}
	var pk Packet
	sizes := map[int]bool{}
	got := r.recvPackets(t, count, 5*time.Second, func(pkt []Desc) bool {
		b := r.s.descBytes(pkt[0])
		if err := Parse(b, &pk, 0); err != nil {
			t.Fatalf("parse: %v", err)
		}
		if !pk.DstIP.Is6() || pk.DstIP != r.p.B.Addr6 || pk.SrcIP != r.p.A.Addr6 {
			t.Fatalf("addresses %v -> %v", pk.Src(), pk.Dst())
		}
		pl := b[pk.PayloadOffset : pk.PayloadOffset+pk.PayloadLen]
		i := len(pl) - 1000
		if !bytes.Equal(pl, bytes.Repeat([]byte{byte(i)}, len(pl))) {
			t.Fatalf("datagram of %d bytes corrupt", len(pl))
		}
		sizes[len(pl)] = true
		return false
	})
	if got != count || len(sizes) != count {
		t.Fatalf("received %d of %d datagrams (%d distinct)", got, count, len(sizes))
	}
}

// TestReceiveOnly: a socket without a TX ring receives, and refuses to send.
func TestReceiveOnly(t *testing.T) {
	const port = 47012
	r := newRig(t, 1500, Config{Port: port, RxSize: 64, FillSize: 512, CompletionSize: 64, TxSize: -1})
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
	for range 5 {
		if _, err := src.WriteToUDPAddrPort([]byte("rx only"), netip.AddrPortFrom(r.p.B.Addr4, port)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.recvPackets(t, 5, 3*time.Second, func([]Desc) bool { return false }); got != 5 {
		t.Fatalf("received %d of 5", got)
	}
	if _, err := r.s.Transmit([]Desc{{Addr: r.free[0], Len: 60}}); !errors.Is(err, ErrNoTxRing) {
		t.Fatalf("Transmit on receive-only socket: %v", err)
	}
	if r.s.TxFree() != 0 {
		t.Fatal("TxFree on receive-only socket")
	}
	st, err := r.s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.TxRingEmpty != 0 {
		t.Fatalf("TX ring looked at without a TX ring: %+v", st)
	}
}
