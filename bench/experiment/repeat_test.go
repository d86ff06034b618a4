package experiment

import (
	"bytes"
	"strings"
	"testing"

	"udpstream.dev/bench/report"
)

func TestSummarize(t *testing.T) {
	run := func(transport string, sent, errs, recv, kernel, ring, pool uint64, secs float64) report.Result {
		var r report.Result
		r.Test = report.TestInfo{Transport: transport, Payload: 1472, Batch: 64, Rate: "max"}
		r.SumSent.Packets, r.SumSent.Errors, r.SumSent.Seconds = sent, errs, secs
		r.SumSent.CPUNsPerDatagram = 100
		v := &r.SumReceived
		v.Packets, v.LostPackets = recv, sent-recv
		v.DatagramsPerSecond = float64(recv) / secs
		v.BitsPerSecond = v.DatagramsPerSecond * 1472 * 8
		v.LostPercent = 100 * float64(sent-recv) / float64(sent)
		v.KernelDrops, v.RingDrops, v.PoolExhausted = kernel, ring, pool
		v.CPUNsPerDatagram = 200
		return r
	}
	results := []report.Result{
		run("mmsg", 1000, 0, 1000, 0, 0, 0, 1),
		run("mmsg", 3000, 10, 2900, 60, 20, 5, 1),
		run("mmsg", 2000, 0, 2000, 0, 0, 0, 1),
		run("gro", 5000, 0, 5000, 0, 0, 0, 1),
		{Test: report.TestInfo{Transport: "gro", Payload: 1472, Batch: 64, Rate: "max"}, Error: "socket: boom"},
	}
	sums := Summarize(results)
	if len(sums) != 2 {
		t.Fatalf("%d summaries, want 2", len(sums))
	}
	m := sums[0]
	if m.Runs != 3 || m.Failed != 0 || len(m.Results) != 3 {
		t.Fatalf("runs %+v", m)
	}
	if m.Received != (Spread{Median: 2000, Min: 1000, Max: 2900}) || m.Offered != (Spread{Median: 2000, Min: 1000, Max: 3010}) {
		t.Fatalf("received %+v offered %+v", m.Received, m.Offered)
	}
	want := LossCauses{Sent: 6000, Lost: 100, KernelDrops: 60, RingDrops: 20, PoolExhausted: 5, Other: 15, SendErrors: 10}
	if m.Loss != want {
		t.Fatalf("loss %+v, want %+v", m.Loss, want)
	}
	if got := m.MedianRun().SumReceived.Packets; got != 2000 {
		t.Fatalf("median run received %d", got)
	}
	g := sums[1]
	if g.Runs != 2 || g.Failed != 1 || g.Error != "socket: boom" || g.Received.Median != 5000 || g.MedianRun().Error != "" {
		t.Fatalf("gro %+v", g)
	}

	var b bytes.Buffer
	if err := WriteSummaryTable(&b, append(sums, Summarize(results[4:])...)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"offered datagrams/s", "received datagrams/s", "min-max", "1000-2900", "kernel drops", "other", "send errors", "2 (1 failed)", "error: socket: boom"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	// The loss column agrees with the summed counts (100 lost of 6000
	// sent), not the median run's 0%, and the statistics are named.
	lines := strings.Split(out, "\n")
	if stats := strings.Fields(lines[1]); len(stats) != 16 || stats[0] != "median" || stats[4] != "of" || stats[6] != "sum" {
		t.Fatalf("statistics line %q:\n%s", lines[1], out)
	}
	if row := strings.Fields(lines[2]); len(row) < 10 || row[8] != "1.667" || row[9] != "100" {
		t.Fatalf("mmsg row %q: want loss 1.667 %% beside lost 100\n%s", lines[2], out)
	}
	b.Reset()
	if err := WriteSummaryTable(&b, Summarize(results[:1])); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "median") {
		t.Fatalf("a single run's table names statistics:\n%s", b.String())
	}
}
