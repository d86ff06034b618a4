package srp

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/udp"
)

// BenchmarkReadLatency: reads of 4 and 4096 bytes, Go host <-> Go device
// on loopback, over plain UDP (jumbo) and over RSSI + packetizer v2
// tDest 0 (standard MTU), with 1 and 64 in flight; the -txqueue links
// batch their sends through udp.WithTxQueue (sendmmsg). It reports
// transactions/s and the p50/p99 latency of one read (start to wait
// return) in microseconds.
func BenchmarkReadLatency(b *testing.B) {
	for _, link := range []string{"udp", "udp-txqueue", "rssi", "rssi-txqueue"} {
		for _, size := range []int{4, 4096} {
			for _, inflight := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/size=%d/inflight=%d", link, size, inflight), func(b *testing.B) {
					m, closeFn := benchLink(b, link)
					defer closeFn()
					benchReads(b, m, size, inflight)
				})
			}
		}
	}
}

func benchLink(b *testing.B, link string) (*memory.Master, func()) {
	switch link {
	case "udp":
		p := newUDPPair(b)
		return p.m, p.close
	case "udp-txqueue": // sends batched by a transmit goroutine (sendmmsg)
		p := newUDPPair(b, udp.WithTxQueue(256))
		return p.m, p.close
	case "rssi-txqueue":
		p := newRSSIPair(b, 2, false, 0, udp.WithTxQueue(256))
		return p.m, p.close
	}
	p := newRSSIPair(b, 2, false, 0)
	return p.m, p.close
}

// benchReads runs b.N reads from inflight goroutines and reports rate and
// latency percentiles.
func benchReads(b *testing.B, m *memory.Master, size, inflight int) {
	lat := make([][]time.Duration, inflight)
	for i := range lat {
		lat[i] = make([]time.Duration, 0, b.N/inflight+1)
	}
	bufs := make([][]byte, inflight)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for w := range inflight {
		n := b.N / inflight
		if w < b.N%inflight {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := uint64(w) * regionSize
			for range n {
				t0 := time.Now()
				if err := m.Read(addr, bufs[w]); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	us := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e3 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "tx/s")
	b.ReportMetric(us(0.50), "p50-us")
	b.ReportMetric(us(0.99), "p99-us")
}

// BenchmarkHostDeviceDirect is the protocol alone: a host and a device
// joined in memory, one 4-byte read at a time; it must not allocate.
func BenchmarkHostDeviceDirect(b *testing.B) {
	host, dev := NewHost(), NewDevice(memory.NewEmulate(4, 4096))
	engine.Connect(host, dev)
	engine.Connect(dev, host)
	m := memory.NewMaster(host)
	defer func() { m.Close(); host.Close(); dev.Close() }()
	p := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Read(0x100, p); err != nil {
			b.Fatal(err)
		}
	}
}
