package bench

import (
	"sync"
	"testing"
)

func TestSumIntervalsAddsStreams(t *testing.T) {
	a := Interval{Start: 0, End: 1, Seconds: 1, Packets: 10, Bytes: 100, BitsPerSecond: 800, DatagramsPerSecond: 10, LostPackets: 2, JitterMs: 1}
	b := Interval{Start: 0.01, End: 1.02, Seconds: 1.01, Packets: 30, Bytes: 300, BitsPerSecond: 2400, DatagramsPerSecond: 30, LostPackets: 0, JitterMs: 3}
	s := SumIntervals([]Interval{a, b})
	if s.Packets != 40 || s.Bytes != 400 || s.BitsPerSecond != 3200 || s.DatagramsPerSecond != 40 || s.LostPackets != 2 ||
		s.Start != 0 || s.End != 1.02 || s.Seconds != 1.01 || s.JitterMs != 2 || s.LostPercent != 100*2.0/42 {
		t.Fatalf("%+v", s)
	}
}

// A thread's CPU time adds up over the streams; a process's covers them
// all already, so the largest is kept.
func TestSumsCountCPUByScope(t *testing.T) {
	th := Totals{Packets: 1000, CPUUser: 1e-3, CPUScope: "thread"}
	if s := SumSent([]SentSummary{{Totals: th}, {Totals: th}}); s.Packets != 2000 || s.CPUUser != 2e-3 || s.CPUNsPerDatagram != 1000 {
		t.Fatalf("sent %+v", s)
	}
	pr := Totals{Packets: 1000, CPUUser: 4e-3, CPUScope: "process"}
	r := SumReceived([]ReceivedSummary{{Totals: pr, LossKnown: true}, {Totals: pr, LossKnown: false, LostPackets: 500}})
	if r.Packets != 2000 || r.CPUUser != 4e-3 || r.CPUNsPerDatagram != 2000 || r.LossKnown || r.LostPackets != 500 || r.LostPercent != 20 {
		t.Fatalf("received %+v", r)
	}
}

// The aligner passes a record on once every running stream delivered its
// interval, and stops waiting for a stream that ended.
func TestAlignerWaitsForEveryRunningStream(t *testing.T) {
	var mu sync.Mutex
	var got []IntervalRecord
	a := newAligner(2, func(r IntervalRecord) { mu.Lock(); got = append(got, r); mu.Unlock() })
	a.add(0, Interval{Packets: 1})
	a.add(0, Interval{Packets: 2})
	if len(got) != 0 {
		t.Fatalf("emitted before stream 2 reported: %+v", got)
	}
	a.add(1, Interval{Packets: 10})
	if len(got) != 1 || got[0].Sum.Packets != 11 || len(got[0].Streams) != 2 || got[0].Streams[1].Socket != 2 {
		t.Fatalf("%+v", got)
	}
	a.done(1)
	if len(got) != 2 || got[1].Sum.Packets != 2 || len(got[1].Streams) != 1 || got[1].Streams[0].Socket != 1 {
		t.Fatalf("after stream 2 ended: %+v", got)
	}
	a.done(0)
	if len(got) != 2 {
		t.Fatalf("emitted an empty record: %+v", got)
	}
}

func TestMergeIntervalsPairsByIndex(t *testing.T) {
	per := [][]IntervalRecord{
		{NewIntervalRecord(Interval{Packets: 1}), NewIntervalRecord(Interval{Packets: 2})},
		{NewIntervalRecord(Interval{Packets: 5})},
	}
	m := mergeIntervals(per)
	if len(m) != 2 || m[0].Sum.Packets != 6 || len(m[0].Streams) != 2 || m[1].Sum.Packets != 2 || m[1].Streams[0].Socket != 1 {
		t.Fatalf("%+v", m)
	}
}
