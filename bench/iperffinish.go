package bench

import (
	"net/netip"
	"time"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
)

// finishIperf fills a client report's iperf3 figures from its own.
func (rep *ClientReport) finishIperf() {
	report.FillStreams(rep.Intervals)
	e := &rep.End
	sent := e.SumSent
	sum := report.UDPSum{
		Start: sent.Start, End: sent.End, Seconds: sent.Seconds, Bytes: sent.Bytes,
		BitsPerSecond: sent.BitsPerSecond, Packets: sent.Packets, Sender: true,
	}
	secs := sent.Seconds
	if e.hostWall > 0 {
		secs = e.hostWall.Seconds()
	}
	if secs > 0 {
		// The process's CPU time over the test.
		u, sys := 100*e.Process.User/secs, 100*e.Process.System/secs
		e.CPU.HostCPU = report.HostCPU{HostTotal: u + sys, HostUser: u, HostSystem: sys}
	}
	var outOfOrder uint64
	if r := e.SumReceived; r != nil {
		sum.JitterMs, sum.LostPackets, sum.LostPercent, sum.LossKnown = r.JitterMs, r.LostPackets, r.LostPercent, r.LossKnown
		outOfOrder = r.OutOfOrder
		e.CPU.RemoteTotal, e.CPU.RemoteUser, e.CPU.RemoteSystem = r.CPU.HostTotal, r.CPU.HostUser, r.CPU.HostSystem
	}
	if rc := e.remoteCPU; rc != nil {
		e.CPU.RemoteTotal, e.CPU.RemoteUser, e.CPU.RemoteSystem = rc.HostTotal, rc.HostUser, rc.HostSystem
	}
	e.Sum = sum
	e.Streams = []report.EndStream{{UDP: report.StreamSum{Socket: 1, UDPSum: sum, OutOfOrder: outOfOrder}}}
	if s, r := e.SumSentBidirReverse, e.SumReceivedBidirReverse; s != nil && r != nil {
		back := report.UDPSum{
			Start: s.Start, End: s.End, Seconds: s.Seconds, Bytes: s.Bytes, BitsPerSecond: s.BitsPerSecond,
			Packets: s.Packets, JitterMs: r.JitterMs, LostPackets: r.LostPackets, LostPercent: r.LostPercent,
			LossKnown: r.LossKnown,
		}
		e.Streams = append(e.Streams, report.EndStream{UDP: report.StreamSum{Socket: 2, UDPSum: back, OutOfOrder: r.OutOfOrder}})
	}
}

// finishIperf fills a server report's iperf3 figures from its own. The
// summary's jitter is the last ended session's.
func (rep *ServerReport) finishIperf(proc cpu.Usage, wall time.Duration) {
	report.FillStreams(rep.Intervals)
	e := &rep.End
	r := e.SumReceived
	sum := report.UDPSum{
		Start: r.Start, End: r.End, Seconds: r.Seconds, Bytes: r.Bytes, BitsPerSecond: r.BitsPerSecond,
		LostPackets: r.LostPackets, LostPercent: r.LostPercent, Packets: r.Packets + r.LostPackets,
		LossKnown: r.LossKnown,
	}
	if n := len(e.Sessions); n > 0 {
		last := e.Sessions[n-1]
		sum.JitterMs = last.JitterMs
		if ap, err := netip.ParseAddrPort(last.Client); err == nil {
			rep.Start.AcceptedConnection = &report.Endpoint{Host: ap.Addr().String(), Port: int(ap.Port())}
		}
	}
	e.Sum = sum
	e.Streams = []report.EndStream{{UDP: report.StreamSum{Socket: 1, UDPSum: sum, OutOfOrder: r.OutOfOrder}}}
	e.SumSent = report.SentSummary{Totals: report.Totals{Start: r.Start, End: r.End, Seconds: r.Seconds}, Sender: true}
	if n := len(e.Reverse); n > 0 {
		e.SumSent = e.Reverse[n-1].Sent // what the server sent, in a reverse test
	}
	e.CPU = report.HostCPUOf(proc, wall)
}
