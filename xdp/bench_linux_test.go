//go:build linux

package xdp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"udpstream.dev/internal/testutils"
)

// BenchmarkReceiveVeth measures datagrams per second of 1472-byte payload
// received by an AF_XDP socket in namespace B from a sender in namespace A
// that saturates the veth: with UDP GSO (64 KiB writes of 44 segments) or
// with sendmmsg batches of 64. One op is one datagram received, parsed
// (without UDP checksum: the sender's veth leaves it to an offload) and its
// frame given back to the fill ring. Drops are the kernel's counts while the
// receiver could not keep up.
func BenchmarkReceiveVeth(b *testing.B) {
	testutils.RequireRoot(b)
	// One pair for all runs: tearing down a namespace is asynchronous work
	// that would otherwise overlap the next run.
	p := testutils.New(b, 1500)
	for _, c := range []struct {
		name string
		mode Mode
		gso  bool
	}{
		{"native/gso", ModeNativeCopy, true},
		{"native/sendmmsg", ModeNativeCopy, false},
		{"generic/sendmmsg", ModeGenericCopy, false},
	} {
		b.Run(c.name, func(b *testing.B) { benchReceive(b, p, c.mode, c.gso) })
	}
}

func benchReceive(b *testing.B, p *testutils.Pair, mode Mode, gso bool) {
	const (
		port    = 47100
		payload = 1472
		chunk   = 2048
		chunks  = 8192
		ring    = 4096
	)
	umem, err := MapUMEM(chunks * chunk)
	if err != nil {
		b.Fatal(err)
	}
	defer UnmapUMEM(umem)
	// Every chunk goes to the kernel, and the fill ring is twice that size,
	// so giving frames back never finds it full (see Socket.Fill).
	fill := make([]uint64, chunks)
	for i := range fill {
		fill[i] = uint64(i * chunk)
	}
	var s *Socket
	if err := p.B.Do(func() error {
		s, err = Open(Config{
			IfIndex: p.B.Index, UMEM: umem, ChunkSize: chunk, Port: port, Mode: mode,
			FillSize: 2 * chunks, RxSize: ring, TxSize: -1, CompletionSize: 64, Fill: fill,
		})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()

	var conn *net.UDPConn
	if err := p.A.Do(func() error {
		conn, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.B.Addr4, port)))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	var stop atomic.Bool
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	senderErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		senderErr <- send(conn, gso, payload, &stop, &sent)
	}()
	defer func() {
		stop.Store(true)
		wg.Wait()
		if err := <-senderErr; err != nil {
			b.Error(err)
		}
	}()

	descs := make([]Desc, 64)
	refill := make([]uint64, 0, 64)
	var pk Packet
	before, err := s.Stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	sent0 := sent.Load()
	got := 0
	for got < b.N {
		if err := s.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			b.Fatal(err)
		}
		n, err := s.ReceiveWait(descs)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			st, _ := s.Stats()
			k, rerr := s.tryReceive(descs)
			b.Fatalf("nothing received for 2 s after %d datagrams (%d sent); stats %+v; non-blocking Receive then: %d %v; rx producer %d consumer %d",
				got, sent.Load()-sent0, st, k, rerr, atomic.LoadUint32(s.rx.producer), atomic.LoadUint32(s.rx.consumer))
		}
		if err != nil {
			b.Fatal(err)
		}
		refill = refill[:0]
		for i := range n {
			d := descs[i]
			if err := Parse(s.descBytes(d), &pk, skipUDPChecksum); err != nil || pk.PayloadLen != payload {
				b.Fatalf("datagram %d: %v, %d bytes", got, err, pk.PayloadLen)
			}
			refill = append(refill, d.Addr)
		}
		got += n
		if k, err := s.Fill(refill); err != nil || k != len(refill) {
			b.Fatalf("refill %d of %d: %v", k, len(refill), err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	after, err := s.Stats()
	if err != nil {
		b.Fatal(err)
	}
	drops := (after.RxDropped - before.RxDropped) + (after.RxRingFull - before.RxRingFull) +
		(after.RxFillRingEmpty - before.RxFillRingEmpty)
	secs := elapsed.Seconds()
	b.ReportMetric(float64(got)/secs, "datagrams/s")
	b.ReportMetric(float64(got)*payload*8/secs/1e9, "Gbit/s")
	b.ReportMetric(float64(sent.Load()-sent0)/secs, "sent/s")
	b.ReportMetric(float64(drops)/secs, "drops/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(got), "ns/datagram")
}

// send saturates conn until stop: UDP GSO writes of 44 segments, or
// sendmmsg batches of 64 datagrams.
func send(conn *net.UDPConn, gso bool, size int, stop *atomic.Bool, sent *atomic.Uint64) error {
	if gso {
		const segs = 44
		rc, err := conn.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, size)
		}); err != nil || serr != nil {
			return errors.Join(err, serr)
		}
		buf := make([]byte, segs*size)
		for !stop.Load() {
			if _, err := conn.Write(buf); err != nil {
				if errors.Is(err, unix.ENOBUFS) {
					continue
				}
				return err
			}
			sent.Add(segs)
		}
		return nil
	}
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, size)}
	}
	for !stop.Load() {
		n, err := pc.WriteBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				continue
			}
			return err
		}
		sent.Add(uint64(n))
	}
	return nil
}

// BenchmarkTransmitVeth measures copy-mode transmit of 1472-byte datagrams
// from the AF_XDP socket in B to a UDP socket in A: frames are built once in
// their chunks, then each op is one datagram queued, sent and reclaimed from
// the completion ring, in batches of 64.
func BenchmarkTransmitVeth(b *testing.B) {
	testutils.RequireRoot(b)
	const (
		port    = 47101
		payload = 1472
		chunk   = 2048
		frames  = 1024
	)
	p := testutils.New(b, 1500)
	umem, err := MapUMEM(frames * chunk)
	if err != nil {
		b.Fatal(err)
	}
	defer UnmapUMEM(umem)
	var s *Socket
	if err := p.B.Do(func() error {
		s, err = Open(Config{IfIndex: p.B.Index, UMEM: umem, ChunkSize: chunk, Port: port,
			FillSize: 64, RxSize: 64, TxSize: frames, CompletionSize: frames})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var sink *net.UDPConn
	if err := p.A.Do(func() error {
		sink, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.A.Addr4, port)))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer sink.Close()

	h := Header{Src: netip.AddrPortFrom(p.B.Addr4, port), Dst: netip.AddrPortFrom(p.A.Addr4, port)}
	h.SrcMAC, _ = MAC(p.B.MAC)
	h.DstMAC, _ = MAC(p.A.MAC)
	free := make([]uint64, 0, frames)
	var frameLen uint32
	for i := range frames {
		base := uint64(i * chunk)
		const off = 256
		n, err := BuildUDPHeaders(umem[base:base+off], &h, umem[base+off:base+off+payload])
		if err != nil {
			b.Fatal(err)
		}
		addr := base + off - uint64(n)
		free = append(free, addr)
		frameLen = uint32(n + payload)
	}

	batch := make([]Desc, 64)
	comp := make([]uint64, 64)
	before, _ := s.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	done := 0
	stalls := 0
	for done < b.N {
		k := min(len(batch), len(free), b.N-done)
		for i := range k {
			batch[i] = Desc{Addr: free[len(free)-1-i], Len: frameLen}
		}
		n, err := s.Transmit(batch[:k])
		if err != nil {
			b.Fatal(err)
		}
		free = free[:len(free)-n]
		c, err := s.Complete(comp)
		if err != nil {
			b.Fatal(err)
		}
		free = append(free, comp[:c]...)
		done += c
		if c == 0 && n == 0 {
			if stalls++; stalls > 1e6 {
				st, _ := s.Stats()
				b.Fatalf("no progress after %d datagrams; stats %+v", done, st)
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	after, _ := s.Stats()
	secs := elapsed.Seconds()
	b.ReportMetric(float64(done)/secs, "datagrams/s")
	b.ReportMetric(float64(done)*payload*8/secs/1e9, "Gbit/s")
	b.ReportMetric(float64(after.TxInvalidDescs-before.TxInvalidDescs), "invalid")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(done), "ns/datagram")
}
