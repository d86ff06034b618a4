package traffic

import (
	"context"
	"net"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

func TestSenderNumbersDatagramsInOrder(t *testing.T) {
	run := 100 * time.Millisecond
	if testing.Short() {
		run = 30 * time.Millisecond // short: about 600 datagrams a case instead of 2000
	}
	for _, on := range []bool{false, true} {
		tx := benchtest.NewTx(t)
		tx.PRBS = on
		s, err := NewSender(tx, 1472, 16, on, false)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		// 20k datagrams/s for 100 ms: about 2000 (600 in short mode).
		elapsed, err := s.Run(ctx, run, 20000)
		cancel()
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		n := len(tx.Seqs)
		if n == 0 || n > 2016 || uint64(n) != s.Sent.Load() {
			t.Fatalf("prbs=%v: sent %d (counter %d) in %v at 20k/s", on, n, s.Sent.Load(), elapsed)
		}
		for i, seq := range tx.Seqs {
			if seq != uint64(i) {
				t.Fatalf("prbs=%v: datagram %d has sequence %d", on, i, seq)
			}
		}
		if tx.PRBSBad != 0 {
			t.Fatalf("%d PRBS frames do not verify", tx.PRBSBad)
		}
		if s.SentBytes.Load() != uint64(n*1472) {
			t.Fatalf("bytes %d", s.SentBytes.Load())
		}
		if tx.Pool.AllocCount() != 0 {
			t.Fatalf("%d buffers not returned to the pool", tx.Pool.AllocCount())
		}
	}
}

// TestSenderFreshSplitFrames covers the AF_XDP way of sending: new frames
// for every batch, from a pool of buffers smaller than a datagram.
func TestSenderFreshSplitFrames(t *testing.T) {
	for _, on := range []bool{false, true} {
		pool, err := engine.NewFixedPool(1024, 64, 0) // a 2500-byte datagram spans 3 buffers
		if err != nil {
			t.Fatal(err)
		}
		tx := &benchtest.Tx{Pool: pool, Keep: true, PRBS: on}
		s, err := NewSender(tx, 2500, 16, on, true)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = s.Run(ctx, 50*time.Millisecond, 20000)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(tx.Seqs) == 0 || tx.PRBSBad != 0 {
			t.Fatalf("prbs=%v: %d datagrams, %d bad", on, len(tx.Seqs), tx.PRBSBad)
		}
		for i, seq := range tx.Seqs {
			if seq != uint64(i) {
				t.Fatalf("prbs=%v: datagram %d has sequence %d", on, i, seq)
			}
		}
		if pool.AllocCount() != 0 {
			t.Fatalf("%d buffers still out after the run", pool.AllocCount())
		}
	}
}

func TestSenderLoopAllocatesNothing(t *testing.T) {
	tx := benchtest.NewTx(t)
	tx.Keep = false
	s, err := NewSender(tx, 1472, 64, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	allocs := testing.AllocsPerRun(100, func() {
		s.Fill(64, 0)
		tx.SendBatch(s.Frames)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

func BenchmarkSenderFill(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "seq", true: "prbs"}[on]
		b.Run(name, func(b *testing.B) {
			tx := benchtest.NewTx(b)
			s, _ := NewSender(tx, 1472, 64, on, false)
			defer s.Release()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Fill(64, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/datagram")
		})
	}
}

func TestSenderThroughEngineClientAllocatesNothing(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tr := range []udp.Transport{udp.TransportNaive, udp.TransportMmsg, udp.TransportGRO} {
		c, err := udp.NewClient("127.0.0.1", l.LocalAddr().(*net.UDPAddr).Port, false, udp.WithTransport(tr), udp.WithBatch(32))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSender(c, 1472, 32, false, false)
		if err != nil {
			t.Fatal(err)
		}
		s.Fill(32, 0)
		c.SendBatch(s.Frames) // warm up
		allocs := testing.AllocsPerRun(50, func() {
			s.Fill(32, 0)
			if n, err := c.SendBatch(s.Frames); n != 32 || err != nil {
				t.Fatalf("%s: sent %d: %v", tr, n, err)
			}
		})
		s.Release()
		c.Close()
		if allocs != 0 {
			t.Fatalf("%s: %v allocations per batch of 32", tr, allocs)
		}
	}
}

func TestFramesPerCall(t *testing.T) {
	for _, c := range []struct {
		t              udp.Transport
		payload, batch int
		want           int
	}{
		{udp.TransportMmsg, 1472, 64, 64},
		{udp.TransportNaive, 1472, 1, 1},
		{udp.TransportGRO, 1472, 64, 64 * 44},
		{udp.TransportGRO, 8972, 64, 64 * 7},
		{udp.TransportGRO, 1472, 1024, MaxFramesPerCall},
	} {
		if got := FramesPerCall(c.t, c.payload, c.batch); got != c.want {
			t.Fatalf("%s %d B batch %d: %d frames per call, want %d", c.t, c.payload, c.batch, got, c.want)
		}
	}
}
