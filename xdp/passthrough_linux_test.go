//go:build linux

package xdp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// TestPassThrough checks that traffic the program does not claim still
// reaches B's kernel: ARP (A resolves B), ICMP echo, UDP to another port,
// and a fragmented datagram to the steered port, while a small datagram to
// that port goes to the AF_XDP socket.
func TestPassThrough(t *testing.T) {
	const port = 47005
	r := newRig(t, 1500, Config{Port: port}, withARP())
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
	other := udpIn(t, &r.p.B, netip.AddrPortFrom(r.p.B.Addr4, port+1))
	// A kernel socket on the steered port sees only what XDP passes.
	same := udpIn(t, &r.p.B, netip.AddrPortFrom(r.p.B.Addr4, port))

	send := func(to netip.AddrPort, msg []byte) {
		t.Helper()
		if _, err := src.WriteToUDPAddrPort(msg, to); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(c *net.UDPConn, want []byte) {
		t.Helper()
		buf := make([]byte, 4096)
		if err := c.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("kernel socket %v: %v", c.LocalAddr(), err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("kernel socket %v got %d bytes, want %d", c.LocalAddr(), n, len(want))
		}
	}

	// UDP to another port: needs ARP first, so this covers ARP too.
	otherMsg := []byte("to the kernel")
	send(netip.AddrPortFrom(r.p.B.Addr4, port+1), otherMsg)
	expect(other, otherMsg)
	var mac net.HardwareAddr
	if err := r.p.A.Do(func() error {
		var err error
		mac, err = NeighborMAC(r.p.A.Index, r.p.B.Addr4)
		return err
	}); err != nil {
		t.Fatalf("A has no ARP entry for B: %v", err)
	}
	if !bytes.Equal(mac, r.p.B.MAC) {
		t.Fatalf("ARP resolved %v, want %v", mac, r.p.B.MAC)
	}

	// Fragmented datagram to the steered port: reassembled by the kernel.
	big := bytes.Repeat([]byte("fragment"), 400)
	send(netip.AddrPortFrom(r.p.B.Addr4, port), big)
	expect(same, big)

	// Small datagram to the steered port: AF_XDP, not the kernel socket.
	small := []byte("to the socket")
	send(netip.AddrPortFrom(r.p.B.Addr4, port), small)
	var pk Packet
	got := r.recvPackets(t, 1, 3*time.Second, func(pkt []Desc) bool {
		b := r.s.descBytes(pkt[0])
		if err := Parse(b, &pk, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b[pk.PayloadOffset:pk.PayloadOffset+pk.PayloadLen], small) {
			t.Fatalf("AF_XDP got %q", b[pk.PayloadOffset:])
		}
		return false
	})
	if got != 1 {
		t.Fatal("steered datagram did not reach the AF_XDP socket")
	}
	if err := same.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := same.Read(make([]byte, 64)); err == nil {
		t.Fatalf("kernel socket also got %d bytes of a steered datagram", n)
	}

	// ICMP echo.
	var pc *icmp.PacketConn
	if err := r.p.A.Do(func() error {
		var err error
		pc, err = icmp.ListenPacket("ip4:icmp", r.p.A.Addr4.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x4242, Seq: 1, Data: []byte("ping")}}
	wb, err := req.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo(wb, &net.IPAddr{IP: r.p.B.Addr4.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	rb := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(rb)
		if err != nil {
			t.Fatalf("no echo reply from B: %v", err)
		}
		m, err := icmp.ParseMessage(1, rb[:n])
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type == ipv4.ICMPTypeEchoReply && e.ID == 0x4242 {
			if from.String() != r.p.B.Addr4.String() {
				t.Fatalf("echo reply from %v", from)
			}
			break
		}
	}
}
