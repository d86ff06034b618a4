package udp

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// modeRun is what one exchange produced: the echoes the client saw and
// both ends' counters.
type modeRun struct {
	echoes         [][]byte
	server, client Stats
}

// exchange runs the same traffic through a server and client opened with
// opts: frames of every size class echoed one at a time, then datagrams
// the server must drop (oversize) sent from a plain socket, and a last
// good one.
func exchange(t *testing.T, tr Transport, jumbo bool, opts ...Option) modeRun {
	t.Helper()
	opts = append([]Option{WithTransport(tr)}, opts...)
	s := mustServer(t, jumbo, opts...)
	engine.Connect(s, s) // echo
	c := mustClient(t, "127.0.0.1", s.Port(), jumbo, opts...)
	sizes := []int{0, 1, 100, c.MaxPayload() - 1, c.MaxPayload()}
	col := newCollector(0, true)
	engine.Connect(c, col)
	for i, n := range sizes {
		b := make([]byte, n)
		testutils.FillPattern(b, uint32(i))
		f := frameOf(t, c.ep.txPool, b)
		if err := c.Send(f); err != nil {
			t.Fatalf("Send(%d bytes): %v", n, err)
		}
		f.Release()
		testutils.Eventually(t, 5*time.Second, "echo", func() bool { return col.n.Load() == int64(i+1) })
	}
	raw := rawUDP(t)
	for _, n := range []int{s.MaxPayload() + 1, 20000, 10} {
		if _, err := raw.WriteToUDP(make([]byte, n), loopback(s.Port())); err != nil {
			t.Fatal(err)
		}
	}
	testutils.Eventually(t, 5*time.Second, "the last good datagram", func() bool { return s.Stats().RxFrames == uint64(len(sizes)+1) })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return modeRun{echoes: col.got(), server: s.Stats(), client: c.Stats()}
}

// TestLowLatencySameFramesAndCounts runs the same exchange with and
// without WithLowLatency (and with a spin): the echoes and every counter
// must agree, for each socket transport.
func TestLowLatencySameFramesAndCounts(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		for _, jumbo := range []bool{false, true} {
			if jumbo && testing.Short() {
				continue // short: standard frames only; the full run adds jumbo
			}
			t.Run(fmt.Sprintf("%v/jumbo=%v", tr, jumbo), func(t *testing.T) {
				want := exchange(t, tr, jumbo)
				for _, o := range []Option{WithLowLatency(), WithLowLatencySpin(100 * time.Microsecond)} {
					got := exchange(t, tr, jumbo, o)
					if len(got.echoes) != len(want.echoes) {
						t.Fatalf("%d echoes, want %d", len(got.echoes), len(want.echoes))
					}
					for i := range want.echoes {
						if !bytes.Equal(got.echoes[i], want.echoes[i]) {
							t.Errorf("echo %d differs: %d bytes, want %d", i, len(got.echoes[i]), len(want.echoes[i]))
						}
					}
					if got.server != want.server || got.client != want.client {
						t.Errorf("counters differ:\n server %+v\n want   %+v\n client %+v\n want   %+v", got.server, want.server, got.client, want.client)
					}
				}
				if want.server.RxOversize != 2 || want.server.RxFrames != 6 {
					t.Errorf("server counted %d frames, %d oversize; want 6, 2", want.server.RxFrames, want.server.RxOversize)
				}
			})
		}
	}
}

// TestLowLatencyCloseWhileBlocked closes idle endpoints whose receive
// threads sleep in the kernel with a wake period far longer than the
// bound: Close must wake them at once and leave no goroutine behind.
func TestLowLatencyCloseWhileBlocked(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		s := mustServer(t, false, WithTransport(tr), WithLowLatency(), WithReusePort(2))
		c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(tr), WithLowLatency())
		time.Sleep(20 * time.Millisecond) // let the receive threads fall asleep
		closeWithin(t, time.Second, c.Close)
		closeWithin(t, time.Second, s.Close)
		if err := s.Send(frameOf(t, s.ep.txPool, []byte("late"))); err == nil {
			t.Fatalf("%v: Send after Close succeeded", tr)
		}
	}
}

// TestLowLatencyOptionErrors checks the combinations WithLowLatency
// refuses.
func TestLowLatencyOptionErrors(t *testing.T) {
	testutils.Leak(t)
	cases := []struct {
		name string
		opts []Option
		want string
	}{
		{"rx queue", []Option{WithLowLatency(), WithRxQueue(16)}, "excludes WithRxQueue"},
		{"xdp", []Option{WithLowLatency(), WithTransport(TransportXDP)}, "not TransportXDP"},
		{"negative spin", []Option{WithLowLatencySpin(-time.Microsecond)}, "spin"},
		{"long spin", []Option{WithLowLatencySpin(time.Second)}, "spin"},
	}
	for _, c := range cases {
		_, err := NewServer(0, false, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// pingPong keeps one frame in flight between a client and an echoing
// server: the client's slave sends the next ping from its receive thread,
// as udpperf latency does, and signals when the round trips asked for are
// done.
type pingPong struct {
	c     *Client
	f     engine.Frame
	left  int // round trips still to make; touched by the receive thread
	done  chan struct{}
	err   error
	stall *time.Timer // reused, so that waiting allocates nothing
}

func (p *pingPong) AcceptFrame(engine.Frame) {
	if p.left--; p.left <= 0 {
		p.done <- struct{}{}
		return
	}
	if err := p.c.Send(p.f); err != nil {
		p.err = err
		p.done <- struct{}{}
	}
}

// run makes n round trips, failing tb when one takes longer than 5 s (a
// datagram lost on loopback).
func (p *pingPong) run(tb testing.TB, n int) {
	p.left = n
	if err := p.c.Send(p.f); err != nil {
		tb.Fatal(err)
	}
	p.stall.Reset(5 * time.Second)
	select {
	case <-p.done:
		p.stall.Stop()
	case <-p.stall.C:
		tb.Fatalf("round trips stalled with %d to go", p.left)
	}
	if p.err != nil {
		tb.Fatal(p.err)
	}
}

// newPingPong opens an echo server and a client with opts, 64-byte pings.
func newPingPong(tb testing.TB, opts ...Option) *pingPong {
	s := mustServer(tb, false, opts...)
	engine.Connect(s, s)
	c := mustClient(tb, "127.0.0.1", s.Port(), false, opts...)
	p := &pingPong{c: c, done: make(chan struct{}, 1), stall: time.NewTimer(time.Hour)}
	p.stall.Stop()
	p.f = frameOf(tb, c.ep.txPool, make([]byte, 64))
	tb.Cleanup(func() { p.f.Release() })
	engine.Connect(c, p)
	return p
}

// TestLowLatencyRoundTripNoAlloc checks that round trips in the
// low-latency mode allocate nothing per datagram, on either end
// (BenchmarkRoundTrip reports 0 allocs/op). (testing.AllocsPerRun
// would run them with GOMAXPROCS 1, where the two sleeping receive threads
// take turns with the one P; the mode wants a P per socket and one more.)
func TestLowLatencyRoundTripNoAlloc(t *testing.T) {
	testutils.Leak(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	p := newPingPong(t, WithLowLatency())
	for range 10 {
		p.run(t, 100) // warm up: pools fill their per-P caches
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 {
		p.run(t, 50)
	}
	runtime.ReadMemStats(&after)
	// Mallocs counts the whole process: the runtime and the test's own
	// waiting allocate a few objects now and then, an allocation per
	// datagram would add at least 2000.
	if n := after.Mallocs - before.Mallocs; n >= 20 {
		t.Errorf("%d allocations in 1000 round trips", n)
	}
}

// BenchmarkRoundTrip measures one round trip of a 64-byte frame between a
// client and an echoing server on loopback, one in flight, through the
// netpoller and in the low-latency mode (ns/op is the round trip).
func BenchmarkRoundTrip(b *testing.B) {
	for _, m := range []struct {
		name string
		opts []Option
	}{
		{"netpoller", []Option{WithLockOSThread()}},
		{"low-latency", []Option{WithLowLatency()}},
		{"low-latency-spin50us", []Option{WithLowLatencySpin(50 * time.Microsecond)}},
	} {
		b.Run(m.name, func(b *testing.B) {
			p := newPingPong(b, m.opts...)
			p.run(b, 100)
			b.ReportAllocs()
			b.ResetTimer()
			p.run(b, b.N)
		})
	}
}
