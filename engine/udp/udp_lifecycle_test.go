package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// closeWithin fails the test when close does not return within d.
func closeWithin(t *testing.T, d time.Duration, close func() error) {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		t.Logf("Close took %v", time.Since(start))
	case <-time.After(d):
		t.Fatalf("Close did not return within %v", d)
	}
}

func TestCloseIdle(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		for _, q := range []Option{WithRxQueue(0), WithRxQueue(16), WithTxQueue(16)} {
			s, err := NewServer(0, true, WithTransport(tr), q)
			if err != nil {
				t.Fatal(err)
			}
			// A client that never sent: Rogue's hangs here forever.
			c, err := NewClient("127.0.0.1", s.Port(), true, WithTransport(tr), q)
			if err != nil {
				t.Fatal(err)
			}
			closeWithin(t, 2*time.Second, c.Close)
			closeWithin(t, 2*time.Second, s.Close)
			closeWithin(t, time.Second, s.Close) // twice is fine
			f := frameOf(t, s.ep.txPool, []byte("late"))
			if err := s.Send(f); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("Send after Close = %v, want ErrClosed", err)
			}
			if err := c.Send(f); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("client Send after Close = %v, want ErrClosed", err)
			}
			if n, err := c.SendBatch([]engine.Frame{f}); n != 0 || !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("SendBatch after Close = %d, %v", n, err)
			}
			s.AcceptFrame(f) // counted, no panic
			f.Release()
			if _, err := s.ReqFrame(10, true); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("ReqFrame after Close = %v", err)
			}
		}
	}
}

// TestCloseUnderLoad closes both ends while several goroutines blast
// frames in both directions, twice and concurrently.
func TestCloseUnderLoad(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		for _, q := range []Option{WithRxQueue(0), WithRxQueue(64), WithTxQueue(64)} {
			s, err := NewServer(0, false, WithTransport(tr), q)
			if err != nil {
				t.Fatal(err)
			}
			engine.Connect(s, s) // echo everything
			c, err := NewClient("127.0.0.1", s.Port(), false, WithTransport(tr), q)
			if err != nil {
				t.Fatal(err)
			}
			var got atomic.Int64
			col := newCollector(0, false)
			col.each = func(engine.Frame) { got.Add(1) }
			engine.Connect(c, col)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fs := make([]engine.Frame, 8)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						for j := range fs {
							f, err := c.AcceptReq(1000, true)
							if err != nil {
								return
							}
							f.SetPayload(1000)
							fs[j] = f
						}
						switch g {
						case 0:
							c.AcceptFrame(fs[0])
						case 1:
							c.Send(fs[0])
						default:
							c.SendBatch(fs)
						}
						for _, f := range fs {
							f.Release()
						}
					}
				}()
			}
			testutils.Eventually(t, 5*time.Second, "traffic", func() bool { return got.Load() > 100 })
			var cw sync.WaitGroup
			for range 2 {
				cw.Add(2)
				go func() { defer cw.Done(); closeWithin(t, 3*time.Second, s.Close) }()
				go func() { defer cw.Done(); closeWithin(t, 3*time.Second, c.Close) }()
			}
			cw.Wait()
			close(stop)
			wg.Wait()
			if st := c.Stats(); st.TxFrames == 0 {
				t.Fatalf("%v: client sent nothing: %+v", tr, st)
			}
		}
	}
}

// TestConnRefused: a client whose server is gone gets ICMP errors; they
// are counted, and the client keeps working.
func TestConnRefused(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		s := mustServer(t, false)
		port := s.Port()
		s.Close()
		c := mustClient(t, "127.0.0.1", port, false, WithTransport(tr))
		f := frameOf(t, c.ep.txPool, []byte("anyone?"))
		testutils.Eventually(t, 5*time.Second, "ECONNREFUSED counted", func() bool {
			c.Send(f)
			c.SendBatch([]engine.Frame{f, f})
			return c.Stats().ConnRefused > 0
		})
		f.Release()
		// The receive goroutine survived: a server back on the port is
		// heard again.
		s2, err := NewServer(port, false)
		if err != nil {
			t.Skipf("port %d was taken meanwhile: %v", port, err)
		}
		engine.Connect(s2, s2)
		col := newCollector(0, false)
		engine.Connect(c, col)
		testutils.Eventually(t, 5*time.Second, "echo after refusal", func() bool {
			f := frameOf(t, c.ep.txPool, []byte("back"))
			c.Send(f)
			f.Release()
			return col.n.Load() > 0
		})
		closeWithin(t, 2*time.Second, c.Close)
		closeWithin(t, 2*time.Second, s2.Close)
	}
}

func TestRxQueueDelivers(t *testing.T) {
	testutils.Leak(t)
	const n = 2000
	s := mustServer(t, false, WithRxQueue(4096))
	s.SetRxBufferCount(4 * n)
	col := newCollector(n, true)
	engine.Connect(s, col)
	c := mustClient(t, "127.0.0.1", s.Port(), false)
	for i := range n {
		b := make([]byte, 200)
		testutils.FillPattern(b, uint32(i))
		f := frameOf(t, c.ep.txPool, b)
		if err := c.Send(f); err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	col.wait(t, 10*time.Second)
	for i, b := range col.got() {
		if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) {
			t.Fatalf("frame %d: seq %d intact %v", i, seq, ok)
		}
	}
	if st := s.Stats(); st.RxFrames != n || st.RingDrops != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRxQueueDropsCounted: a slave slower than the sender overflows a tiny
// ring; every frame is either delivered or counted as a ring drop.
func TestRxQueueDropsCounted(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false, WithRxQueue(2))
	s.SetRxBufferCount(10000)
	release := make(chan struct{})
	col := newCollector(0, false)
	col.each = func(engine.Frame) { <-release }
	engine.Connect(s, col)
	raw := rawUDP(t)
	const n = 200
	for range n {
		raw.WriteToUDP(make([]byte, 100), loopback(s.Port()))
	}
	state := func() string { return fmt.Sprintf("slave saw %d of %d, stats %+v", col.n.Load(), n, s.Stats()) }
	testutils.Eventually(t, 5*time.Second, "all datagrams read", func() bool { return s.Stats().RxFrames == n }, state)
	close(release)
	testutils.Eventually(t, 5*time.Second, "accounting", func() bool {
		st := s.Stats()
		return uint64(col.n.Load())+st.RingDrops == n
	}, state)
	if st := s.Stats(); st.RingDrops == 0 {
		t.Fatalf("no ring drops with a blocked slave: %+v", st)
	}
}

// TestTxQueue: AcceptFrame queues, the transmit goroutine sends in
// batches, Close flushes what is left.
func TestTxQueue(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		const n = 5000
		s := mustServer(t, false)
		s.SetRxBufferCount(2 * n)
		col := newCollector(n, true)
		engine.Connect(s, col)
		c, err := NewClient("127.0.0.1", s.Port(), false, WithTransport(tr), WithTxQueue(8192))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			f, err := c.AcceptReq(1000, true)
			if err != nil {
				t.Fatal(err)
			}
			f.SetPayload(1000)
			mem, _ := f.Memory()
			testutils.FillPattern(mem[:1000], uint32(i))
			c.AcceptFrame(f)
			f.Release()
		}
		closeWithin(t, 3*time.Second, c.Close)
		col.wait(t, 10*time.Second)
		for i, b := range col.got() {
			if seq, ok := testutils.CheckPattern(b); !ok || seq != uint32(i) {
				t.Fatalf("%v: frame %d: seq %d intact %v", tr, i, seq, ok)
			}
		}
		if st := c.Stats(); st.TxFrames != n || c.FrameCount() != n {
			t.Fatalf("%v: client stats %+v, FrameCount %d", tr, st, c.FrameCount())
		}
		if c.AllocCount() != 0 {
			t.Fatalf("%v: %d transmit buffers still out after Close", tr, c.AllocCount())
		}
		s.Close()
	}
}

func TestReusePort(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		s := mustServer(t, false, WithTransport(tr), WithReusePort(3), WithLockOSThread())
		if len(socketsOf(s.ep).socks) != 3 {
			t.Fatalf("%d sockets", len(socketsOf(s.ep).socks))
		}
		s.SetRxBufferCount(1000)
		const per = 50
		var clients []*Client
		for range 8 {
			clients = append(clients, mustClient(t, "127.0.0.1", s.Port(), false))
		}
		col := newCollector(per*len(clients), false)
		engine.Connect(s, col)
		for _, c := range clients {
			for range per {
				f := frameOf(t, c.ep.txPool, make([]byte, 64))
				if err := c.Send(f); err != nil {
					t.Fatal(err)
				}
				f.Release()
			}
		}
		col.wait(t, 5*time.Second)
		busy := 0
		for _, sk := range socketsOf(s.ep).socks {
			if sk.rx.frames.Load() > 0 {
				busy++
			}
		}
		t.Logf("%v: %d of 3 sockets received traffic", tr, busy)
		closeWithin(t, 2*time.Second, s.Close)
	}
}

func TestIPv6(t *testing.T) {
	testutils.Leak(t)
	probe, err := NewServer(0, false, WithBindAddress(netip.IPv6Loopback()))
	if err != nil {
		t.Skipf("no IPv6 loopback on this host: %v", err)
	}
	probe.Close()
	for _, tr := range allTransports {
		s := mustServer(t, false, WithTransport(tr)) // dual stack
		engine.Connect(s, s)
		for _, host := range []string{"::1", "[::1]", "127.0.0.1", "localhost"} {
			c := mustClient(t, host, s.Port(), false, WithTransport(tr))
			col := newCollector(1, true)
			engine.Connect(c, col)
			f := frameOf(t, c.ep.txPool, []byte(host))
			if err := c.Send(f); err != nil {
				t.Fatalf("%v %s: %v", tr, host, err)
			}
			f.Release()
			col.wait(t, 5*time.Second)
			if string(col.got()[0]) != host {
				t.Fatalf("%s: echo %q", host, col.got()[0])
			}
			if got, want := s.Peer(), c.LocalAddr(); got.Port() != want.Port() {
				t.Fatalf("%s: peer %v, client %v", host, got, want)
			}
			c.Close()
		}
	}
}

func TestSetRxBufferCount(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, true)
	if !s.SetRxBufferCount(100) {
		t.Fatal("SetRxBufferCount(100) = false (running without CAP_NET_ADMIN and a small rmem_max?)")
	}
	if s.SetRxBufferCount(0) || s.SetRxBufferCount(-3) || s.SetRxBufferCount(1<<30) {
		t.Fatal("SetRxBufferCount accepted a nonsensical count")
	}
}

// TestKernelDroppedBuffersCounted overflows a small receive buffer while the slave
// is blocked: what the kernel drops shows up in KernelDroppedBuffers, and every
// datagram sent is either delivered or counted there.
func TestKernelDroppedBuffersCounted(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		s := mustServer(t, false, WithTransport(tr))
		s.SetRxBufferCount(4) // a few datagrams' worth
		release := make(chan struct{})
		var once sync.Once
		col := newCollector(0, false)
		col.each = func(engine.Frame) { <-release }
		engine.Connect(s, col)
		raw := rawUDP(t)
		const n = 2000
		for range n {
			raw.WriteToUDP(make([]byte, 1000), loopback(s.Port()))
		}
		once.Do(func() { close(release) })
		testutils.Eventually(t, 5*time.Second, "accounting", func() bool {
			st := s.Stats()
			return uint64(col.n.Load())+st.KernelDroppedBuffers == n && st.RxFrames == uint64(col.n.Load())
		}, func() string { return fmt.Sprintf("%v: slave saw %d of %d, stats %+v", tr, col.n.Load(), n, s.Stats()) })
		if st := s.Stats(); st.KernelDroppedBuffers == 0 {
			t.Fatalf("%v: no kernel drops counted: %+v", tr, st)
		}
		s.Close()
	}
}
