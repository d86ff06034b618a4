package iperf3

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIperf3Interop compares datagram rates on loopback at 1472
// bytes, unpaced (-b 0): the real iperf3 client against udpperf's server
// and against iperf3's own server, and udpperf's client (UDP GSO) against
// both servers. Each run lasts IPERF3_BENCH_SECONDS (default 3) and
// reports received and sent datagrams per second; run it with
// -benchtime 1x (scripts/iperf3-compare.sh does) on a quiet machine.
func BenchmarkIperf3Interop(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Skip("iperf3 is not installed (apt-get install -y iperf3)")
	}
	secs := 3
	if v, err := strconv.Atoi(os.Getenv("IPERF3_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	b.Run("iperf3-client_to_udpperf-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rx, tx := iperf3ToUdpperf(b, secs)
			report(b, rx, tx)
		}
	})
	b.Run("iperf3-client_to_iperf3-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rx, tx := iperf3ToIperf3(b, secs)
			report(b, rx, tx)
		}
	})
	b.Run("udpperf-client-gso_to_udpperf-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s, err := NewServer(ServerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			rx, tx := udpperfClient(b, s.Port(), secs, false)
			s.Close()
			report(b, rx, tx)
		}
	})
	b.Run("udpperf-client-gso_to_iperf3-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rx, tx := udpperfClient(b, startIperf3ServerB(b), secs, false)
			report(b, rx, tx)
		}
	})
	b.Run("udpperf-client-engine-gso_to_udpperf-server", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s, err := NewServer(ServerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			rx, tx := udpperfClient(b, s.Port(), secs, true)
			s.Close()
			report(b, rx, tx)
		}
	})
}

func report(b *testing.B, rx, tx float64) {
	b.ReportMetric(rx, "rx_dgram/s")
	b.ReportMetric(tx, "tx_dgram/s")
	b.ReportMetric(0, "ns/op")
}

func iperf3ToUdpperf(b *testing.B, secs int) (rx, tx float64) {
	got := make(chan *SessionReport, 1)
	s, err := NewServer(ServerConfig{OnReport: func(r *SessionReport) { got <- r }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	out := runIperf3B(b, "-c", "127.0.0.1", "-p", itoa(s.Port()), "-u", "-b", "0", "-l", "1472", "-t", itoa(secs), "-J")
	r := <-got
	var recv uint64
	for _, st := range r.Streams {
		recv += st.Rx.Received
	}
	return float64(recv) / r.Duration.Seconds(), float64(out.End.SumSent.Packets) / float64(secs)
}

func iperf3ToIperf3(b *testing.B, secs int) (rx, tx float64) {
	port := startIperf3ServerB(b)
	out := runIperf3B(b, "-c", "127.0.0.1", "-p", itoa(port), "-u", "-b", "0", "-l", "1472", "-t", itoa(secs), "-J")
	recv := out.End.SumReceived.Packets - out.End.SumReceived.LostPackets
	return float64(recv) / float64(secs), float64(out.End.SumSent.Packets) / float64(secs)
}

func udpperfClient(b *testing.B, port, secs int, eng bool) (rx, tx float64) {
	res, err := Run(context.Background(), ClientConfig{Host: "127.0.0.1", Port: port, Len: 1472, Time: time.Duration(secs) * time.Second, GSO: true, Engine: eng})
	if err != nil {
		b.Fatal(err)
	}
	s := res.Streams[0]
	recv := uint64(s.Peer.Packets - s.Peer.Errors)
	return float64(recv) / res.Duration.Seconds(), float64(s.Tx.Packets) / res.Duration.Seconds()
}

func runIperf3B(b *testing.B, args ...string) *iperf3Out {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw, err := exec.CommandContext(ctx, "iperf3", args...).Output()
	var o iperf3Out
	if jerr := json.Unmarshal(raw, &o); jerr != nil || err != nil || o.Error != "" {
		b.Fatalf("iperf3 %v: %v %v %s", args, err, jerr, o.Error)
	}
	return &o
}

// startIperf3ServerB runs `iperf3 -s -1` for one test on a free port.
func startIperf3ServerB(b *testing.B) int {
	port := 0
	for i := 0; i < 20 && port == 0; i++ {
		port = probePort()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, "iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", itoa(port))
	if err := cmd.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if listening(port) {
			return port
		}
	}
	b.Fatal("iperf3 -s did not listen")
	return 0
}
