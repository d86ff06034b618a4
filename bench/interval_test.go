package bench

import (
	"testing"

	"udpstream.dev/bench/report"
)

// Streams with different numbers of intervals merge into records that
// each hold every stream, and the records still count every datagram.
func TestMergeIntervalsJoinsAStreamsExtraInterval(t *testing.T) {
	rec := func(start, end float64, packets uint64) report.IntervalRecord {
		return report.IntervalRecord{Sum: report.Interval{Start: start, End: end, Seconds: end - start, Packets: packets, Bytes: 1000 * packets}}
	}
	per := [][]report.IntervalRecord{
		{rec(0, 0.2, 10), rec(0.2, 0.4, 10), rec(0.4, 0.6, 10)},
		{rec(0, 0.2, 20), rec(0.2, 0.4, 20), rec(0.4, 0.625, 20), rec(0.625, 0.65, 3)},
	}
	out := mergeIntervals(per)
	var total uint64
	for _, r := range out {
		if len(r.Streams) != 2 {
			t.Fatalf("record %+v does not hold both streams", r)
		}
		total += r.Sum.Packets
	}
	last := out[len(out)-1].Streams[1].Interval
	if len(out) != 3 || total != 93 || last.End != 0.65 || last.Packets != 23 || last.Bytes != 23000 {
		t.Fatalf("%d records, %d datagrams, last of stream 2 %+v; want 3, 93, 0.4-0.65 s with 23", len(out), total, last)
	}
}
