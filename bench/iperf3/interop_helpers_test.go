package iperf3

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// needIperf3 returns the path of the iperf3 binary or skips the test.
// CI installs it (scripts/setup.sh); elsewhere `apt-get install -y iperf3`.
func needIperf3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("iperf3")
	if err != nil {
		t.Skip("iperf3 is not installed (apt-get install -y iperf3); the interoperation tests need the real binary")
	}
	return p
}

// iperf3Out is the part of iperf3's -J output the tests read.
type iperf3Out struct {
	End struct {
		Streams []struct {
			UDP struct {
				Bytes       uint64  `json:"bytes"`
				Packets     uint64  `json:"packets"`
				LostPackets uint64  `json:"lost_packets"`
				JitterMs    float64 `json:"jitter_ms"`
				Sender      bool    `json:"sender"`
			} `json:"udp"`
		} `json:"streams"`
		Sum struct {
			Bytes       uint64 `json:"bytes"`
			Packets     uint64 `json:"packets"`
			LostPackets uint64 `json:"lost_packets"`
			Sender      bool   `json:"sender"`
		} `json:"sum"`
		SumSent struct {
			Packets uint64 `json:"packets"`
		} `json:"sum_sent"`
		SumReceived struct {
			Packets     uint64 `json:"packets"`
			LostPackets uint64 `json:"lost_packets"`
		} `json:"sum_received"`
		SumBidirReverse *struct {
			Packets     uint64 `json:"packets"`
			LostPackets uint64 `json:"lost_packets"`
			Sender      bool   `json:"sender"`
		} `json:"sum_bidir_reverse"`
	} `json:"end"`
	Error            string          `json:"error"`
	ServerOutputText string          `json:"server_output_text"`
	ServerOutputJSON json.RawMessage `json:"server_output_json"`
}

// runIperf3Client runs `iperf3 -c 127.0.0.1 -p port -u -J args...` bounded
// in time and decodes its output.
func runIperf3Client(t *testing.T, bin string, port int, secs int, args ...string) (*iperf3Out, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+20)*time.Second)
	defer cancel()
	all := append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "-J", "-t", strconv.Itoa(secs)}, args...)
	out, err := exec.CommandContext(ctx, bin, all...).Output()
	var o iperf3Out
	if jerr := json.Unmarshal(out, &o); jerr != nil {
		t.Logf("iperf3 output: %s", out)
		return nil, jerr
	}
	if err != nil {
		t.Logf("iperf3 output: %s", out)
	}
	return &o, err
}
