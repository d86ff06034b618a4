package bench

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/netns"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// testTimeout bounds every run of these tests.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// checkConsistent checks the arithmetic every result must satisfy.
func checkConsistent(t *testing.T, r report.Result) {
	t.Helper()
	s, v := r.SumSent, r.SumReceived
	if s.Packets == 0 || v.Packets == 0 {
		t.Fatalf("%s: sent %d, received %d", r.Test.Transport, s.Packets, v.Packets)
	}
	if v.Packets+v.LostPackets != s.Packets {
		t.Fatalf("%s: received %d + lost %d != sent %d", r.Test.Transport, v.Packets, v.LostPackets, s.Packets)
	}
	if v.KernelDrops > v.LostPackets && !v.GRO {
		t.Fatalf("%s: kernel drops %d exceed the loss %d", r.Test.Transport, v.KernelDrops, v.LostPackets)
	}
	if s.Bytes != s.Packets*uint64(r.Test.Payload) || v.Bytes != v.Packets*uint64(r.Test.Payload) {
		t.Fatalf("%s: bytes %d/%d do not match %d-byte datagrams", r.Test.Transport, s.Bytes, v.Bytes, r.Test.Payload)
	}
	if s.Seconds <= 0 || s.DatagramsPerSecond <= 0 || v.BitsPerSecond <= 0 {
		t.Fatalf("%s: rates not computed: %+v %+v", r.Test.Transport, s, v)
	}
}

func TestRunEachTransportPacedWithPRBS(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	for _, tr := range []udp.Transport{udp.TransportNaive, udp.TransportMmsg, udp.TransportGRO} {
		t.Run(tr.String(), func(t *testing.T) {
			var intervals atomic.Int32
			c := report.Case{
				Transport: tr, Payload: 1024, Batch: 16, Duration: 400 * time.Millisecond,
				Rate: report.Rate{DatagramsPerSecond: 20000}, PRBS: true,
				Interval: 100 * time.Millisecond, OnInterval: func(report.Interval) { intervals.Add(1) },
			}
			r, err := Run(testContext(t), c)
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, r)
			if r.SumReceived.LostPackets != 0 || r.SumReceived.PRBSErrors != 0 {
				t.Fatalf("lost %d, PRBS errors %d at 20k datagrams/s", r.SumReceived.LostPackets, r.SumReceived.PRBSErrors)
			}
			// 20k/s for 0.4 s: at most 8000 plus the pacer's last batch
			// (fewer when the sender's CPU is busy with other work or
			// under the race detector).
			if n := r.SumSent.Packets; n > 8016 {
				t.Fatalf("sent %d datagrams, want at most about 8000", n)
			}
			if intervals.Load() < 2 || len(r.Intervals) != int(intervals.Load()) {
				t.Fatalf("%d interval callbacks, %d recorded", intervals.Load(), len(r.Intervals))
			}
			if r.Test.Transport != tr.String() || !r.Test.PRBS || r.Test.MTU != 1500 {
				t.Fatalf("test info %+v", r.Test)
			}
			if runtime.NumCPU() >= 2 && (r.Test.TxCPU < 0 || r.Test.RxCPU < 0 || r.Test.TxCPU == r.Test.RxCPU) {
				t.Fatalf("threads not pinned apart: tx %d rx %d", r.Test.TxCPU, r.Test.RxCPU)
			}
			if r.SumSent.CPUNsPerDatagram <= 0 || r.SumReceived.CPUNsPerDatagram <= 0 {
				t.Fatalf("CPU per datagram not measured: tx %v rx %v", r.SumSent.CPUNsPerDatagram, r.SumReceived.CPUNsPerDatagram)
			}
		})
	}
}

func TestRunFullSpeedJumbo(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	r, err := Run(testContext(t), report.Case{Transport: udp.TransportMmsg, Payload: 8972, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r)
	if r.Test.MTU != 9000 {
		t.Fatalf("MTU %d", r.Test.MTU)
	}
}

func TestRunWithRxQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	r, err := Run(testContext(t), report.Case{Transport: udp.TransportMmsg, Payload: 1472, Duration: 300 * time.Millisecond, RxQueue: 4096, PRBS: true})
	if err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, r)
	if r.Test.RxQueue != 4096 || r.Test.RxCPU != -1 || r.SumReceived.CPUNsPerDatagram != 0 || r.SumReceived.PRBSErrors != 0 {
		t.Fatalf("with a receive queue the delivery thread is not one thread: %+v %+v", r.Test, r.SumReceived)
	}
}

func TestRunRejectsBadCases(t *testing.T) {
	ctx := testContext(t)
	for _, c := range []report.Case{
		{Transport: udp.TransportMmsg, Payload: 9000},
		{Transport: udp.TransportMmsg, Payload: 4},
		{Transport: udp.TransportMmsg, Payload: 1470, PRBS: true},
		{Transport: udp.TransportMmsg, Batch: 5000},
		{Transport: udp.Transport(42)},
	} {
		r, err := Run(ctx, c)
		if err == nil || r.Error == "" {
			t.Fatalf("case %+v ran", c)
		}
	}
	if _, err := Run(ctx, report.Case{Transport: udp.TransportXDP}); err == nil || !strings.Contains(err.Error(), "veth pair") {
		t.Fatalf("xdp on loopback: %v", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	r, err := Run(ctx, report.Case{Transport: udp.TransportMmsg, Duration: time.Minute, Rate: report.Rate{DatagramsPerSecond: 10000},
		Interval: 50 * time.Millisecond, OnInterval: func(iv report.Interval) {
			if iv.Packets > 0 && cancelled.IsZero() {
				cancelled = time.Now()
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.IsZero() || time.Since(cancelled) > 5*time.Second {
		t.Fatalf("Run returned %v after cancel", time.Since(cancelled))
	}
	checkConsistent(t, r)
}

func TestRunNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("short: creates network namespaces and a veth pair (root)")
	}
	if err := netns.CheckNamespaces(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ns, err := netns.NewNamespaces()
	if err != nil {
		t.Skipf("skipping: network namespaces unavailable here: %v", err)
	}
	rx, tx := ns.Names()
	defer func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
		if netns.NamespaceExists(rx) || netns.NamespaceExists(tx) {
			t.Errorf("namespaces %s, %s left behind", rx, tx)
		}
	}()
	for _, tr := range []udp.Transport{udp.TransportGRO, udp.TransportXDP} {
		for _, payload := range []int{1472, 8972} {
			r, err := Run(testContext(t), report.Case{Transport: tr, Payload: payload, Duration: 300 * time.Millisecond,
				Rate: report.Rate{DatagramsPerSecond: 5000}, PRBS: true, Network: ns})
			if err != nil {
				t.Fatalf("%s %d: %v", tr, payload, err)
			}
			checkConsistent(t, r)
			// A slow receiver (the race detector makes PRBS checking of
			// jumbo frames slow) may lose datagrams, but only where the
			// kernel says it dropped them.
			if r.Test.Network != "netns-veth" || r.SumReceived.PRBSErrors != 0 || r.SumReceived.LostPackets > r.SumReceived.KernelDrops {
				t.Fatalf("%s %d: %+v %+v", tr, payload, r.Test, r.SumReceived)
			}
		}
	}
	lat, err := Latency(testContext(t), LatencyCase{Transport: udp.TransportXDP, Network: ns, Count: 200, Duration: 10 * time.Second})
	if err != nil || lat.Samples != 200 {
		t.Fatalf("xdp latency: %v %+v", err, lat)
	}
}

func TestSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	cases := report.Cases(report.Case{Duration: 100 * time.Millisecond, Rate: report.Rate{DatagramsPerSecond: 5000}},
		[]udp.Transport{udp.TransportNaive, udp.TransportMmsg}, []int{512}, []int{4, 8})
	if len(cases) != 3 { // naive once, mmsg per batch
		t.Fatalf("%d cases: %v", len(cases), cases)
	}
	var calls []string
	results, err := Sweep(testContext(t), cases, func(i, n int, c report.Case, r *report.Result) {
		calls = append(calls, c.String())
		if n != 3 || (r != nil) != (len(calls)%2 == 0) {
			t.Errorf("progress call %d: i=%d n=%d r=%v", len(calls), i, n, r)
		}
	})
	if err != nil || len(results) != 3 || len(calls) != 6 {
		t.Fatalf("results %d, err %v, calls %v", len(results), err, calls)
	}
	if results[2].Test.Batch != 8 || results[0].Test.Batch != 1 {
		t.Fatalf("batches %d %d", results[0].Test.Batch, results[2].Test.Batch)
	}
	for _, r := range results {
		checkConsistent(t, r)
	}
	if FirstFailure(results) != nil {
		t.Fatal(FirstFailure(results))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := Sweep(ctx, cases, nil); err == nil || len(res) != 0 {
		t.Fatalf("cancelled sweep: %d results, %v", len(res), err)
	}
}

func startServe(t *testing.T, cfg ServeConfig) (port int, done chan ServerReport) {
	t.Helper()
	port, done, _ = startServeCancel(t, cfg)
	return port, done
}

// startServeCancel starts Serve in the background and returns its port, a
// channel with its report, and a function that stops it.
func startServeCancel(t *testing.T, cfg ServeConfig) (port int, done chan ServerReport, stop func()) {
	t.Helper()
	ctx, stop := context.WithCancel(testContext(t))
	ready := make(chan int, 1)
	cfg.Ready = func(p int) { ready <- p }
	cfg.Bind = netip.MustParseAddr("127.0.0.1")
	done = make(chan ServerReport, 1)
	errc := make(chan error, 1)
	go func() {
		rep, err := Serve(ctx, cfg)
		errc <- err
		done <- rep
	}()
	select {
	case port = <-ready:
	case err := <-errc:
		t.Fatalf("server: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return port, done, stop
}

func TestServeAndTransmit(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	var mu sync.Mutex
	var sessions []account.SessionSummary
	port, done := startServe(t, ServeConfig{Transport: udp.TransportGRO, OneOff: true,
		OnSession: func(s account.SessionSummary) { mu.Lock(); sessions = append(sessions, s); mu.Unlock() }})
	var sentIntervals atomic.Int32
	rep, err := Transmit(testContext(t), ClientConfig{
		Host: "127.0.0.1", Port: port, Payload: 1200, Transport: udp.TransportGRO, Batch: 32,
		Duration: 400 * time.Millisecond, Rate: report.Rate{BitsPerSecond: 100e6}, PRBS: true, CPU: -1,
		Interval: 100 * time.Millisecond, OnInterval: func(report.Interval) { sentIntervals.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := <-done
	s, v := rep.End.SumSent, rep.End.SumReceived
	if v == nil {
		t.Fatal("no receiver summary")
	}
	if s.Packets == 0 || v.Packets != s.Packets || v.SentPackets != s.Packets || v.LostPackets != 0 || v.PRBSErrors != 0 {
		t.Fatalf("sent %+v\nreceived %+v", s, *v)
	}
	// 100 Mbit/s of 1200-byte datagrams for 0.4 s: about 4167.
	if s.Packets > 4300 {
		t.Fatalf("sent %d datagrams at 100 Mbit/s in 0.4 s", s.Packets)
	}
	if sentIntervals.Load() < 2 {
		t.Fatalf("%d sender intervals", sentIntervals.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sessions) != 1 || len(srv.End.Sessions) != 1 || srv.End.Sessions[0].ID != v.ID {
		t.Fatalf("server sessions: callbacks %d, report %d", len(sessions), len(srv.End.Sessions))
	}
	if srv.End.SumReceived.Packets != v.Packets || srv.End.SumReceived.LostPackets != 0 || !srv.End.SumReceived.LossKnown {
		t.Fatalf("server totals %+v", srv.End.SumReceived)
	}
	if len(srv.Intervals) == 0 {
		t.Fatal("server reported no interval")
	}
}

func TestServeStopsWhenIdleAndCountsForeignTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	t.Parallel() // waits on timers and a socket; shares nothing with other tests
	port, done := startServe(t, ServeConfig{Transport: udp.TransportMmsg, IdleExit: 200 * time.Millisecond, Time: 10 * time.Second})
	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, 300)
	for i := range 100 {
		payload[0] = byte(i) // not a sequence number anyone agreed on
		if _, err := conn.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case rep := <-done:
		v := rep.End.SumReceived
		if v.Packets != 100 || v.Bytes != 30000 || v.LossKnown || v.LostPackets != 0 {
			t.Fatalf("foreign traffic: %+v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after 200 ms idle")
	}
}

func TestTransmitRefusesJumboToStandardServer(t *testing.T) {
	port, done, stop := startServeCancel(t, ServeConfig{Transport: udp.TransportMmsg})
	defer func() { stop(); <-done }()
	_, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Payload: 8972, Duration: time.Second, CPU: -1})
	if !errors.Is(err, ErrPayloadTooLarge) || !strings.Contains(err.Error(), "--jumbo") {
		t.Fatalf("err %v", err)
	}
}

func TestTransmitFailsWithoutServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	t.Parallel() // waits on timers and a socket; shares nothing with other tests
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close() // nothing listens now: ICMP port unreachable
	start := time.Now()
	_, err = Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Duration: time.Second, CPU: -1})
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > helloWait+time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

func TestTransmitRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	t.Parallel() // waits on timers and a socket; shares nothing with other tests
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetReadBuffer(8 << 20)
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 2048)
		n := 0
		for {
			l.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := l.Read(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	rep, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: l.LocalAddr().(*net.UDPAddr).Port, Raw: true,
		Payload: 500, Duration: 200 * time.Millisecond, Rate: report.Rate{DatagramsPerSecond: 5000}, CPU: -1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.End.SumReceived != nil {
		t.Fatal("raw mode reported a receiver summary")
	}
	if n := <-got; uint64(n) != rep.End.SumSent.Packets || n == 0 {
		t.Fatalf("listener got %d datagrams, client sent %d", n, rep.End.SumSent.Packets)
	}
}

func TestLatency(t *testing.T) {
	for _, tr := range []udp.Transport{udp.TransportNaive, udp.TransportGRO} {
		r, err := Latency(testContext(t), LatencyCase{Transport: tr, Count: 300, Duration: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Samples != 300 || r.MinUs <= 0 || !(r.MinUs <= r.P50Us && r.P50Us <= r.P90Us && r.P90Us <= r.P99Us && r.P99Us <= r.P999Us && r.P999Us <= r.P9999Us && r.P9999Us <= r.MaxUs) {
			t.Fatalf("%s: %+v", tr, r)
		}
	}
	if _, err := Latency(testContext(t), LatencyCase{Transport: udp.TransportMmsg, Payload: 10}); err == nil || !strings.Contains(err.Error(), "ping size") {
		t.Fatalf("tiny ping: %v", err)
	}
}

func TestLatencyAgainstServe(t *testing.T) {
	port, done, stop := startServeCancel(t, ServeConfig{Transport: udp.TransportMmsg})
	defer stop()
	r, err := Latency(testContext(t), LatencyCase{Transport: udp.TransportMmsg, Host: "127.0.0.1", Port: port, Count: 200, Duration: 10 * time.Second, NoPin: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples != 200 || r.Test.Network != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("%+v", r)
	}
	stop()
	rep := <-done
	if rep.End.SumReceived.Packets != 0 {
		t.Fatalf("pings counted as data: %d", rep.End.SumReceived.Packets)
	}
}

// TestRunAllocatesNothingPerDatagram runs a case for two durations: the
// longer run may allocate more for setup noise (GC refilling pools) but not
// in proportion to the datagrams it moves.
func TestRunAllocatesNothingPerDatagram(t *testing.T) {
	if testing.Short() {
		t.Skip("short: runs each transport twice, long enough to count allocations per datagram")
	}
	for _, tr := range []udp.Transport{udp.TransportNaive, udp.TransportMmsg, udp.TransportGRO} {
		measure := func(d time.Duration) (datagrams, mallocs uint64) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := Run(testContext(t), report.Case{Transport: tr, Payload: 256, Batch: 32, Duration: d, Rate: report.Rate{DatagramsPerSecond: 30000}, PRBS: true})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			return r.SumSent.Packets + r.SumReceived.Packets, after.Mallocs - before.Mallocs
		}
		d1, m1 := measure(200 * time.Millisecond)
		d2, m2 := measure(800 * time.Millisecond)
		if d2 <= d1 {
			t.Fatalf("%s: the longer run moved %d datagrams, the shorter %d", tr, d2, d1)
		}
		extra := float64(int64(m2)-int64(m1)) / float64(d2-d1)
		t.Logf("%s: %d datagrams %d mallocs; %d datagrams %d mallocs: %.4f per extra datagram", tr, d1, m1, d2, m2, extra)
		if extra > 0.05 {
			t.Fatalf("%s: %.3f allocations per datagram", tr, extra)
		}
	}
}

func TestServeTimeBoundsAnIdleServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	t.Parallel() // waits on timers and a socket; shares nothing with other tests
	_, done := startServe(t, ServeConfig{Transport: udp.TransportMmsg, Time: 300 * time.Millisecond})
	start := time.Now()
	select {
	case rep := <-done:
		if rep.End.SumReceived.Packets != 0 {
			t.Fatalf("idle server received %d datagrams", rep.End.SumReceived.Packets)
		}
		if waited := time.Since(start); waited < 200*time.Millisecond {
			t.Fatalf("server stopped after %v, before its --time of 300ms", waited)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a server that heard nothing did not stop after --time")
	}
}
