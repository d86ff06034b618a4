//go:build linux

package xdp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// jumboByte is the content of byte j of jumbo datagram i.
func jumboByte(i, j int) byte { return byte(i*7 + j*13 + j>>8) }

// TestJumboMultiBuffer sends 8972-byte datagrams over a 9000-byte MTU: with
// 4 KiB chunks each arrives as three descriptors. Then it sends one back as
// a three-descriptor TX packet.
func TestJumboMultiBuffer(t *testing.T) {
	const port = 47004
	r := newRig(t, 9000, Config{Port: port, ChunkSize: 4096})
	if !r.s.MultiBuffer() || !r.s.steering().MultiBuffer() {
		t.Fatal("multi-buffer not enabled for MTU 9000")
	}
	t.Logf("mode %v", r.s.Mode())
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
	srcAddr := src.LocalAddr().(*net.UDPAddr).AddrPort()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.p.B.Addr4, port))

	const count, size = 20, 8972
	for i := range count {
		msg := make([]byte, size-i)
		for j := range msg {
			msg[j] = jumboByte(i, j)
		}
		if _, err := src.WriteToUDP(msg, dst); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	var pk Packet
	frags := make([][]byte, 0, 8)
	got := r.recvPackets(t, count, 5*time.Second, func(pkt []Desc) bool {
		if len(pkt) != 3 {
			t.Fatalf("jumbo packet in %d frames, want 3", len(pkt))
		}
		frags = frags[:0]
		for _, d := range pkt {
			frags = append(frags, r.s.descBytes(d))
		}
		if err := ParseFrags(frags, &pk, 0); err != nil {
			t.Fatalf("parse: %v", err)
		}
		i := size - pk.PayloadLen
		if i < 0 || i >= count || seen[i] {
			t.Fatalf("unexpected datagram of %d bytes", pk.PayloadLen)
		}
		// Walk the payload across the frames.
		j, off := 0, pk.PayloadOffset
		for _, f := range frags {
			if off >= len(f) {
				off -= len(f)
				continue
			}
			for _, c := range f[off:] {
				if j < pk.PayloadLen && c != jumboByte(i, j) {
					t.Fatalf("datagram %d corrupt at %d", i, j)
				}
				j++
			}
			off = 0
		}
		if j < pk.PayloadLen {
			t.Fatalf("datagram %d: %d of %d payload bytes in frames", i, j, pk.PayloadLen)
		}
		seen[i] = true
		return false
	})
	if got != count {
		st, _ := r.s.Stats()
		t.Fatalf("received %d of %d; stats %+v", got, count, st)
	}

	// Send one jumbo datagram back in three chunks: headers and the start of
	// the payload in the first, the rest in two continuation frames.
	hdr := Header{Src: netip.AddrPortFrom(r.p.B.Addr4, port), Dst: srcAddr}
	hdr.SrcMAC, _ = MAC(r.p.B.MAC)
	hdr.DstMAC, _ = MAC(r.p.A.MAC)
	const off = 256
	c0, c1, c2 := r.free[0], r.free[1], r.free[2]
	p0 := r.umem[c0+off : c0+4096]
	p1 := r.umem[c1 : c1+4096]
	p2 := r.umem[c2 : c2+uint64(size-len(p0)-4096)]
	j := 0
	for _, p := range [][]byte{p0, p1, p2} {
		for k := range p {
			p[k] = jumboByte(99, j)
			j++
		}
	}
	n, err := BuildUDPHeadersFrags(r.umem[c0:c0+off], &hdr, [][]byte{p0, p1, p2})
	if err != nil {
		t.Fatal(err)
	}
	tx := []Desc{
		{Addr: c0 + off - uint64(n), Len: uint32(n + len(p0)), Options: OptContinued},
		{Addr: c1, Len: uint32(len(p1)), Options: OptContinued},
		{Addr: c2, Len: uint32(len(p2))},
	}
	if k, err := r.s.Transmit(tx); err != nil || k != 3 {
		t.Fatalf("Transmit queued %d of 3: %v", k, err)
	}
	buf := make([]byte, 9000)
	if err := src.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	m, err := src.Read(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		st, _ := r.s.Stats()
		t.Fatalf("multi-buffer reply lost; stats %+v", st)
	}
	if err != nil {
		t.Fatal(err)
	}
	if m != size {
		t.Fatalf("reply of %d bytes, want %d", m, size)
	}
	for k := range m {
		if buf[k] != jumboByte(99, k) {
			t.Fatalf("reply corrupt at %d", k)
		}
	}
	comp := make([]uint64, 4)
	var done int
	for deadline := time.Now().Add(2 * time.Second); done < 3 && time.Now().Before(deadline); {
		k, err := r.s.Complete(comp[done:])
		if err != nil {
			t.Fatal(err)
		}
		done += k
	}
	if done != 3 {
		t.Fatalf("%d of 3 frames completed", done)
	}
}
