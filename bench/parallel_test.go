package bench

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"udpstream.dev/bench/report"
)

func TestSumIntervalsAddsStreams(t *testing.T) {
	a := report.Interval{Start: 0, End: 1, Seconds: 1, Packets: 10, Bytes: 100, BitsPerSecond: 800, DatagramsPerSecond: 10, LostPackets: 2, JitterMs: 1}
	b := report.Interval{Start: 0.01, End: 1.02, Seconds: 1.01, Packets: 30, Bytes: 300, BitsPerSecond: 2400, DatagramsPerSecond: 30, LostPackets: 0, JitterMs: 3}
	s := SumIntervals([]report.Interval{a, b})
	if s.Packets != 40 || s.Bytes != 400 || s.BitsPerSecond != 3200 || s.DatagramsPerSecond != 40 || s.LostPackets != 2 ||
		s.Start != 0 || s.End != 1.02 || s.Seconds != 1.01 || s.JitterMs != 2 || s.LostPercent != 100*2.0/42 {
		t.Fatalf("%+v", s)
	}
}

// A thread's CPU time adds up over the streams; a process's covers them
// all already, so the largest is kept.
func TestSumsCountCPUByScope(t *testing.T) {
	th := report.Totals{Packets: 1000, CPUUser: 1e-3, CPUScope: "thread"}
	if s := SumSent([]report.SentSummary{{Totals: th}, {Totals: th}}); s.Packets != 2000 || s.CPUUser != 2e-3 || s.CPUNsPerDatagram != 1000 {
		t.Fatalf("sent %+v", s)
	}
	pr := report.Totals{Packets: 1000, CPUUser: 4e-3, CPUScope: "process"}
	r := SumReceived([]report.ReceivedSummary{{Totals: pr, LossKnown: true}, {Totals: pr, LossKnown: false, LostPackets: 500}})
	if r.Packets != 2000 || r.CPUUser != 4e-3 || r.CPUNsPerDatagram != 2000 || r.LossKnown || r.LostPackets != 500 || r.LostPercent != 20 {
		t.Fatalf("received %+v", r)
	}
}

// The aligner passes a record on once every running stream delivered its
// interval, and stops waiting for a stream that ended.
func TestAlignerWaitsForEveryRunningStream(t *testing.T) {
	var mu sync.Mutex
	var got []report.IntervalRecord
	a := newAligner(2, func(r report.IntervalRecord) { mu.Lock(); got = append(got, r); mu.Unlock() })
	a.add(0, report.Interval{Packets: 1})
	a.add(0, report.Interval{Packets: 2})
	if len(got) != 0 {
		t.Fatalf("emitted before stream 2 reported: %+v", got)
	}
	a.add(1, report.Interval{Packets: 10})
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

// freePorts finds n consecutive free UDP ports on 127.0.0.1 (another
// process may take one before the caller binds it; callers retry).
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 20 {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		base := l.LocalAddr().(*net.UDPAddr).Port
		l.Close()
		ok := base+n-1 <= 65535
		for i := 1; i < n && ok; i++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + i})
			ok = err == nil
			if c != nil {
				c.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free consecutive ports")
	return 0
}

// Two streams in one process: the servers and the senders run at once,
// the sums are the streams', and nothing is left running (goleak).
func TestParallelInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	port := freePorts(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan int, 2)
	type served struct {
		rep ServerReport
		err error
	}
	done := make(chan served, 1)
	go func() {
		cfg := ServeConfig{Port: port, Bind: netip.MustParseAddr("127.0.0.1"), OneOff: true, Ready: func(p int) { ready <- p }}
		rep, err := ServeParallel(ctx, cfg, 2, nil, nil)
		done <- served{rep, err}
	}()
	<-ready
	<-ready
	var streamed sync.Map
	cfg := ClientConfig{Host: "127.0.0.1", Port: port, Payload: 1000, Batch: 8, Duration: 300 * time.Millisecond,
		Rate: report.Rate{BitsPerSecond: 8e6}, Interval: 100 * time.Millisecond}
	rep, err := TransmitParallel(ctx, cfg, 2, nil, func(s int, iv report.Interval) { streamed.Store(s, true) })
	if err != nil {
		t.Fatal(err)
	}
	sv := <-done
	if sv.err != nil {
		t.Fatal(sv.err)
	}
	if _, ok := streamed.Load(2); !ok || len(rep.Parallel) != 2 || rep.End.SumReceived == nil {
		t.Fatalf("report %+v", rep)
	}
	a, b := rep.Parallel[0], rep.Parallel[1]
	if a.SumSent.Packets == 0 || b.SumSent.Packets == 0 || a.SumSent.Packets+b.SumSent.Packets != rep.End.SumSent.Packets ||
		a.SumReceived.Packets+b.SumReceived.Packets != rep.End.SumReceived.Packets || sv.rep.End.SumReceived.Packets != rep.End.SumReceived.Packets {
		t.Fatalf("streams %+v %+v, sums %+v %+v, server %+v", a.SumSent, b.SumSent, rep.End.SumSent, rep.End.SumReceived, sv.rep.End.SumReceived)
	}
}

func TestParallelRefusals(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []ClientConfig{{Port: 1, Reverse: true}, {Port: 1, Bidir: true}, {Port: 1, Omit: time.Second}, {Port: 65535}} {
		if _, err := TransmitParallel(ctx, cfg, 2, nil, nil); !errors.Is(err, ErrParallelMode) {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
	if _, err := ServeParallel(ctx, ServeConfig{Port: 0}, 2, nil, nil); !errors.Is(err, ErrParallelMode) {
		t.Fatalf("port 0: %v", err)
	}
}
