//go:build linux

package xdp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestReply echoes datagrams from A back to A through the TX ring, rewriting
// the headers in place in front of the received payload (no copy), and also
// sends fresh datagrams built in spare chunks. Completed frames go back to
// the fill ring. A's kernel verifies the checksums (RX checksum offload is
// off on A), so a wrong checksum would lose the datagram.
func TestReply(t *testing.T) {
	const port = 47003
	r := newRig(t, 1500, Config{Port: port}, withARP())
	src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
	srcAddr := src.LocalAddr().(*net.UDPAddr).AddrPort()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.p.B.Addr4, port))

	const count = 64
	for i := range count {
		if _, err := src.WriteToUDP(bytes.Repeat([]byte{byte(i)}, 200+i), dst); err != nil {
			t.Fatal(err)
		}
	}

	// A's ARP request for B taught B's kernel A's address.
	var peerMAC, ownMAC net.HardwareAddr
	if err := r.p.B.Do(func() error {
		var err error
		if peerMAC, err = NeighborMAC(r.p.B.Index, r.p.A.Addr4); err != nil {
			return err
		}
		ownMAC, err = interfaceMAC(r.p.B.Index)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(peerMAC, r.p.A.MAC) || !bytes.Equal(ownMAC, r.p.B.MAC) {
		t.Fatalf("neighbour %v own %v, want %v and %v", peerMAC, ownMAC, r.p.A.MAC, r.p.B.MAC)
	}
	hdr := Header{}
	hdr.DstMAC, _ = MAC(peerMAC)
	hdr.SrcMAC, _ = MAC(ownMAC)

	// Echo in place: the reply headers overwrite the request headers (and
	// part of the kernel headroom) right in front of the payload.
	var pk Packet
	var txq []Desc
	r.recvPackets(t, count, 5*time.Second, func(pkt []Desc) bool {
		d := pkt[0]
		if err := Parse(r.s.descBytes(d), &pk, 0); err != nil {
			t.Fatalf("parse: %v", err)
		}
		h := hdr
		h.Src, h.Dst, h.ID = pk.Dst(), pk.Src(), uint16(len(txq))
		payAddr := d.Addr + uint64(pk.PayloadOffset)
		base := r.s.chunkAddr(d.Addr)
		n, err := BuildUDPHeaders(r.umem[base:payAddr], &h, r.umem[payAddr:payAddr+uint64(pk.PayloadLen)])
		if err != nil {
			t.Fatal(err)
		}
		txq = append(txq, Desc{Addr: payAddr - uint64(n), Len: uint32(n + pk.PayloadLen)})
		return true // the chunk now belongs to the TX queue
	})
	if len(txq) != count {
		t.Fatalf("received %d of %d", len(txq), count)
	}

	// Fresh datagrams in spare chunks, payload first, headers in front.
	hdr.Src, hdr.Dst = netip.AddrPortFrom(r.p.B.Addr4, port), srcAddr
	for i, base := range r.free[:count] {
		const off = 256
		pay := r.umem[base+off : base+off+uint64(300+i)]
		for j := range pay {
			pay[j] = byte(i * j)
		}
		n, err := BuildUDPHeaders(r.umem[base:base+off], &hdr, pay)
		if err != nil {
			t.Fatal(err)
		}
		txq = append(txq, Desc{Addr: base + off - uint64(n), Len: uint32(n + len(pay))})
	}

	for sent := 0; sent < len(txq); {
		n, err := r.s.Transmit(txq[sent:])
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	// Every queued frame comes back through the completion ring; echoed
	// chunks return to the fill ring.
	done := map[uint64]bool{}
	comp := make([]uint64, 64)
	deadline := time.Now().Add(5 * time.Second)
	for len(done) < len(txq) && time.Now().Before(deadline) {
		n, err := r.s.Complete(comp)
		if err != nil {
			t.Fatal(err)
		}
		var refill []uint64
		for _, a := range comp[:n] {
			if done[a] {
				t.Fatalf("address %#x completed twice", a)
			}
			done[a] = true
			if !isSpare(r, a) {
				refill = append(refill, r.s.chunkAddr(a))
			}
		}
		if _, err := r.s.Fill(refill); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if _, err := r.s.Transmit(nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, d := range txq {
		if !done[d.Addr] {
			t.Fatalf("frame at %#x never completed", d.Addr)
		}
	}

	// A's socket must see every datagram intact.
	buf := make([]byte, 2048)
	if err := src.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	echoes, fresh := map[int]bool{}, map[int]bool{}
	for i := range txq {
		n, from, err := src.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %d of %d replies", i, len(txq))
		}
		if err != nil {
			t.Fatal(err)
		}
		if from != netip.AddrPortFrom(r.p.B.Addr4, port) {
			t.Fatalf("reply from %v", from)
		}
		switch {
		case n >= 200 && n < 200+count:
			k := n - 200
			if !bytes.Equal(buf[:n], bytes.Repeat([]byte{byte(k)}, n)) {
				t.Fatalf("echo %d corrupt", k)
			}
			echoes[k] = true
		case n >= 300 && n < 300+count:
			k := n - 300
			for j := range n {
				if buf[j] != byte(k*j) {
					t.Fatalf("reply %d corrupt at %d", k, j)
				}
			}
			fresh[k] = true
		default:
			t.Fatalf("reply of %d bytes", n)
		}
	}
	if len(echoes) != count || len(fresh) != count {
		t.Fatalf("%d distinct echoes and %d fresh replies, want %d each", len(echoes), len(fresh), count)
	}
	st, err := r.s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.TxInvalidDescs != 0 || st.RxInvalidDescs != 0 {
		t.Fatalf("kernel rejected descriptors: %+v", st)
	}
}

func isSpare(r *rig, a uint64) bool {
	for _, f := range r.free {
		if r.s.chunkAddr(a) == f {
			return true
		}
	}
	return false
}

// TestAttachPass: a pass program on the peer (as XDP redirects into a veth
// need) leaves the peer's stack working, here for frames sent through the
// TX ring, and detaches on Close.
func TestAttachPass(t *testing.T) {
	const port = 47011
	r := newRig(t, 1500, Config{Port: port})
	var closer interface{ Close() error }
	if err := r.p.A.Do(func() error {
		var err error
		closer, err = attachPass(r.p.A.Index)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if id, err := r.p.A.XDPProgID(); err != nil || id == 0 {
		t.Fatalf("no program on the peer: %d %v", id, err)
	}
	sink := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, port))
	h := Header{Src: netip.AddrPortFrom(r.p.B.Addr4, port), Dst: netip.AddrPortFrom(r.p.A.Addr4, port)}
	h.SrcMAC, _ = MAC(r.p.B.MAC)
	h.DstMAC, _ = MAC(r.p.A.MAC)
	base := r.free[0]
	copy(r.umem[base+128:], "through the pass program")
	n, err := BuildUDPHeaders(r.umem[base:base+128], &h, r.umem[base+128:base+128+24])
	if err != nil {
		t.Fatal(err)
	}
	if k, err := r.s.Transmit([]Desc{{Addr: base + 128 - uint64(n), Len: uint32(n + 24)}}); err != nil || k != 1 {
		t.Fatalf("Transmit %d: %v", k, err)
	}
	if err := sink.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	m, err := sink.Read(buf)
	if err != nil || string(buf[:m]) != "through the pass program" {
		t.Fatalf("peer got %q: %v", buf[:m], err)
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closer.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if id, _ := r.p.A.XDPProgID(); id != 0 {
		t.Fatal("pass program still attached")
	}
}
