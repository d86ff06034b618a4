//go:build linux

package udp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/xdp"
)

// udpIn opens a plain UDP socket in a side's namespace.
func udpIn(t *testing.T, s *testutils.Side, laddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	in(t, s, func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestXDPRawSender: datagrams from a plain socket in A reach the AF_XDP
// server in B intact and in order (A resolves B by ARP, which the steering
// program leaves to B's kernel), the server learns A as its peer, and its
// replies through the Slave side reach A's socket with valid checksums (A
// verifies them: its checksum offload is off).
func TestXDPRawSender(t *testing.T) {
	for _, mode := range []xdp.Mode{xdp.ModeAuto, xdp.ModeGenericCopy} {
		t.Run(mode.String(), func(t *testing.T) { testXDPRawSender(t, mode) })
	}
}

func testXDPRawSender(t *testing.T, mode xdp.Mode) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, true)
	srv := xdpServerIn(t, &p.B, 0, false, WithXDP(p.B.Link, 0, mode))
	wantMode := mode
	if mode == xdp.ModeAuto {
		wantMode = xdp.ModeNativeCopy // the best a veth offers
	}
	if got := srv.Stats().XDP.Mode; got != wantMode.String() {
		t.Fatalf("mode %s for %v, want %v", got, mode, wantMode)
	}
	col := newCollector(0, true)
	engine.Connect(srv, col)
	src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr4, 0))
	dst := netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))

	const total, window = 3000, 200
	buf := make([]byte, MaxPayloadStandard)
	for sent := 0; sent < total; {
		for range window {
			n := 4 + sent%(MaxPayloadStandard-3)
			testutils.FillPattern(buf[:n], uint32(sent))
			if _, err := src.WriteToUDPAddrPort(buf[:n], dst); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		testutils.Eventually(t, 5*time.Second, "a window of datagrams", func() bool { return col.n.Load() == int64(sent) })
	}
	for i, b := range col.got() {
		seq, ok := testutils.CheckPattern(b)
		if !ok || seq != uint32(i) || len(b) != 4+i%(MaxPayloadStandard-3) {
			t.Fatalf("datagram %d: sequence %d, %d bytes, intact %v", i, seq, len(b), ok)
		}
	}
	want := src.LocalAddr().(*net.UDPAddr).AddrPort()
	if srv.Peer() != want {
		t.Fatalf("peer %v, want %v", srv.Peer(), want)
	}

	// Replies: from the server's pool (in place) and from another pool
	// (copied into the UMEM).
	other := engine.NewPool()
	for i, pool := range []*engine.Pool{srv.ep.txPool, other} {
		msg := bytes.Repeat([]byte{byte(0xa0 + i)}, 1000+i)
		f := frameOf(t, pool, msg)
		if err := srv.Send(f); err != nil {
			t.Fatal(err)
		}
		f.Release()
		got := make([]byte, 2000)
		src.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, from, err := src.ReadFromUDPAddrPort(got)
		if err != nil {
			t.Fatalf("reply %d: %v; server %+v", i, err, srv.Stats())
		}
		if from != dst || !bytes.Equal(got[:n], msg) {
			t.Fatalf("reply %d from %v: %d bytes, want %d from %v", i, from, n, len(msg), dst)
		}
	}
	st := srv.Stats()
	if st.RxFrames != total || st.TxFrames != 2 || st.XDP.TxCopies != 1 || st.XDP.RxMalformed != 0 || st.XDP.RxChecksumOffloaded > 1 {
		t.Fatalf("stats %+v", st)
	}
	testutils.Eventually(t, 2*time.Second, "transmit buffers back in the pool", func() bool {
		srv.Stats() // reaps completions
		return srv.AllocCount() == xdpRingSizes(2048).posted
	})
}

// TestXDPNoPeer: a server that has heard from nobody cannot reply.
func TestXDPNoPeer(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, false)
	srv := xdpServerIn(t, &p.B, 0, false)
	f := frameOf(t, srv.ep.txPool, []byte("to nobody"))
	defer f.Release()
	if err := srv.Send(f); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Send without a peer: %v", err)
	}
	srv.AcceptFrame(f)
	if f.Error() != TxErrorCode {
		t.Fatalf("frame error %#x after AcceptFrame without a peer", f.Error())
	}
	if st := srv.Stats(); st.TxNoPeer != 2 || st.TxFrames != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestXDPPassThrough: traffic the steering program does not claim still
// reaches B's kernel (UDP to another port, ICMP echo, a fragmented datagram
// to the server's port), and none of it reaches the server's slaves.
func TestXDPPassThrough(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, false)
	srv := xdpServerIn(t, &p.B, 0, false)
	col := newCollector(1, false)
	engine.Connect(srv, col)
	other := udpIn(t, &p.B, netip.AddrPortFrom(p.B.Addr4, 0))
	src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr4, 0))

	msg := []byte("to the kernel")
	if _, err := src.WriteToUDPAddrPort(msg, other.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 64)
	other.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := other.Read(got); err != nil || !bytes.Equal(got[:n], msg) {
		t.Fatalf("kernel socket on another port got %q: %v", got[:n], err)
	}
	// A fragmented datagram (4000 bytes over MTU 1500) is the kernel's to
	// reassemble; the port-holding socket absorbs it.
	if _, err := src.WriteToUDPAddrPort(make([]byte, 4000), netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))); err != nil {
		t.Fatal(err)
	}

	var pc *icmp.PacketConn
	in(t, &p.A, func() error {
		var err error
		pc, err = icmp.ListenPacket("ip4:icmp", p.A.Addr4.String())
		return err
	})
	defer pc.Close()
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x5151, Seq: 1, Data: []byte("ping")}}
	wb, err := req.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo(wb, &net.IPAddr{IP: p.B.Addr4.AsSlice()}); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(3 * time.Second))
	rb := make([]byte, 1500)
	for {
		n, _, err := pc.ReadFrom(rb)
		if err != nil {
			t.Fatalf("no echo reply from B: %v", err)
		}
		m, err := icmp.ParseMessage(1, rb[:n])
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type == ipv4.ICMPTypeEchoReply && e.ID == 0x5151 {
			break
		}
	}
	// The server still works, and saw none of the above.
	if _, err := src.WriteToUDPAddrPort([]byte("steered"), netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 3*time.Second)
	if st := srv.Stats(); st.RxFrames != 1 || st.XDP.RxMalformed != 0 {
		t.Fatalf("server stats %+v", st)
	}
}

// TestXDPCloseFreesUMEM: Close detaches the program, stops every goroutine
// and unmaps the UMEM; frames a slave kept stay readable until released,
// the UMEM goes with the last of them, and the closed server's pool hands
// out nothing.
func TestXDPCloseFreesUMEM(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := map[bool]string{false: "idle", true: "frame-kept"}[keep]
		t.Run(name, func(t *testing.T) {
			testutils.Leak(t)
			p := xdpPair(t, 1500, false)
			srv := xdpServerIn(t, &p.B, 0, false)
			if id, err := p.B.XDPProgID(); err != nil || id == 0 {
				t.Fatalf("no XDP program after NewServer: %d %v", id, err)
			}
			var kept engine.Frame
			col := newCollector(1, false)
			col.each = func(f engine.Frame) {
				if keep {
					f.Retain()
					kept = f
				}
			}
			engine.Connect(srv, col)
			src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr4, 0))
			msg := bytes.Repeat([]byte("kept frame "), 100)
			if _, err := src.WriteToUDPAddrPort(msg, netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))); err != nil {
				t.Fatal(err)
			}
			col.wait(t, 3*time.Second)
			umem := srv.ep.tp.(*xdpPath).umem
			if !umemMapped(t, umem) {
				t.Fatal("UMEM not found in the memory map")
			}
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			if err := srv.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if id, _ := p.B.XDPProgID(); id != 0 {
				t.Fatalf("program %d still attached after Close", id)
			}
			if _, err := srv.AcceptReq(100, true); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("AcceptReq after Close: %v", err)
			}
			if !keep {
				if umemMapped(t, umem) || !srv.ep.tp.(*xdpPath).unmapped.Load() {
					t.Fatal("UMEM still mapped after Close")
				}
				return
			}
			if !umemMapped(t, umem) || srv.AllocCount() != 1 {
				t.Fatalf("UMEM unmapped (or %d buffers out) while a slave holds a frame", srv.AllocCount())
			}
			got := make([]byte, kept.Payload())
			if _, err := kept.ReadAt(got, 0); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("kept frame after Close: %v", err)
			}
			kept.Release()
			if umemMapped(t, umem) || !srv.ep.tp.(*xdpPath).unmapped.Load() {
				t.Fatal("UMEM still mapped after the last frame was released")
			}
		})
	}
}

// TestXDPMalformed: packets for the server's port that are not well-formed
// UDP datagrams (sent raw from A) are counted and dropped; a good one
// after them is delivered.
func TestXDPMalformed(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, false)
	srv := xdpServerIn(t, &p.B, 0, false)
	col := newCollector(1, true)
	engine.Connect(srv, col)
	h := xdp.Header{
		Src: netip.AddrPortFrom(p.A.Addr4, 40000),
		Dst: netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port())),
	}
	h.SrcMAC, _ = xdp.MAC(p.A.MAC)
	h.DstMAC, _ = xdp.MAC(p.B.MAC)
	payload := []byte("payload of a raw datagram")
	build := func(corrupt func(pkt []byte)) []byte {
		pkt := make([]byte, 42+len(payload))
		copy(pkt[42:], payload)
		if _, err := xdp.BuildUDPHeaders(pkt[:42], &h, pkt[42:]); err != nil {
			t.Fatal(err)
		}
		corrupt(pkt)
		return pkt
	}
	bad := [][]byte{
		build(func(b []byte) { b[14+8]-- }),                           // TTL: IPv4 header checksum fails
		build(func(b []byte) { b[14+3] += 200 }),                      // IP total length beyond the frame
		build(func(b []byte) { b[14+20+5] += 100 }),                   // UDP length beyond the IP payload
		build(func(b []byte) { b[len(b)-1] ^= 0xff }),                 // payload: UDP checksum fails
		build(func(b []byte) { b[14+20+6], b[14+20+7] = 0x12, 0x34 }), // UDP checksum field
	}
	good := build(func([]byte) {})
	var fd int
	in(t, &p.A, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		return err
	})
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: p.A.Index, Halen: 6}
	copy(to.Addr[:], p.B.MAC)
	for _, pkt := range append(bad, good) {
		if err := unix.Sendto(fd, pkt, 0, to); err != nil {
			t.Fatal(err)
		}
	}
	col.wait(t, 3*time.Second)
	if got := col.got(); !bytes.Equal(got[0], payload) {
		t.Fatalf("delivered %q", got[0])
	}
	testutils.Eventually(t, time.Second, "malformed packets counted", func() bool { return srv.Stats().XDP.RxMalformed == uint64(len(bad)) })
	if st := srv.Stats(); st.RxFrames != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestXDPClient: an AF_XDP client in B resolves A by ARP itself (B has no
// entry yet), streams to a server in A that echoes, and receives the
// echoes: against a socket server and against an AF_XDP server.
func TestXDPClient(t *testing.T) {
	for _, peerXDP := range []bool{false, true} {
		name := map[bool]string{false: "to-mmsg", true: "to-xdp"}[peerXDP]
		t.Run(name, func(t *testing.T) {
			testutils.Leak(t)
			p := xdpPair(t, 9000, true)
			var srv *Server
			if peerXDP {
				srv = xdpServerIn(t, &p.A, 0, true)
			} else {
				in(t, &p.A, func() error {
					var err error
					srv, err = NewServer(0, true)
					return err
				})
				defer srv.Close()
				if !srv.SetRxBufferCount(1000) {
					t.Fatal("receive buffer not granted")
				}
			}
			engine.Connect(srv, srv)
			in(t, &p.B, func() error {
				if _, err := xdp.NeighborMAC(p.B.Index, p.A.Addr4); !errors.Is(err, xdp.ErrNoNeighbor) {
					t.Errorf("B's neighbour entry for A before the client: %v", err)
				}
				return nil
			})
			var cli *Client
			in(t, &p.B, func() error {
				var err error
				cli, err = NewClient(p.A.Addr4.String(), srv.Port(), true, WithTransport(TransportXDP),
					WithXDP(p.B.Link, 0, xdp.ModeAuto), WithPoolSize(1024))
				return err
			})
			defer cli.Close()
			if cli.Peer() != netip.AddrPortFrom(p.A.Addr4, uint16(srv.Port())) || cli.LocalAddr().Addr() != p.B.Addr4 {
				t.Fatalf("client %v -> %v", cli.LocalAddr(), cli.Peer())
			}
			col := newCollector(0, true)
			engine.Connect(cli, col)
			const total, window = 600, 60
			for sent := 0; sent < total; {
				for range window {
					size := []int{MaxPayloadJumbo, 4, 3840, 3841, 7680, 1472}[sent%6]
					f, err := cli.AcceptReq(size, true)
					if err != nil {
						t.Fatal(err)
					}
					f.SetPayload(size)
					b := make([]byte, size)
					testutils.FillPattern(b, uint32(sent))
					f.WriteAt(b, 0)
					cli.AcceptFrame(f)
					if f.Error() != 0 {
						t.Fatalf("frame %d not sent: %+v", sent, cli.Stats())
					}
					f.Release()
					sent++
				}
				testutils.Eventually(t, 5*time.Second, "a window of echoes", func() bool { return col.n.Load() == int64(sent) })
			}
			for i, b := range col.got() {
				if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) {
					t.Fatalf("echo %d: sequence %d, intact %v, %d bytes", i, seq, ok, len(b))
				}
			}
			st := cli.Stats()
			if st.TxFrames != total || st.RxFrames != total || st.XDP.TxCopies != 0 || !st.XDP.MultiBuffer {
				t.Fatalf("client stats %+v", st)
			}
		})
	}
}

// TestXDPInFlightCopied: a frame sent twice before the kernel completed it
// the first time goes out the second time from a copy, so its headers are
// not rewritten under the kernel.
func TestXDPInFlightCopied(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, true)
	srv := xdpServerIn(t, &p.B, 0, false)
	col := newCollector(1, false)
	engine.Connect(srv, col)
	src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr4, 0))
	if _, err := src.WriteToUDPAddrPort([]byte("hello"), netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 3*time.Second)
	f := frameOf(t, srv.ep.txPool, []byte("twice"))
	if n, err := srv.SendBatch([]engine.Frame{f, f}); n != 2 || err != nil {
		t.Fatalf("SendBatch: %d %v", n, err)
	}
	f.Release()
	buf := make([]byte, 64)
	for i := range 2 {
		src.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := src.Read(buf)
		if err != nil || string(buf[:n]) != "twice" {
			t.Fatalf("datagram %d: %q %v", i, buf[:n], err)
		}
	}
	if st := srv.Stats(); st.XDP.TxCopies != 1 || st.TxFrames != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestXDPIPv6: the same over IPv6, whose UDP checksum is mandatory: both
// sides compute and verify real checksums.
func TestXDPIPv6(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, true)
	srv := xdpServerIn(t, &p.B, 0, false)
	col := newCollector(50, true)
	engine.Connect(srv, col)
	src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr6, 0))
	dst := netip.AddrPortFrom(p.B.Addr6, uint16(srv.Port()))
	buf := make([]byte, 1452) // the most one IPv6 datagram carries over MTU 1500
	for i := range 50 {
		testutils.FillPattern(buf[:100+i*27], uint32(i))
		if _, err := src.WriteToUDPAddrPort(buf[:100+i*27], dst); err != nil {
			t.Fatal(err)
		}
	}
	col.wait(t, 3*time.Second)
	for i, b := range col.got() {
		if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) || len(b) != 100+i*27 {
			t.Fatalf("datagram %d: sequence %d intact %v", i, seq, ok)
		}
	}
	if want := src.LocalAddr().(*net.UDPAddr).AddrPort(); srv.Peer() != want {
		t.Fatalf("peer %v, want %v", srv.Peer(), want)
	}
	big := frameOf(t, srv.ep.txPool, make([]byte, 1453))
	defer big.Release()
	if err := srv.Send(big); !errors.Is(err, engine.ErrFrameSize) {
		t.Fatalf("1453 bytes over IPv6 at MTU 1500: %v", err)
	}
	f := frameOf(t, srv.ep.txPool, buf)
	defer f.Release()
	if err := srv.Send(f); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2000)
	src.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, from, err := src.ReadFromUDPAddrPort(got)
	if err != nil || from != dst || !bytes.Equal(got[:n], buf) {
		t.Fatalf("reply from %v, %d bytes: %v", from, n, err)
	}
	if st := srv.Stats(); st.RxFrames != 50 || st.TxOversize != 1 || st.XDP.RxChecksumOffloaded > 1 || st.XDP.RxMalformed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestXDPModeRefused: a mode the interface cannot give (zero-copy on a
// veth) fails NewServer with the kernel's reason and leaves nothing
// behind: no program, no goroutine, the port free again.
func TestXDPModeRefused(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, false)
	var port int
	in(t, &p.B, func() error {
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			return err
		}
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		_, err = NewServer(port, false, WithTransport(TransportXDP), WithXDP(p.B.Link, 0, xdp.ModeNativeZeroCopy))
		if !errors.Is(err, unix.EOPNOTSUPP) {
			t.Errorf("zero-copy on a veth: %v, want EOPNOTSUPP", err)
		}
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))))
		if err != nil {
			t.Errorf("port %d still taken after the failed NewServer: %v", port, err)
			return nil
		}
		return c.Close()
	})
	if id, _ := p.B.XDPProgID(); id != 0 {
		t.Fatalf("program %d left attached", id)
	}
}
