//go:build linux

package mmsg

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

func TestNewConnValidates(t *testing.T) {
	uc := listen(t, "udp4", "127.0.0.1:0")
	for _, b := range []int{-1, 0, MaxBatch + 1} {
		if _, err := NewConn(uc, b); err == nil {
			t.Errorf("batch %d accepted", b)
		}
	}
	if _, err := NewConn(nil, 8); err == nil {
		t.Error("nil connection accepted")
	}
	for _, b := range []int{1, MaxBatch} {
		c, err := NewConn(uc, b)
		if err != nil || c.batchSize() != b {
			t.Errorf("batch %d: %v", b, err)
		}
	}
}

// TestReadBatch sends datagrams of many sizes with the standard library and
// checks that batched receive reports each one with its size, content and
// source, over IPv4, IPv6 and a dual-stack socket reached over IPv4.
func TestReadBatch(t *testing.T) {
	cases := []struct {
		name         string
		rnet, raddr  string
		snet, saddr  string
		wantRecvIPv6 bool
	}{
		{name: "ipv4", rnet: "udp4", raddr: "127.0.0.1:0", snet: "udp4", saddr: "127.0.0.1:0"},
		{name: "ipv6", rnet: "udp6", raddr: "[::1]:0", snet: "udp6", saddr: "[::1]:0", wantRecvIPv6: true},
		{name: "dual-stack from ipv4", rnet: "udp", raddr: "[::]:0", snet: "udp4", saddr: "127.0.0.1:0", wantRecvIPv6: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ruc := listen(t, tc.rnet, tc.raddr)
			r := wrap(t, ruc, 32)
			if r.inet6 != tc.wantRecvIPv6 {
				t.Fatalf("inet6 = %v, want %v", r.inet6, tc.wantRecvIPv6)
			}
			if _, err := r.SetReadBuffer(4 << 20); err != nil {
				t.Fatal(err)
			}
			suc := listen(t, tc.snet, tc.saddr)
			dst := localAddr(ruc)
			if tc.rnet == "udp" {
				dst = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), dst.Port())
			}
			const count = 300
			for i := range count {
				if _, err := suc.WriteToUDPAddrPort(testutils.Pattern(uint32(i), 1+i*7%1500), dst); err != nil {
					t.Fatal(err)
				}
			}
			got, _, maxBatch := collect(t, r, count, 2048)
			src := localAddr(suc)
			for i, d := range got {
				if len(d.data) != 1+i*7%1500 || !testutils.MatchesPattern(d.data, uint32(i)) {
					t.Fatalf("datagram %d: %d bytes, wrong size or content", i, len(d.data))
				}
				if d.from != src {
					t.Fatalf("datagram %d from %v, want %v", i, d.from, src)
				}
			}
			if maxBatch < 2 {
				t.Errorf("largest batch %d: recvmmsg never returned more than one datagram", maxBatch)
			}
		})
	}
}

// TestReadBatchNewBuffers reads with the same messages call after call,
// as a receive loop does, changing some of their buffers in between: a new
// buffer, and a message spread over two buffers, which moves the iovecs of
// the messages after it. Every datagram must land in the buffers its
// message holds at the time of the call.
func TestReadBatchNewBuffers(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 4)
	suc := listen(t, "udp4", "127.0.0.1:0")
	setDeadline(t, ruc)
	msgs := recvBuffers(4, 100)
	old := msgs[1].Buffers[0]
	seq := uint32(0)
	readFour := func(step string) {
		t.Helper()
		for i := range 4 {
			if _, err := suc.WriteToUDPAddrPort(testutils.Pattern(seq+uint32(i), 60), localAddr(ruc)); err != nil {
				t.Fatal(err)
			}
		}
		for got := 0; got < 4; {
			n, err := r.ReadBatch(msgs[got:])
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			for i := got; i < got+n; i++ {
				var data []byte
				for _, b := range msgs[i].Buffers {
					data = append(data, b...)
				}
				if msgs[i].N != 60 || !testutils.MatchesPattern(data[:60], seq+uint32(i)) {
					t.Fatalf("%s: message %d: %d bytes, wrong content", step, i, msgs[i].N)
				}
			}
			got += n
		}
		seq += 4
	}
	readFour("first read")
	msgs[1].Buffers = [][]byte{make([]byte, 100)}
	clear(old)
	readFour("a new buffer")
	if !bytes.Equal(old, make([]byte, 100)) {
		t.Fatal("a datagram landed in a buffer its message no longer holds")
	}
	msgs[0].Buffers = [][]byte{make([]byte, 30), make([]byte, 70)}
	readFour("a message over two buffers")
	msgs[0].Buffers = [][]byte{make([]byte, 100)}
	readFour("back to one buffer")
}

// TestWriteBatch sends more messages than the batch size to two
// destinations and checks with the standard library that all arrive intact.
func TestWriteBatch(t *testing.T) {
	for _, tc := range []struct{ name, net, addr string }{
		{"ipv4", "udp4", "127.0.0.1:0"},
		{"ipv6", "udp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := wrap(t, listen(t, tc.net, tc.addr), 8)
			r1, r2 := listen(t, tc.net, tc.addr), listen(t, tc.net, tc.addr)
			const count = 50
			msgs := make([]Message, count)
			for i := range msgs {
				// Two buffers per message: gathered into one datagram.
				p := testutils.Pattern(uint32(i), 100+i)
				msgs[i].Buffers = [][]byte{p[:30], p[30:]}
				msgs[i].Addr = localAddr(r1)
				if i%2 == 1 {
					msgs[i].Addr = localAddr(r2)
				}
			}
			setDeadline(t, s.uc)
			n, err := s.WriteBatch(msgs)
			if err != nil || n != count {
				t.Fatalf("WriteBatch = %d, %v; want %d", n, err, count)
			}
			for i := range msgs {
				if msgs[i].N != 100+i {
					t.Fatalf("message %d: N = %d, want %d", i, msgs[i].N, 100+i)
				}
			}
			buf := make([]byte, 2048)
			for i := range count {
				r := r1
				if i%2 == 1 {
					r = r2
				}
				setDeadline(t, r)
				k, from, err := r.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if k != 100+i || !testutils.MatchesPattern(buf[:k], uint32(i)) || from != localAddr(s.uc) {
					t.Fatalf("datagram %d: %d bytes from %v, wrong", i, k, from)
				}
			}
		})
	}
}

// TestWriteBatchDualStackToIPv4 sends from a dual-stack socket to an IPv4
// receiver: the destination must be written as an IPv4-mapped address.
func TestWriteBatchDualStackToIPv4(t *testing.T) {
	s := wrap(t, listen(t, "udp", "[::]:0"), 4)
	r := listen(t, "udp4", "127.0.0.1:0")
	m := []Message{{Buffers: [][]byte{testutils.Pattern(9, 64)}, Addr: localAddr(r)}}
	setDeadline(t, s.uc)
	if n, err := s.WriteBatch(m); n != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	setDeadline(t, r)
	buf := make([]byte, 128)
	k, _, err := r.ReadFromUDPAddrPort(buf)
	if err != nil || k != 64 || !testutils.MatchesPattern(buf[:k], 9) {
		t.Fatalf("got %d bytes, %v", k, err)
	}
}

func TestWriteBatchRejectsIPv6FromIPv4Socket(t *testing.T) {
	s := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 4)
	r := listen(t, "udp4", "127.0.0.1:0")
	msgs := []Message{
		{Buffers: [][]byte{testutils.Pattern(1, 10)}, Addr: localAddr(r)},
		{Buffers: [][]byte{testutils.Pattern(2, 10)}, Addr: netip.MustParseAddrPort("[::1]:9")},
	}
	setDeadline(t, s.uc)
	n, err := s.WriteBatch(msgs)
	if n != 1 || err == nil {
		t.Fatalf("WriteBatch = %d, %v; want 1 and an address error", n, err)
	}
	msgs[0].SegmentSize = -1
	if n, err := s.WriteBatch(msgs[:1]); n != 0 || err == nil {
		t.Fatalf("negative segment size: WriteBatch = %d, %v", n, err)
	}
}

// TestWriteOne sends single datagrams with WriteOne and TryWriteOne and reads
// each, scattered over two buffers, with a one-message ReadBatch.
func TestWriteOne(t *testing.T) {
	for _, tc := range []struct{ name, net, addr string }{
		{"ipv4", "udp4", "127.0.0.1:0"},
		{"ipv6", "udp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ruc := listen(t, tc.net, tc.addr)
			r := wrap(t, ruc, 1)
			s := wrap(t, listen(t, tc.net, tc.addr), 1)
			setDeadline(t, ruc)
			setDeadline(t, s.uc)
			ins := []Message{{Buffers: [][]byte{make([]byte, 10), make([]byte, 2000)}}}
			in := &ins[0]
			for i := range 20 {
				out := Message{Buffers: [][]byte{testutils.Pattern(uint32(i), 1000+i)}, Addr: localAddr(ruc)}
				write, name := s.WriteOne, "WriteOne"
				if i%2 == 1 { // a near-empty send buffer has room: no EAGAIN
					write, name = s.TryWriteOne, "TryWriteOne"
				}
				if err := write(&out); err != nil || out.N != 1000+i {
					t.Fatalf("%s %d: N %d, %v", name, i, out.N, err)
				}
				if n, err := r.ReadBatch(ins); n != 1 || err != nil {
					t.Fatalf("ReadBatch %d: %d, %v", i, n, err)
				}
				// Scatter: the first 10 bytes land in the first buffer.
				got := append(append([]byte(nil), in.Buffers[0]...), in.Buffers[1][:in.N-10]...)
				if in.N != 1000+i || !testutils.MatchesPattern(got, uint32(i)) || in.Addr != localAddr(s.uc) || in.Truncated {
					t.Fatalf("read %d: N %d from %v truncated %v", i, in.N, in.Addr, in.Truncated)
				}
			}
		})
	}
}

func TestTruncatedFlag(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 4)
	suc := listen(t, "udp4", "127.0.0.1:0")
	for _, n := range []int{1000, 50} {
		if _, err := suc.WriteToUDPAddrPort(testutils.Pattern(uint32(n), n), localAddr(ruc)); err != nil {
			t.Fatal(err)
		}
	}
	setDeadline(t, ruc)
	msgs := recvBuffers(1, 100)
	want := []struct {
		n     int
		trunc bool
	}{{100, true}, {50, false}}
	for i, w := range want {
		n, err := r.ReadBatch(msgs)
		if err != nil || n != 1 {
			t.Fatalf("read %d: %d, %v", i, n, err)
		}
		if msgs[0].N != w.n || msgs[0].Truncated != w.trunc {
			t.Errorf("read %d: N %d truncated %v, want %d %v", i, msgs[0].N, msgs[0].Truncated, w.n, w.trunc)
		}
	}
}

// TestKernelDrops overflows a tiny receive buffer and checks that the
// kernel's drop counter reports drops, and no more than were lost.
func TestKernelDrops(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 64)
	if err := ruc.SetReadBuffer(1); err != nil { // the kernel rounds up to its minimum
		t.Fatal(err)
	}
	s := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 64)
	const burst = 2000
	msgs := make([]Message, burst+1)
	for i := range msgs {
		msgs[i] = Message{Buffers: [][]byte{testutils.Pattern(uint32(i), 1000)}, Addr: localAddr(ruc)}
	}
	setDeadline(t, s.uc)
	if n, err := s.WriteBatch(msgs[:burst]); n != burst || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	// Make room, then send a marker that is queued after the drops and so
	// carries their count.
	setDeadline(t, ruc)
	in := recvBuffers(64, 2048)
	received := 0
	n, err := r.ReadBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	received += n
	if n, err := s.WriteBatch(msgs[burst:]); n != 1 || err != nil {
		t.Fatalf("marker: %d, %v", n, err)
	}
	for marker := false; !marker; {
		n, err := r.ReadBatch(in)
		if err != nil {
			t.Fatalf("waiting for the marker: %v", err)
		}
		received += n
		for _, m := range in[:n] {
			marker = marker || testutils.MatchesPattern(m.Buffers[0][:m.N], burst)
		}
	}
	drops := r.KernelDrops()
	lost := uint64(burst + 1 - received)
	t.Logf("sent %d, received %d, kernel reports %d drops", burst+1, received, drops)
	if drops == 0 || drops > lost {
		t.Errorf("KernelDrops = %d, want 1..%d", drops, lost)
	}
}

func TestNoteDropsWraps(t *testing.T) {
	var c Conn
	for _, v := range []uint32{5, 5, 0x70000000, 0xe0000000, 0xfffffff0, 4} {
		c.mem.note(v, 0)
	}
	// Steps up to 0xfffffff0, then the 32-bit counter wraps to 4, which is
	// 0x14 more.
	want := uint64(0xfffffff0) + 0x14
	if got := c.mem.drops; got != want {
		t.Errorf("KernelDrops = %#x, want %#x", got, want)
	}
}

// TestCloseWakesReader checks that closing the connection, through the
// Conn or the *net.UDPConn, promptly ends a ReadBatch parked in the poller.
func TestCloseWakesReader(t *testing.T) {
	for _, viaConn := range []bool{true, false} {
		uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c := wrap(t, uc, 8)
		done := make(chan error, 1)
		go func() {
			_, err := c.ReadBatch(recvBuffers(8, 64))
			done <- err
		}()
		// Give the reader time to park; had it not parked yet, the read
		// must still fail on the closed socket.
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		if viaConn {
			err = c.Close()
		} else {
			err = uc.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("ReadBatch after close: %v, want net.ErrClosed", err)
			}
			t.Logf("close via Conn %v woke the reader after %v", viaConn, time.Since(start))
		case <-time.After(2 * time.Second):
			t.Fatal("ReadBatch still blocked 2s after Close")
		}
		if _, err := c.ReadBatch(recvBuffers(1, 64)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadBatch on a closed Conn: %v", err)
		}
	}
}

func TestReadDeadline(t *testing.T) {
	uc := listen(t, "udp4", "127.0.0.1:0")
	c := wrap(t, uc, 8)
	if err := uc.SetReadDeadline(time.Now().Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	msgs := recvBuffers(8, 64)
	if _, err := c.ReadBatch(msgs); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadBatch: %v, want deadline exceeded", err)
	}
	// The Conn stays usable.
	setDeadline(t, uc)
	if _, err := uc.WriteToUDPAddrPort([]byte("x"), localAddr(uc)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.ReadBatch(msgs); n != 1 || err != nil || msgs[0].N != 1 {
		t.Fatalf("ReadBatch after deadline: %d, %v", n, err)
	}
}

// dialClosedPort is a Conn connected to a loopback port nobody listens on
// (it was bound a moment ago and closed), so that what it sends comes
// back as ICMP port unreachable.
func dialClosedPort(t *testing.T) (*net.UDPConn, *Conn) {
	t.Helper()
	closed := listen(t, "udp4", "127.0.0.1:0")
	dst := closed.LocalAddr().(*net.UDPAddr)
	closed.Close()
	uc, err := net.DialUDP("udp4", nil, dst)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	return uc, wrap(t, uc, 4)
}

// TestConnRefused sends on a connected socket to a closed port: the ICMP
// port-unreachable comes back as ECONNREFUSED on a later read and a later
// write, and the Conn keeps working.
func TestConnRefused(t *testing.T) {
	uc, c := dialClosedPort(t)
	setDeadline(t, uc)
	msgs := []Message{{Buffers: [][]byte{[]byte("ping")}}} // no Addr: connected
	if n, err := c.WriteBatch(msgs); n != 1 || err != nil {
		t.Fatalf("first WriteBatch = %d, %v", n, err)
	}
	_, err := c.ReadBatch(recvBuffers(4, 64))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("ReadBatch: %v, want ECONNREFUSED", err)
	}
	if n, err := c.WriteBatch(msgs); n != 1 || err != nil {
		t.Fatalf("WriteBatch after the error was read = %d, %v", n, err)
	}
	n, err := c.WriteBatch(msgs)
	if n != 0 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("WriteBatch = %d, %v; want 0, ECONNREFUSED", n, err)
	}
	if err := c.WriteOne(&msgs[0]); err != nil {
		t.Fatalf("WriteOne after ECONNREFUSED was reported: %v", err)
	}
}

func TestMessageTooLong(t *testing.T) {
	s := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 8)
	ruc := listen(t, "udp4", "127.0.0.1:0")
	dst := localAddr(ruc)
	msgs := []Message{
		{Buffers: [][]byte{testutils.Pattern(0, 10)}, Addr: dst},
		{Buffers: [][]byte{make([]byte, MaxPayloadIPv4+1)}, Addr: dst},
		{Buffers: [][]byte{testutils.Pattern(2, 10)}, Addr: dst},
	}
	setDeadline(t, s.uc)
	n, err := s.WriteBatch(msgs)
	if n != 1 || !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("WriteBatch = %d, %v; want 1, EMSGSIZE", n, err)
	}
	if n, err := s.WriteBatch(msgs[2:]); n != 1 || err != nil {
		t.Fatalf("WriteBatch of the rest = %d, %v", n, err)
	}
	got, _, _ := collect(t, wrap(t, ruc, 8), 2, 64)
	if !testutils.MatchesPattern(got[0].data, 0) || !testutils.MatchesPattern(got[1].data, 2) {
		t.Error("wrong datagrams arrived")
	}
}

// TestSteadyStateNoAlloc proves that a write and a read of a batch allocate
// nothing once the Conn is warm.
func TestSteadyStateNoAlloc(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 16)
	if _, err := r.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 16)
	out := make([]Message, 16)
	for i := range out {
		out[i] = Message{Buffers: [][]byte{testutils.Pattern(uint32(i), 512)}, Addr: localAddr(ruc)}
	}
	in := recvBuffers(16, 1024)
	setDeadline(t, ruc)
	setDeadline(t, s.uc)
	var werr, rerr error
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := s.WriteBatch(out); err != nil {
			werr = err
		}
		if _, err := r.ReadBatch(in); err != nil {
			rerr = err
		}
		if err := s.WriteOne(&out[0]); err != nil {
			werr = err
		}
		if _, err := r.ReadBatch(in[:1]); err != nil {
			rerr = err
		}
	})
	if werr != nil || rerr != nil {
		t.Fatalf("write: %v, read: %v", werr, rerr)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per write+read", allocs)
	}
}

// TestMemInfo checks that MemInfo reports the granted receive buffer,
// allocates nothing (monitoring polls it) and keeps its values after Close.
func TestMemInfo(t *testing.T) {
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := wrap(t, uc, 8)
	granted, err := c.SetReadBuffer(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, rcvbuf := c.MemInfo(); rcvbuf != granted {
		t.Fatalf("MemInfo receive buffer %d, SetReadBuffer granted %d", rcvbuf, granted)
	}
	if n := testing.AllocsPerRun(100, func() { c.MemInfo() }); n != 0 {
		t.Errorf("MemInfo allocates %v times per call", n)
	}
	c.Close()
	if _, rcvbuf := c.MemInfo(); rcvbuf != granted {
		t.Errorf("after Close: receive buffer %d, want the last value %d", rcvbuf, granted)
	}
	if n := testing.AllocsPerRun(100, func() { c.MemInfo() }); n != 0 {
		t.Errorf("after Close, MemInfo allocates %v times per call", n)
	}
}
