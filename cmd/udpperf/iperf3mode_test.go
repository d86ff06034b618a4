package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// startProtoServer starts `udpperf -s` (iperf3's protocol, the default)
// on a free port.
func startProtoServer(t *testing.T, args ...string) (*proc, int) {
	t.Helper()
	return startOnFreePortsWith(t, 1, startBin, func(port int) []string {
		return append([]string{"-s", "-p", fmt.Sprint(port), "-B", "127.0.0.1"}, args...)
	})
}

// protoJSON is what these tests read of a client's -J document (iperf3's
// paths, from either client).
type protoJSON struct {
	End struct {
		SumSent struct {
			Packets uint64 `json:"packets"`
		} `json:"sum_sent"`
		SumReceived struct {
			Packets     uint64 `json:"packets"`
			LostPackets uint64 `json:"lost_packets"`
		} `json:"sum_received"`
		SumBidirReverse *struct {
			Packets uint64 `json:"packets"`
		} `json:"sum_bidir_reverse"`
	} `json:"end"`
	Error   string `json:"error"`
	Udpperf *struct {
		Streams []struct {
			Received   uint64 `json:"received"`
			PRBSErrors uint64 `json:"prbs_errors"`
		} `json:"streams"`
	} `json:"udpperf"`
}

// TestProtoRealIperf3Client: a real iperf3 client against `udpperf -s`
// exits 0, and its sent count equals what it says the server received
// plus lost (the server vouches its loss with the client's sent count).
func TestProtoRealIperf3Client(t *testing.T) {
	if testing.Short() {
		t.Skip("short: real iperf3 interop (runs for seconds); the full run covers it")
	}
	iperf3, err := exec.LookPath("iperf3")
	if err != nil {
		t.Skip("iperf3 is not installed (apt-get install -y iperf3)")
	}
	srv, port := startProtoServer(t, "-1", "-J")
	out, err := exec.Command(iperf3, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-u", "-b", "0", "-l", "1472", "-t", "1", "-J").Output()
	if err != nil {
		t.Fatalf("iperf3: %v\n%s", err, out)
	}
	var j protoJSON
	if err := json.Unmarshal(out, &j); err != nil || j.Error != "" {
		t.Fatalf("iperf3 JSON: %v %s", err, j.Error)
	}
	if j.End.SumSent.Packets == 0 || j.End.SumReceived.Packets != j.End.SumSent.Packets {
		t.Errorf("iperf3 sent %d, server received+lost %d", j.End.SumSent.Packets, j.End.SumReceived.Packets)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	if !strings.Contains(srv.stdout.String(), `"accepted_connection"`) {
		t.Errorf("server JSON:\n%s", srv.stdout.String())
	}
}

// TestProtoClientToRealIperf3Server: `udpperf -c` drives a real iperf3
// server, --bidir, and prints iperf3's paths.
func TestProtoClientToRealIperf3Server(t *testing.T) {
	if testing.Short() {
		t.Skip("short: bench/iperf3 drives the real iperf3 server; TestProtoRealIperf3Client covers the CLI")
	}
	iperf3, err := exec.LookPath("iperf3")
	if err != nil {
		t.Skip("iperf3 is not installed (apt-get install -y iperf3)")
	}
	port := freePort(t)
	srv := exec.Command(iperf3, "-s", "-1", "-B", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	var out, errOut string
	var code int
	for i := 0; i < 100; i++ { // until iperf3 -s listens: a refused connect does not reach it
		out, errOut, code = runBin(t, 30*time.Second, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "1", "-b", "10M", "--bidir", "-J")
		if code == 0 || !strings.Contains(out+errOut, "refused") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	var j protoJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.End.SumSent.Packets == 0 || j.End.SumBidirReverse == nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
}

// TestProtoTwoClientsNoP: one `udpperf -s` without -P serves two clients
// at once, one of them with -P 2, each with exact counts.
func TestProtoTwoClientsNoP(t *testing.T) {
	if testing.Short() {
		t.Skip("short: two concurrent clients; TestProtoTextAndErrors covers the iperf3 protocol mode")
	}
	_, port := startProtoServer(t)
	var wg sync.WaitGroup
	res := make([]protoJSON, 2)
	for i, extra := range [][]string{{"-P", "2", "--transport", "engine-gso", "--prbs"}, {"-R", "--prbs"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "1", "-b", "20M", "-J"}, extra...)
			out, errOut, code := runBin(t, 30*time.Second, args...)
			if code != 0 {
				t.Errorf("client %d: exit %d\n%s", i, code, errOut)
				return
			}
			if err := json.Unmarshal([]byte(out), &res[i]); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if r := res[0].End; r.SumSent.Packets == 0 || r.SumReceived.Packets != r.SumSent.Packets {
		t.Errorf("-P 2: sent %d, server received+lost %d", r.SumSent.Packets, r.SumReceived.Packets)
	}
	if r := res[1].End; r.SumReceived.Packets == 0 || r.SumReceived.Packets > r.SumSent.Packets {
		t.Errorf("-R: server sent %d, client received+lost %d", r.SumSent.Packets, r.SumReceived.Packets)
	}
	for i, r := range res {
		if r.Udpperf == nil || len(r.Udpperf.Streams) == 0 {
			t.Fatalf("client %d: no udpperf streams", i)
		}
		for _, st := range r.Udpperf.Streams {
			if st.Received == 0 || st.PRBSErrors != 0 {
				t.Errorf("client %d: PRBS stream %+v", i, st)
			}
		}
	}
}

// TestProtoTextAndErrors: the text lines (roles, columns, intervals from
// 0) and the command-line mistakes the issue names.
func TestProtoTextAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	srv, port := startProtoServer(t, "-i", "0.2")
	out, errOut, code := runBin(t, 30*time.Second, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "1", "-b", "5M", "--bidir", "-i", "0.2", "-l", "8972")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"[TX-C]", "[RX-C]", "Jitter    Lost/Total", "sender", "receiver", "iperf Done."} {
		if !strings.Contains(out, w) {
			t.Errorf("client output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(srv.stdout.String(), "[TX-S]   0.00-") {
		t.Errorf("server output:\n%s", srv.stdout.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "127.0.0.1", "-l", "0"}, "-l/--size 0"},
		{[]string{"-c", "127.0.0.1", "-l", "65508"}, "65508"},
		{[]string{"-c", "127.0.0.1", "-A", fmt.Sprint(runtime.NumCPU())}, "CPU"},
		{[]string{"-c", "127.0.0.1", "-P", "129"}, "-P"},
		{[]string{"-s", "--max-clients", "0"}, "--max-clients"},
		{[]string{"-s", "--allow", "nonsense"}, "--allow"},
	} {
		_, errOut, code := runBin(t, 10*time.Second, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errOut)
		}
	}
}

// TestProtoUntilInterrupted: -t 0 runs until SIGINT, then ends the test
// normally (results exchanged, exit 0); the server reports it.
func TestProtoUntilInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a run stopped by a signal; TestProtoTextAndErrors covers the iperf3 protocol mode")
	}
	srv, port := startProtoServer(t, "-1")
	cl := startBin(t, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "0", "-b", "5M", "-i", "0.2")
	time.Sleep(800 * time.Millisecond)
	if err := cl.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := cl.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("client exit %d:\n%s", code, cl.stderr.String())
	}
	if out := cl.stdout.String(); !strings.Contains(out, "receiver") || !strings.Contains(out, "  0.00-0.") {
		t.Errorf("client output:\n%s", out)
	}
	if code := srv.wait(t, 10*time.Second); code != 0 || !strings.Contains(srv.stdout.String(), "ended: done") {
		t.Errorf("server exit %d:\n%s", code, srv.stdout.String())
	}
}
