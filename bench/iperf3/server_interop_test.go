package iperf3

import (
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// reports collects a server's session reports.
type reports struct {
	mu  sync.Mutex
	all []*SessionReport
}

func (r *reports) add(s *SessionReport) { r.mu.Lock(); r.all = append(r.all, s); r.mu.Unlock() }
func (r *reports) n() int               { r.mu.Lock(); defer r.mu.Unlock(); return len(r.all) }
func (r *reports) get(i int) *SessionReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[i]
}

func startServer(t *testing.T, cfg ServerConfig) (*Server, *reports) {
	t.Helper()
	rep := &reports{}
	cfg.OnReport = rep.add
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rep
}

// TestIperf3ClientToServer runs the real iperf3 client against the server
// in the five cases and checks that what iperf3 says it sent equals
// what the server received plus what it counted lost (the reverse for -R).
func TestIperf3ClientToServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: real iperf3 interop (runs for seconds); the full run covers it")
	}
	bin := needIperf3(t)
	cases := []struct {
		name string
		args []string
	}{
		{"b0", []string{"-b", "0", "-l", "1472", "--get-server-output"}},
		{"P4", []string{"-b", "0", "-l", "1472", "-P", "4"}},
		{"R", []string{"-b", "0", "-l", "1472", "-R"}},
		{"bidir", []string{"-b", "0", "-l", "1472", "--bidir"}},
		{"64bit", []string{"-b", "0", "-l", "1472", "--udp-counters-64bit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutils.Leak(t)
			s, rep := startServer(t, ServerConfig{ControlTimeout: 5 * time.Second})
			out, err := runIperf3Client(t, bin, s.Port(), 1, c.args...)
			if err != nil {
				t.Fatalf("iperf3: %v", err)
			}
			if out.Error != "" {
				t.Fatalf("iperf3 error: %s", out.Error)
			}
			testutils.Eventually(t, 5*time.Second, "session report", func() bool { return rep.n() == 1 })
			r := rep.get(0)
			if r.End != EndDone {
				t.Fatalf("session ended %q: %v", r.End, r.Err)
			}
			checkCounts(t, out, r)
			if c.name == "b0" && (!strings.Contains(out.ServerOutputText, "Accepted connection from 127.0.0.1") ||
				!strings.Contains(out.ServerOutputText, "receiver") || out.ServerOutputText != r.Text) {
				t.Errorf("server output %q, report text %q", out.ServerOutputText, r.Text)
			}
			s.Close()
		})
	}
}

// checkCounts compares iperf3's client report with the server's.
func checkCounts(t *testing.T, out *iperf3Out, r *SessionReport) {
	t.Helper()
	var rxRecv, rxLost, txSent uint64
	for _, s := range r.Streams {
		if s.Sender {
			txSent += s.Tx.Packets
		} else {
			rxRecv += s.Rx.Received
			rxLost += s.Rx.Lost
		}
	}
	var clientSent, clientRecv, clientLost uint64
	for _, s := range out.End.Streams {
		if s.UDP.Sender {
			clientSent += s.UDP.Packets
		} else {
			clientRecv += s.UDP.Packets - s.UDP.LostPackets
			clientLost += s.UDP.LostPackets
		}
	}
	t.Logf("iperf3 sent %d, server received %d + lost %d; server sent %d, iperf3 received %d + lost %d",
		clientSent, rxRecv, rxLost, txSent, clientRecv, clientLost)
	if rxRecv+rxLost != clientSent {
		t.Errorf("iperf3 sent %d, server received %d + lost %d = %d", clientSent, rxRecv, rxLost, rxRecv+rxLost)
	}
	if txSent > 0 && clientRecv+clientLost > txSent {
		t.Errorf("server sent %d, iperf3 received %d + lost %d", txSent, clientRecv, clientLost)
	}
	if clientSent == 0 && txSent == 0 {
		t.Error("nothing was sent")
	}
}
