package udprssi_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udprssi"
)

// Frame sizes that fill one segment of the stack (Rogue's data per
// segment), so that stack and plain UDP carry the same frames one
// datagram each.
var benchCases = []struct {
	name  string
	jumbo bool
	size  int
}{
	{"std", false, 1440},
	{"jumbo", true, 8936},
}

// BenchmarkStack sends frames through the whole stack (udp.Client ==
// rssi.Client == packetizer on loopback to the server's) and reports the
// receiver's rate.
func BenchmarkStack(b *testing.B) {
	for _, c := range benchCases {
		for _, v := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/v%d/%dB", c.name, v, c.size), func(b *testing.B) { benchStack(b, c.jumbo, v, c.size) })
		}
	}
}

func benchStack(b *testing.B, jumbo bool, v, size int) {
	o := udprssi.Options{Jumbo: jumbo, Packetizer: v}
	srv, err := udprssi.NewServer(0, o)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := udprssi.NewClient("127.0.0.1", srv.Port(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.WaitOpen(ctx); err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	engine.Connect(srv.Application(0), engine.SlaveFunc(func(engine.Frame) { got.Add(1) }))
	pool, _ := engine.NewFixedPool(size, 64, 0)
	port := cl.Application(0)
	send := func(n int) {
		for range n {
			f, _ := pool.AcceptReq(size, true)
			f.SetPayload(size)
			port.AcceptFrame(f)
			if f.Error() != 0 {
				b.Fatalf("frame refused: %+v", cl.RSSI.Stats())
			}
			f.Release()
		}
	}
	wait := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for got.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d frames arrived; server %+v", got.Load(), n, srv.Packetizer.Stats())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	const warm = 2000 // fills the pools on both ends before the timer runs
	send(warm)
	wait(warm)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	send(b.N)
	wait(warm + int64(b.N))
	report(b, got.Load()-warm, size, time.Since(start))
	b.ReportMetric(float64(cl.RSSI.Stats().Retransmits), "retransmits")
}

// BenchmarkPlainUDP sends the same frames from a udp.Client to a
// udp.Server, one datagram each, and reports the receiver's rate
// (without flow control some may be lost: "lost" is their count).
func BenchmarkPlainUDP(b *testing.B) {
	for _, c := range benchCases {
		b.Run(fmt.Sprintf("%s/%dB", c.name, c.size), func(b *testing.B) { benchPlain(b, c.jumbo, c.size) })
	}
}

func benchPlain(b *testing.B, jumbo bool, size int) {
	srv, err := udp.NewServer(0, jumbo)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := udp.NewClient("127.0.0.1", srv.Port(), jumbo)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var got atomic.Int64
	engine.Connect(srv, engine.SlaveFunc(func(engine.Frame) { got.Add(1) }))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		f, _ := cl.AcceptReq(size, true)
		f.SetPayload(size)
		cl.AcceptFrame(f)
		f.Release()
	}
	end := time.Now()
	// Count what arrives until the receiver has been quiet for 50 ms.
	for last := int64(-1); got.Load() != last; {
		last = got.Load()
		time.Sleep(50 * time.Millisecond)
	}
	report(b, got.Load(), size, end.Sub(start))
	b.ReportMetric(float64(int64(b.N)-got.Load()), "lost")
}

func report(b *testing.B, frames int64, size int, d time.Duration) {
	s := d.Seconds()
	b.ReportMetric(float64(frames)/s, "frames/s")
	b.ReportMetric(float64(frames)*float64(size)*8/s/1e9, "Gbit/s")
}
