package bench

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// BenchmarkRun measures the engine end to end: each iteration is one Run
// of benchDuration. Besides time per run it reports the received datagram
// rate, throughput, loss and CPU cost per datagram, and the heap
// allocations per datagram over the whole run (setup included).
func BenchmarkRun(b *testing.B) {
	const benchDuration = time.Second
	for _, tr := range []udp.Transport{udp.TransportNaive, udp.TransportMmsg, udp.TransportGRO} {
		for _, payload := range []int{1472, 8972} {
			b.Run(tr.String()+"/"+strconv.Itoa(payload), func(b *testing.B) {
				var dps, bps, loss, rxns, txns, allocs float64
				for b.Loop() {
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					r, err := Run(context.Background(), report.Case{Transport: tr, Payload: payload, Duration: benchDuration})
					runtime.ReadMemStats(&after)
					if err != nil {
						b.Fatal(err)
					}
					dps += r.SumReceived.DatagramsPerSecond
					bps += r.SumReceived.BitsPerSecond
					loss += r.SumReceived.LostPercent
					rxns += r.SumReceived.CPUNsPerDatagram
					txns += r.SumSent.CPUNsPerDatagram
					allocs += float64(after.Mallocs-before.Mallocs) / float64(max(r.SumSent.Packets, 1))
				}
				n := float64(b.N)
				b.ReportMetric(dps/n, "datagrams/s")
				b.ReportMetric(bps/n/1e9, "Gbit/s")
				b.ReportMetric(loss/n, "loss%")
				b.ReportMetric(rxns/n, "rx-ns/datagram")
				b.ReportMetric(txns/n, "tx-ns/datagram")
				b.ReportMetric(allocs/n, "allocs/datagram")
			})
		}
	}
}
