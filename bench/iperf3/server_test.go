package iperf3

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// TestServerTCPRequest: a TCP test gets iperf3's own error answer at once.
func TestServerTCPRequest(t *testing.T) {
	bin := needIperf3(t)
	testutils.Leak(t)
	s, rep := startServer(t, ServerConfig{})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "-c", "127.0.0.1", "-p", itoa(s.Port()), "-t", "1").CombinedOutput()
	if !strings.Contains(string(out), "protocol does not exist") || time.Since(start) > 5*time.Second {
		t.Errorf("iperf3 after %v: %s", time.Since(start), out)
	}
	testutils.Eventually(t, 5*time.Second, "report", func() bool { return rep.n() == 1 })
	if r := rep.get(0); r.End != EndRefused || !r.Params.TCP {
		t.Errorf("report %q tcp %v", r.End, r.Params.TCP)
	}
	s.Close()
}

// TestServerKilledClient: a client killed with -9 ends its session at once
// (the control connection closes), with a report.
func TestServerKilledClient(t *testing.T) {
	bin := needIperf3(t)
	testutils.Leak(t)
	running := make(chan struct{}, 1)
	rep := &reports{}
	s, err := NewServer(ServerConfig{Interval: 100 * time.Millisecond, OnReport: rep.add,
		OnInterval: func(*SessionReport, Interval) {
			select {
			case running <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", "127.0.0.1", "-p", itoa(s.Port()), "-u", "-b", "10M", "-t", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("test never ran")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	killed := time.Now()
	testutils.Eventually(t, 2*time.Second, "report of the killed client", func() bool { return rep.n() == 1 })
	r := rep.get(0)
	t.Logf("reported %v after the kill: %q, %d datagrams received", time.Since(killed), r.End, r.Streams[0].Rx.Received)
	if r.End != EndClientClosed || r.Streams[0].Rx.Received == 0 {
		t.Errorf("end %q, streams %+v", r.End, r.Streams)
	}
	if s.Active() != 0 {
		t.Errorf("%d sessions still active", s.Active())
	}
}

// TestServerServesOurClients: udpperf's client against udpperf's server,
// -P 2 without the server knowing beforehand, and two clients at once
// (one -R), each with correct counts.
func TestServerServesOurClients(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s, rep := startServer(t, ServerConfig{})
	cfgs := []ClientConfig{
		{Parallel: 2, Bandwidth: 20e6},
		{Parallel: 2, Bandwidth: 20e6, Reverse: true},
		{Bandwidth: 20e6, Bidir: true, Counters64: true, GSO: true, GRO: true},
		{Parallel: 2, Bandwidth: 20e6, GSO: true, Engine: true},
	}
	var wg sync.WaitGroup
	results := make([]*ClientResult, len(cfgs))
	errs := make([]error, len(cfgs))
	for i, cfg := range cfgs {
		cfg.Host, cfg.Port, cfg.Len, cfg.Time, cfg.Udpperf = "127.0.0.1", s.Port(), 1200, time.Second, true
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = Run(context.Background(), cfg) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	testutils.Eventually(t, 5*time.Second, "reports", func() bool { return rep.n() == len(cfgs) })
	for i := 0; i < rep.n(); i++ {
		for _, st := range rep.get(i).Streams {
			if st.Sender {
				t.Logf("server session %d stream %d to %v: sent %+v", rep.get(i).ID, st.ID, st.Client, st.Tx)
			}
		}
	}
	for i, res := range results {
		for _, cs := range res.Streams {
			if cs.Sender {
				ex := cs.Peer.Udpperf
				if ex == nil || ex.Received+uint64(cs.Peer.Errors) != cs.Tx.Packets || cs.Tx.Packets == 0 {
					t.Errorf("client %d stream %d: sent %d, server %+v errors %d", i, cs.ID, cs.Tx.Packets, ex, cs.Peer.Errors)
				}
				continue
			}
			t.Logf("client %d stream %d: received %d + lost %d (outside %d), server sent %d; client %v server %v", i, cs.ID, cs.Rx.Received, cs.Rx.Lost, cs.Rx.Outside, cs.Peer.Packets, res.Duration, cs.Peer.EndTime)
			if cs.Rx.Received == 0 || cs.Rx.Received+cs.Rx.Lost > uint64(cs.Peer.Packets) {
				t.Errorf("client %d stream %d: received %d + lost %d, server sent %d", i, cs.ID, cs.Rx.Received, cs.Rx.Lost, cs.Peer.Packets)
			}
		}
	}
	c := s.Counters()
	if c.Datagrams != c.Data+c.Control+c.Foreign+c.Malformed+c.Outside+c.Truncated || c.Foreign != 0 || c.Malformed != 0 {
		t.Errorf("port counters %+v", c)
	}
	s.Close()
}

// TestServerLimitAndAllowList: beyond MaxClients, and from an address
// not allowed, a client gets ACCESS_DENIED.
func TestServerLimitAndAllowList(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed iperf3-protocol tests and control timeouts; the full run covers it")
	}
	testutils.Leak(t)
	s, _ := startServer(t, ServerConfig{MaxClients: 1})
	first := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s.Port(), Time: 2 * time.Second, Bandwidth: 1e6})
		first <- err
	}()
	testutils.Eventually(t, 5*time.Second, "first session", func() bool { return s.Active() == 1 })
	_, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s.Port(), Time: time.Second})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("second client: %v, want ErrBusy", err)
	}
	if err := <-first; err != nil {
		t.Errorf("first client: %v", err)
	}
	s.Close()

	s2, _ := startServer(t, ServerConfig{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	_, err = Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: s2.Port(), Time: time.Second})
	if !errors.Is(err, ErrBusy) || s2.Denied() != 1 {
		t.Errorf("client not allowed: %v, denied %d", err, s2.Denied())
	}
	s2.Close()
}

func itoa(n int) string { return strconv.Itoa(n) }
