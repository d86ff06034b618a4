//go:build linux

package udp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/mmsg"
	"udpstream.dev/xdp"
)

// threadCPU is the calling thread's user+system time in nanoseconds.
func threadCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// rxMeter is a slave that counts frames and, on the receive goroutine's
// own (locked) thread, reads that thread's CPU time and the clock when the
// count first reaches start and stop: the receive path's cost alone, apart
// from the sender's and from the kernel work the veth does on the sending
// CPU.
type rxMeter struct {
	n            atomic.Int64
	start, stop  atomic.Int64 // counts to mark; 0 = not armed
	began, ended atomic.Bool
	n0, n1       atomic.Int64
	cpu0, cpu1   atomic.Int64
	wall0, wall1 atomic.Int64
	done         chan struct{}
	once         sync.Once
}

func (m *rxMeter) AcceptFrame(engine.Frame) {
	n := m.n.Add(1)
	if s := m.start.Load(); s != 0 && n >= s && m.began.CompareAndSwap(false, true) {
		m.n0.Store(n)
		m.cpu0.Store(threadCPU())
		m.wall0.Store(time.Now().UnixNano())
	}
	if s := m.stop.Load(); s != 0 && n >= s && m.began.Load() && m.ended.CompareAndSwap(false, true) {
		m.n1.Store(n)
		m.cpu1.Store(threadCPU())
		m.wall1.Store(time.Now().UnixNano())
		m.once.Do(func() { close(m.done) })
	}
}

// vethBlaster saturates dst from side A: sendmmsg batches of 64 UDP GSO
// buffers of about 64 KiB (the strongest sender a socket has), until halt.
type vethBlaster struct {
	sent atomic.Uint64
	stop atomic.Bool
	wg   sync.WaitGroup
}

func startVethBlaster(b *testing.B, a *testutils.Side, dst netip.AddrPort, size int) *vethBlaster {
	var uc *net.UDPConn
	in(b, a, func() error {
		var err error
		uc, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		return err
	})
	mc, err := mmsg.NewConn(uc, 64)
	if err != nil {
		b.Fatal(err)
	}
	mc.SetWriteBuffer(16 << 20)
	per := min(mmsg.GSOSegments(size, 65000, mmsg.MaxGSOSegments), 64)
	msgs := make([]mmsg.Message, 64)
	mem := make([]byte, 64*per*size)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{mem[i*per*size : (i+1)*per*size]}
		if per > 1 {
			msgs[i].SegmentSize = size
		}
	}
	bl := &vethBlaster{}
	bl.wg.Add(1)
	go func() {
		defer bl.wg.Done()
		defer uc.Close()
		for !bl.stop.Load() {
			if n, err := mc.WriteBatch(msgs); err == nil {
				bl.sent.Add(uint64(n * per))
			}
		}
	}()
	return bl
}

func (bl *vethBlaster) halt() {
	bl.stop.Store(true)
	bl.wg.Wait()
}

// BenchmarkXDPReceive compares, on one veth pair between two namespaces,
// the Server's receive path with AF_XDP, recvmmsg and UDP GRO, for 1472-
// and 8972-byte datagrams (MTU 1500 and 9000; with 9000, AF_XDP receives
// each datagram in three 4 KiB chunks as one frame of three segments). A
// goroutine in namespace A sends as fast as a socket can (sendmmsg of GSO
// buffers); one op is one datagram delivered to a slave on the receive
// goroutine, which is locked to its thread. Reported: datagrams/s, Gbit/s,
// loss% (sent but not received while measuring: the receiver or the veth
// could not keep up), rx-cpu-ns/dgram (the receive thread's user+system
// time) and proc-cpu-ns/dgram (the whole process, sender and the kernel
// work done on its behalf included).
func BenchmarkXDPReceive(b *testing.B) {
	testutils.RequireRoot(b)
	p := testutils.New(b, 1500)
	for _, size := range []int{MaxPayloadStandard, MaxPayloadJumbo} {
		mtu := size + udpIPOverhead
		for _, tr := range []Transport{TransportXDP, TransportMmsg, TransportGRO} {
			b.Run(fmt.Sprintf("%v/%dB", tr, size), func(b *testing.B) {
				if err := p.SetMTU(mtu); err != nil {
					b.Fatal(err)
				}
				benchVethReceive(b, p, tr, size)
			})
		}
	}
}

func benchVethReceive(b *testing.B, p *testutils.Pair, tr Transport, size int) {
	jumbo := size > MaxPayloadStandard
	opts := []Option{WithTransport(tr), WithLockOSThread()}
	if tr == TransportXDP {
		opts = append(opts, WithXDP(p.B.Link, 0, xdp.ModeAuto))
	}
	var s *Server
	in(b, &p.B, func() error {
		var err error
		s, err = NewServer(0, jumbo, opts...)
		return err
	})
	defer s.Close()
	if tr != TransportXDP {
		s.SetRxBufferCount(64 << 20 / (size + udpIPOverhead)) // as the C receiver
	}
	m := &rxMeter{done: make(chan struct{})}
	engine.Connect(s, m)
	bl := startVethBlaster(b, &p.A, netip.AddrPortFrom(p.B.Addr4, uint16(s.Port())), size)
	defer bl.halt()
	deadline := time.Now().Add(10 * time.Second)
	for m.n.Load() < 2000 { // warm up: fault the pages in, stock the rings
		if time.Now().After(deadline) {
			b.Fatalf("warm-up: %d datagrams received; stats %+v", m.n.Load(), s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, sent0 := processCPU(), bl.sent.Load()
	start := m.n.Load() + 1
	m.stop.Store(start + int64(b.N))
	m.start.Store(start)
	select {
	case <-m.done:
	case <-time.After(60 * time.Second):
		b.Fatalf("received %d of %d; stats %+v", m.n.Load()-start, b.N, s.Stats())
	}
	b.StopTimer()
	cpu, sent := processCPU()-cpu0, bl.sent.Load()-sent0
	got := float64(m.n1.Load() - m.n0.Load())
	el := time.Duration(m.wall1.Load() - m.wall0.Load()).Seconds()
	if got <= 0 || el <= 0 {
		return // b.N of 1: nothing to measure between the marks
	}
	b.ReportMetric(got/el, "datagrams/s")
	b.ReportMetric(got*float64(size)*8/el/1e9, "Gbit/s")
	if sent > 0 {
		b.ReportMetric(100*max(0, 1-float64(b.N)/float64(sent)), "loss%")
	}
	b.ReportMetric(float64(m.cpu1.Load()-m.cpu0.Load())/got, "rx-cpu-ns/dgram")
	b.ReportMetric(cpu*1e9/float64(b.N), "proc-cpu-ns/dgram")
	if st := s.Stats(); tr == TransportXDP {
		if st.XDP.RxMalformed != 0 || st.XDP.Mode == "" {
			b.Fatalf("stats %+v", st)
		}
		b.Logf("N=%d %s: ring full %d, fill empty %d, dropped %d (whole run)", b.N, st.XDP.Mode, st.XDP.RingFull, st.XDP.FillEmpty, st.XDP.RxDropped)
	}
}

// BenchmarkXDPSend measures the Client's AF_XDP transmit path to a socket
// in namespace A: frames are requested from the client's pool (UMEM
// buffers with headroom), filled, sent in batches of 64 with SendBatch
// (headers written in front of the payload, descriptors queued, the kernel
// woken, completions reaped) and released. One op is one datagram the
// kernel accepted.
func BenchmarkXDPSend(b *testing.B) {
	testutils.RequireRoot(b)
	p := testutils.New(b, 1500)
	if err := p.StaticARP(); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{MaxPayloadStandard, MaxPayloadJumbo} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			if err := p.SetMTU(size + udpIPOverhead); err != nil {
				b.Fatal(err)
			}
			var sink *net.UDPConn
			in(b, &p.A, func() error {
				var err error
				sink, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.A.Addr4, 0)))
				return err
			})
			defer sink.Close()
			var c *Client
			in(b, &p.B, func() error {
				var err error
				c, err = NewClient(p.A.Addr4.String(), sink.LocalAddr().(*net.UDPAddr).Port, size > MaxPayloadStandard,
					WithTransport(TransportXDP), WithXDP(p.B.Link, 0, xdp.ModeAuto))
				return err
			})
			defer c.Close()
			frames := make([]engine.Frame, 64)
			send := func(n int) int {
				sent := 0
				for sent < n {
					for i := range frames {
						f, err := c.AcceptReq(size, true)
						if err != nil {
							b.Fatal(err)
						}
						f.SetPayload(size)
						frames[i] = f
					}
					k, _ := c.SendBatch(frames)
					sent += k
					for i, f := range frames {
						f.Release()
						frames[i] = engine.Frame{}
					}
				}
				return sent
			}
			send(1024) // warm up
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			sent := send(b.N)
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(sent)/el.Seconds(), "datagrams/s")
			b.ReportMetric(float64(sent)*float64(size)*8/el.Seconds()/1e9, "Gbit/s")
			if st := c.Stats(); st.TxErrors+st.TxTimeouts+st.XDP.TxInvalid+st.XDP.TxCopies != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}
