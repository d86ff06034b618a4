package iperf3

import (
	"context"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// paths lists the key paths of a JSON document, arrays folded to "[]".
func paths(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + "." + k
			out[p] = true
			paths(p, e, out)
		}
	case []any:
		for _, e := range x {
			paths(prefix+"[]", e, out)
		}
	}
}

// TestClientJSONPaths: every key iperf3 3.12's client writes under "end"
// for a --bidir -P 2 UDP test is in udpperf's client JSON, and the text
// summary has both directions with their roles.
func TestClientJSONPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("short: JSON key coverage; TestClientToIperf3Server runs the client against the real iperf3")
	}
	bin := needIperf3(t)
	testutils.Leak(t)
	s, _ := startServer(t, ServerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	raw, err := exec.CommandContext(ctx, bin, "-c", "127.0.0.1", "-p", itoa(s.Port()), "-u", "-b", "10M", "-t", "1", "-P", "2", "--bidir", "-J").Output()
	if err != nil {
		t.Fatalf("iperf3: %v", err)
	}
	var theirs map[string]any
	if err := json.Unmarshal(raw, &theirs); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, ClientConfig{Host: "127.0.0.1", Port: s.Port(), Time: time.Second, Bandwidth: 10e6, Parallel: 2, Bidir: true, Udpperf: true, Interval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.JSON("127.0.0.1", s.Port(), "udpperf test"))
	var ours map[string]any
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	want, have := map[string]bool{}, map[string]bool{}
	paths("", theirs["end"], want)
	paths("", ours["end"], have)
	var missing []string
	for p := range want {
		if !have[p] && !strings.Contains(p, "sender_tcp_congestion") && !strings.Contains(p, "receiver_tcp_congestion") {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("iperf3's end paths missing from udpperf's JSON: %v", missing)
	}
	var sent, recvPlusLost uint64
	for _, st := range res.Streams {
		if st.Sender {
			sent += st.Tx.Packets
			recvPlusLost += st.Peer.Udpperf.Received + uint64(st.Peer.Errors)
		}
	}
	j := res.JSON("127.0.0.1", s.Port(), "")
	if j.End.SumSent.Packets != sent || j.End.SumReceived.Packets != recvPlusLost || j.End.SumBidirReverse == nil {
		t.Errorf("sums: sent %d (want %d), received %d (want %d)", j.End.SumSent.Packets, sent, j.End.SumReceived.Packets, recvPlusLost)
	}
	text := strings.Join(SummaryLines(res), "\n")
	for _, w := range []string{"[SUM][TX-C]", "[SUM][RX-C]", "[  1][TX-C]", "[  5][RX-C]", "receiver", "Jitter    Lost/Total"} {
		if !strings.Contains(text, w) {
			t.Errorf("summary lacks %q:\n%s", w, text)
		}
	}
	if len(res.Intervals) < 2 {
		t.Errorf("%d intervals", len(res.Intervals))
	}
	t.Logf("\n%s", text)
	s.Close()
}
