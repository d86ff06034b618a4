package srp

import (
	"fmt"
	"slices"
	"strings"
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
// transactions/s, the p50/p99 latency of one read (start to wait
// return) in microseconds, the process's CPU time per read (user and
// system, microseconds: less sensitive to other load than the rate) and
// the datagrams both UDP endpoints sent per read.
func BenchmarkReadLatency(b *testing.B) {
	for _, link := range []string{"udp", "udp-txqueue", "rssi", "rssi-txqueue"} {
		for _, size := range []int{4, 4096} {
			for _, inflight := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/size=%d/inflight=%d", link, size, inflight), func(b *testing.B) {
					l := benchLink(b, link)
					defer l.close()
					benchReads(b, l, size, inflight)
				})
			}
		}
	}
}

// benchPair is a host and a device on one link, and the datagrams their
// UDP endpoints sent so far.
type benchPair struct {
	m      *memory.Master
	close  func()
	txSent func() uint64
}

func benchLink(b *testing.B, link string) benchPair {
	var opts []udp.Option
	if strings.HasSuffix(link, "-txqueue") { // sends batched by a transmit goroutine (sendmmsg)
		opts = append(opts, udp.WithTxQueue(256))
	}
	if strings.HasPrefix(link, "udp") {
		p := newUDPPair(b, opts...)
		return benchPair{p.m, p.close, func() uint64 { return p.client.Stats().TxFrames + p.server.Stats().TxFrames }}
	}
	p := newRSSIPair(b, 2, false, 0, opts...)
	c, s := p.client.UDP.(*udp.Client), p.server.UDP.(*udp.Server)
	return benchPair{p.m, p.close, func() uint64 { return c.Stats().TxFrames + s.Stats().TxFrames }}
}

// benchReads runs b.N reads from inflight goroutines and reports rate and
// latency percentiles.
func benchReads(b *testing.B, l benchPair, size, inflight int) {
	m := l.m
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
	start, cpu0, sent0 := time.Now(), cpuTime(), l.txSent()
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
	elapsed, cpu, sent := time.Since(start), cpuTime()-cpu0, l.txSent()-sent0
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
	if cpu > 0 {
		b.ReportMetric(float64(cpu)/1e3/float64(len(all)), "cpu-us/op")
	}
	b.ReportMetric(float64(sent)/float64(len(all)), "dgrams/op")
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
