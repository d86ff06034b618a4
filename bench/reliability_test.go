package bench

import (
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// A client whose server goes away stops within moments, with its own
// figures and a reason, instead of sending until its time is up.
func TestTransmitStopsWhenServerGoes(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	t.Parallel() // waits on timers and a socket; shares nothing with other tests
	// The server goes 300 ms after the first datagram reached it, so the
	// client was welcomed and is sending, however slow the machine.
	first := make(chan struct{})
	var once sync.Once
	tap := engine.SlaveFunc(func(engine.Frame) { once.Do(func() { close(first) }) })
	port, done, stop := startServeCancel(t, ServeConfig{Transport: udp.TransportMmsg, Taps: []engine.Slave{tap}})
	go func() {
		select {
		case <-first:
			time.Sleep(300 * time.Millisecond)
		case <-time.After(benchtest.Timeout / 2):
		}
		stop()
	}()
	var stopped time.Time
	done2 := make(chan struct{})
	go func() {
		<-done
		stopped = time.Now()
		close(done2)
	}()
	rep, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Duration: 10 * time.Second,
		Rate: report.Rate{DatagramsPerSecond: 20000}, CPU: -1})
	returned := time.Now()
	<-done2
	if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "port-unreachable") {
		t.Fatalf("err %v", err)
	}
	if took := returned.Sub(stopped); took > time.Second {
		t.Fatalf("the client went on for %v after the server stopped", took)
	}
	if s := rep.End.SumSent; !s.Sender || s.Packets == 0 || s.Seconds <= 0 || s.Seconds > 5 {
		t.Fatalf("sender summary %+v", s)
	}
}

// The sender's last datagrams met the port closed: the end of the test
// is not awaited for endWait.
func TestFinishStopsOnRefusals(t *testing.T) {
	// Refusals keep arriving, so finish sees one after it has read its
	// base, however late a loaded machine starts it.
	var refused atomic.Uint64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				refused.Add(1)
			case <-stop:
				return
			}
		}
	}()
	start := time.Now()
	_, err := finish(benchtest.NewTx(t), newReplySlave(), 1, 10, 1000, refused.Load)
	if !errors.Is(err, ErrPeerGone) || time.Since(start) > endWait/2 {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

// --raw has no session, but a closed port still ends the test at once.
func TestTransmitRawStopsWhenNothingListens(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	start := time.Now()
	rep, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Raw: true, Duration: 10 * time.Second,
		Rate: report.Rate{DatagramsPerSecond: 1000}, CPU: -1})
	if !errors.Is(err, ErrPeerGone) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if rep.End.SumSent.Packets == 0 {
		t.Fatalf("sender summary %+v", rep.End.SumSent)
	}
}
