package zmq

import (
	"strconv"
	"testing"
	"time"

	"udpstream.dev/engine"
)

// counter is a slave that counts frames and payload bytes.
type counter struct{ engine.BaseSlave }

// benchPair is a server sending to a client that counts.
func benchPair(tb testing.TB) (srv *Bridge, rx *counter) {
	srv, err := NewTcpServer("127.0.0.1", 0, WithSendTimeout(10*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := NewTcpClient("127.0.0.1", srv.Port())
	if err != nil {
		srv.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cli.Close(); srv.Close() })
	rx = &counter{}
	cli.AddSlave(rx)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Peers == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return srv, rx
}

// TestSendDoesNotAllocate holds the send path to 0 allocations per frame,
// for single- and multi-buffer frames.
func TestSendDoesNotAllocate(t *testing.T) {
	leakCheck(t)
	srv, rx := benchPair(t)
	pool, err := engine.NewFixedPool(4096, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1472, 8972} {
		f, err := pool.AcceptReq(size, true)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPayload(size)
		srv.Send(f) // warm up
		allocs := testing.AllocsPerRun(200, func() {
			if err := srv.Send(f); err != nil {
				t.Fatal(err)
			}
		})
		f.Release()
		if allocs != 0 {
			t.Fatalf("%d-byte frame: %.1f allocations per Send", size, allocs)
		}
	}
	want := uint64(3 * 202)
	waitUntil(t, 10*time.Second, "the frames", func() bool { return rx.FrameCount() == want })
}

// BenchmarkBridge measures frames through a server and client on
// loopback: the time per frame covers the send and, at the end, waiting
// for the receiver to have them all.
func BenchmarkBridge(b *testing.B) {
	for _, size := range []int{1472, 8972} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			srv, rx := benchPair(b)
			f, err := engine.NewPool().AcceptReq(size, true)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Release()
			f.SetPayload(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			base := rx.FrameCount()
			b.ResetTimer()
			for range b.N {
				if err := srv.Send(f); err != nil {
					b.Fatal(err)
				}
			}
			for rx.FrameCount() < base+uint64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
