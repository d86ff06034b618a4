package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

func TestReplyGoesToLastPeer(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	a := mustClient(t, "127.0.0.1", s.Port(), false)
	b := mustClient(t, "127.0.0.1", s.Port(), false)
	ca, cb := newCollector(0, true), newCollector(0, true)
	engine.Connect(a, ca)
	engine.Connect(b, cb)
	rx := newCollector(0, false)
	engine.Connect(s, rx)
	send := func(c *Client, tag string) {
		f := frameOf(t, c.ep.txPool, []byte(tag))
		defer f.Release()
		if err := c.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(tag string) {
		f := frameOf(t, s.ep.txPool, []byte(tag))
		defer f.Release()
		if err := s.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	send(a, "from a")
	testutils.Eventually(t, 5*time.Second, "server hears a", func() bool { return rx.n.Load() == 1 })
	if s.Peer() != a.LocalAddr() && s.Peer().Port() != a.LocalAddr().Port() {
		t.Fatalf("peer %v, want %v", s.Peer(), a.LocalAddr())
	}
	reply("to a")
	testutils.Eventually(t, 5*time.Second, "a gets reply", func() bool { return ca.n.Load() == 1 })
	send(b, "from b")
	testutils.Eventually(t, 5*time.Second, "server hears b", func() bool { return rx.n.Load() == 2 })
	reply("to b")
	testutils.Eventually(t, 5*time.Second, "b gets reply", func() bool { return cb.n.Load() == 1 })
	send(a, "a again")
	testutils.Eventually(t, 5*time.Second, "server hears a again", func() bool { return rx.n.Load() == 3 })
	reply("to a again")
	testutils.Eventually(t, 5*time.Second, "a gets second reply", func() bool { return ca.n.Load() == 2 })
	if got := string(ca.got()[1]); got != "to a again" {
		t.Fatalf("a got %q", got)
	}
	if cb.n.Load() != 1 {
		t.Fatalf("b got %d replies, want 1", cb.n.Load())
	}
}

func TestServerWithoutPeer(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	f := frameOf(t, s.ep.txPool, []byte("nobody"))
	defer f.Release()
	if err := s.Send(f); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("Send before any peer = %v, want ErrNoPeer", err)
	}
	if n, err := s.SendBatch([]engine.Frame{f, f}); n != 0 || !errors.Is(err, ErrNoPeer) {
		t.Fatalf("SendBatch before any peer = %d, %v", n, err)
	}
	s.AcceptFrame(f)
	if f.Error() != TxErrorCode {
		t.Fatalf("AcceptFrame without peer left error %#x", f.Error())
	}
	if st := s.Stats(); st.TxNoPeer != 4 || st.TxFrames != 0 {
		t.Fatalf("stats %+v: want TxNoPeer 4, TxFrames 0", st)
	}
}

func TestTransmitRefusals(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			s := mustServer(t, false, WithTransport(tr))
			c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(tr))
			col := newCollector(0, true)
			engine.Connect(s, col)

			// An errored frame is not sent.
			bad := frameOf(t, c.ep.txPool, []byte("damaged"))
			bad.SetError(0x42)
			if err := c.Send(bad); !errors.Is(err, ErrFrameErrored) {
				t.Fatalf("Send(errored) = %v", err)
			}
			c.AcceptFrame(bad)
			if bad.Error() != 0x42 {
				t.Fatalf("AcceptFrame replaced the error code with %#x", bad.Error())
			}
			bad.Release()

			// A frame over MaxPayload is refused, never split.
			big, err := c.AcceptReq(c.MaxPayload()+1, true)
			if err != nil {
				t.Fatal(err)
			}
			big.SetPayload(c.MaxPayload() + 1)
			if big.BufferCount() < 2 {
				t.Fatalf("oversize frame has %d buffers", big.BufferCount())
			}
			if err := c.Send(big); !errors.Is(err, engine.ErrFrameSize) {
				t.Fatalf("Send(oversize) = %v", err)
			}
			if n, err := c.SendBatch([]engine.Frame{big}); n != 0 || !errors.Is(err, engine.ErrFrameSize) {
				t.Fatalf("SendBatch(oversize) = %d, %v", n, err)
			}
			c.AcceptFrame(big)
			if big.Error() != TxErrorCode {
				t.Fatalf("AcceptFrame(oversize) left error %#x", big.Error())
			}
			big.Release()

			// A released frame is an error, not a crash.
			gone := frameOf(t, c.ep.txPool, []byte("x"))
			gone.Release()
			if err := c.Send(gone); !errors.Is(err, engine.ErrReleased) {
				t.Fatalf("Send(released) = %v", err)
			}

			// A frame of three small buffers within MaxPayload is one
			// datagram.
			p, err := engine.NewFixedPool(500, 8, 0)
			if err != nil {
				t.Fatal(err)
			}
			multi, err := p.AcceptReq(1400, true)
			if err != nil {
				t.Fatal(err)
			}
			data := make([]byte, 1400)
			testutils.FillPattern(data, 7)
			multi.WriteAt(data, 0)
			if multi.BufferCount() != 3 {
				t.Fatalf("multi-buffer frame has %d buffers", multi.BufferCount())
			}
			if err := c.Send(multi); err != nil {
				t.Fatal(err)
			}
			if n, err := c.SendBatch([]engine.Frame{multi, multi}); n != 2 || err != nil {
				t.Fatalf("SendBatch(multi x2) = %d, %v", n, err)
			}
			multi.Release()
			testutils.Eventually(t, 5*time.Second, "three datagrams", func() bool { return col.n.Load() == 3 })
			for i, b := range col.got() {
				if seq, ok := testutils.CheckPattern(b); !ok || seq != 7 || len(b) != 1400 {
					t.Fatalf("datagram %d: %d bytes, seq %d, intact %v", i, len(b), seq, ok)
				}
			}
			st := c.Stats()
			if st.TxErrored != 2 || st.TxOversize != 3 || st.TxErrors != 1 || st.TxFrames != 3 {
				t.Fatalf("client stats %+v", st)
			}
		})
	}
}

// TestReceiveOversize sends datagrams longer than MaxPayload from a plain
// socket: they are dropped and counted, and the server keeps receiving.
func TestReceiveOversize(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		for _, jumbo := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/jumbo=%v", tr, jumbo), func(t *testing.T) {
				s := mustServer(t, jumbo, WithTransport(tr))
				col := newCollector(0, true)
				engine.Connect(s, col)
				raw := rawUDP(t)
				to := loopback(s.Port())
				max := s.MaxPayload()
				for _, n := range []int{max + 1, max + 100, 20000} {
					if _, err := raw.WriteToUDP(make([]byte, n), to); err != nil {
						t.Fatal(err)
					}
				}
				ok := make([]byte, max)
				testutils.FillPattern(ok, 3)
				if _, err := raw.WriteToUDP(ok, to); err != nil {
					t.Fatal(err)
				}
				testutils.Eventually(t, 5*time.Second, "good datagram", func() bool { return col.n.Load() == 1 })
				if b := col.got()[0]; len(b) != max {
					t.Fatalf("got %d bytes, want %d", len(b), max)
				}
				st := s.Stats()
				if st.RxOversize != 3 || st.RxFrames != 1 {
					t.Fatalf("stats %+v: want RxOversize 3, RxFrames 1", st)
				}
			})
		}
	}
}

// TestAllowedPeers: datagrams from other addresses are dropped, counted,
// and do not become the reply address.
func TestAllowedPeers(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			s := mustServer(t, false, WithTransport(tr), WithAllowedPeers(netip.MustParseAddr("127.0.0.1")))
			col := newCollector(0, false)
			engine.Connect(s, col)
			good := mustClient(t, "127.0.0.1", s.Port(), false, WithBindAddress(netip.MustParseAddr("127.0.0.1")))
			evil := mustClient(t, "127.0.0.1", s.Port(), false, WithBindAddress(netip.MustParseAddr("127.0.0.2")))
			f := frameOf(t, good.ep.txPool, []byte("hello"))
			defer f.Release()
			if err := good.Send(f); err != nil {
				t.Fatal(err)
			}
			testutils.Eventually(t, 5*time.Second, "allowed datagram", func() bool { return col.n.Load() == 1 })
			for range 5 {
				if err := evil.Send(f); err != nil {
					t.Fatal(err)
				}
			}
			testutils.Eventually(t, 5*time.Second, "rejections counted", func() bool { return s.Stats().RxRejected == 5 })
			if col.n.Load() != 1 {
				t.Fatalf("slave saw %d frames, want 1", col.n.Load())
			}
			if s.Peer() != good.LocalAddr() {
				t.Fatalf("peer %v, want %v", s.Peer(), good.LocalAddr())
			}
		})
	}
}

// TestPoolExhausted: a slave that keeps every frame starves the receive
// pool; datagrams are then dropped and counted, and reception resumes once
// the frames are released.
func TestPoolExhausted(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			const batch = 4
			s := mustServer(t, false, WithTransport(tr), WithBatch(batch), WithPoolSize(2*batch))
			if !s.SetRxBufferCount(1000) {
				t.Fatal("SetRxBufferCount(1000) failed")
			}
			var mu sync.Mutex
			var held []engine.Frame
			holding := true
			col := newCollector(0, false)
			col.each = func(f engine.Frame) {
				mu.Lock()
				defer mu.Unlock()
				if holding {
					f.Retain()
					held = append(held, f)
				}
			}
			engine.Connect(s, col)
			raw := rawUDP(t)
			payload := make([]byte, 1000)
			sendSome := func(n int) {
				for range n {
					if _, err := raw.WriteToUDP(payload, loopback(s.Port())); err != nil {
						t.Fatal(err)
					}
				}
			}
			limit := 2 * batch
			if tr == TransportGRO {
				limit = socketsOf(s.ep).groPool.AllocLimit()
			}
			sendSome(limit + 40)
			testutils.Eventually(t, 5*time.Second, "exhaustion counted", func() bool {
				st := s.Stats()
				return st.RxPoolExhausted > 0 && st.RxFrames+st.RxPoolExhausted+st.KernelDroppedBuffers == uint64(limit+40)
			}, func() string { return fmt.Sprintf("sent %d, stats %+v", limit+40, s.Stats()) })
			if st := s.Stats(); st.RxFrames != uint64(limit) || st.KernelDroppedBuffers != 0 {
				t.Fatalf("stats %+v: want RxFrames = %d (the pool), no kernel drops", st, limit)
			}
			before := col.n.Load()
			// Release everything (the receive goroutine is parked in
			// the kernel, so held is stable) and the server recovers.
			mu.Lock()
			for _, f := range held {
				f.Release()
			}
			held, holding = nil, false
			mu.Unlock()
			// The buffers posted while the pool was empty still take
			// one datagram each; the ones after are delivered.
			testutils.Eventually(t, 5*time.Second, "recovery", func() bool {
				sendSome(1)
				return col.n.Load() > before
			})
		})
	}
}
