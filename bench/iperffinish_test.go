package bench

import (
	"math"
	"testing"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
)

func TestClientReportIperfSummary(t *testing.T) {
	var rep ClientReport
	rep.Intervals = []report.IntervalRecord{{Sum: report.Interval{Packets: 5, Sender: true}}}
	rep.End.SumSent.Packets, rep.End.SumSent.Bytes, rep.End.SumSent.Seconds = 100, 100_000, 2
	rep.End.Process = report.ProcessCPU{User: 0.5, System: 0.1}
	rep.End.SumReceived = &account.SessionSummary{SentPackets: 100}
	v := &rep.End.SumReceived.ReceivedSummary
	v.Packets, v.LostPackets, v.LostPercent, v.JitterMs, v.OutOfOrder, v.LossKnown = 97, 3, 3, 0.25, 1, true
	rep.End.SumReceived.CPU = report.HostCPU{HostTotal: 7, HostUser: 5, HostSystem: 2}
	rep.finishIperf()
	s := rep.End.Sum
	// iperf3 3.12: packets is what was sent; loss and jitter the receiver's.
	if s.Packets != 100 || s.Bytes != 100_000 || s.LostPackets != 3 || s.JitterMs != 0.25 || !s.Sender || !s.LossKnown {
		t.Fatalf("end.sum %+v", s)
	}
	if st := rep.End.Streams; len(st) != 1 || st[0].UDP.OutOfOrder != 1 || st[0].UDP.Packets != 100 {
		t.Fatalf("end.streams %+v", st)
	}
	if rep.End.SumSent.LostPackets != 0 {
		t.Fatalf("sum_sent lost %d: iperf3 3.12 leaves the sender's at 0", rep.End.SumSent.LostPackets)
	}
	c := rep.End.CPU
	if math.Abs(c.HostTotal-30) > 1e-9 || math.Abs(c.HostUser-25) > 1e-9 || c.RemoteTotal != 7 || c.RemoteSystem != 2 {
		t.Fatalf("cpu %+v", c)
	}
	if iv := rep.Intervals[0]; len(iv.Streams) != 1 || iv.Streams[0].Socket != 1 || iv.Streams[0].Packets != 5 {
		t.Fatalf("interval streams %+v", iv.Streams)
	}
}
