package account

import (
	"testing"
	"time"

	"udpstream.dev/bench/report"
)

// A run that stops before its first tick still reports its one partial
// interval, marked short (under a tenth of the interval).
func TestReportIntervalsSamplesTheLastPartialInterval(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	var shorts []bool
	go ReportIntervals(time.Hour, stop, done, func(short bool) { shorts = append(shorts, short) })
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reportIntervals did not return after stop")
	}
	if len(shorts) != 1 || !shorts[0] {
		t.Fatalf("samples after an immediate stop: %v, want one short one", shorts)
	}
}

// extend stretches the last interval over a short tail: the datagrams of
// the tail are counted in it, none twice.
func TestMeterExtendFoldsTheTail(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMeter(t0, false)
	m.Next(t0.Add(time.Second), Counters{Packets: 100, Bytes: 1000}, 0)
	m.Next(t0.Add(2*time.Second), Counters{Packets: 250, Bytes: 2500}, 0)
	iv := m.Extend(t0.Add(2010*time.Millisecond), Counters{Packets: 251, Bytes: 2510}, 0)
	if iv.Start != 1 || iv.End != 2.01 || iv.Packets != 151 || iv.Bytes != 1510 {
		t.Fatalf("extended interval %+v, want 1-2.01 s with 151 datagrams, 1510 bytes", iv)
	}
	next := m.Next(t0.Add(3*time.Second), Counters{Packets: 300, Bytes: 3000}, 0)
	if next.Start != 2.01 || next.Packets != 49 {
		t.Fatalf("interval after the fold %+v, want it to start at 2.01 s with 49 datagrams", next)
	}
}

// With no earlier interval, the short last one is recorded on its own;
// the records always add up to the counters read last.
func TestRecordIntervalsKeepsEveryDatagram(t *testing.T) {
	var out []report.IntervalRecord
	n := uint64(0)
	read := func() (Counters, uint64) { n += 7; return Counters{Packets: n, Bytes: 10 * n}, 0 }
	stop := RecordIntervals(time.Hour, NewMeter(time.Now(), false), read, &out, nil)
	stop()
	if len(out) != 1 || out[0].Sum.Packets != 7 {
		t.Fatalf("records %+v, want one with the 7 datagrams", out)
	}
}
