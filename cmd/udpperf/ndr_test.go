package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"udpstream.dev/bench"
	"udpstream.dev/bench/experiment"
	"udpstream.dev/bench/report"
)

func TestNDRCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "new", "folder", "ndr.json")
	svgPath := filepath.Join(dir, "charts", "ndr.svg")
	out, errOut, code := run(t, 90*time.Second, "ndr", "--transport", "mmsg", "--size", "1472", "--time", "0.2s",
		"--max-steps", "3", "--repeat", "2", "--json", "--out", jsonPath, "--chart", svgPath)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{"case 1/1: mmsg 1472 B batch 64, loss <= 0%", "repeat 1/2 step 1: unpaced", "repeat 2/2 step 1",
		"NDR datagrams/s", "min-max", "json: " + jsonPath, "chart: " + svgPath} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var doc report.SweepReport[experiment.NDRResult]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if file, _ := os.ReadFile(jsonPath); string(file) != out {
		t.Fatal("--out file differs from the --json document")
	}
	if len(doc.End.Results) != 1 || doc.Start.Test.Rate != "ndr search" {
		t.Fatalf("document %+v", doc)
	}
	r := doc.End.Results[0]
	if r.Error != "" || len(r.Repeats) != 2 || r.NDR.Max <= 0 || r.NDR.Min > r.NDR.Median || r.NDR.Median > r.NDR.Max {
		t.Fatalf("result %+v", r)
	}
	for _, s := range r.Repeats {
		if len(s.Trials) == 0 || len(s.Trials) > 3 || s.Trials[0].Asked != 0 || s.Ceiling != s.Trials[0].Offered {
			t.Fatalf("search %+v", s)
		}
	}
	checkSVG(t, svgPath)
}

func TestBenchRepeat(t *testing.T) {
	if testing.Short() {
		t.Skip("short: bench --repeat is bench run several times; TestBenchWritesTableJSONAndChart covers bench")
	}
	out, errOut, code := run(t, 90*time.Second, "bench", "--transport", "mmsg", "--size", "1472", "--batch", "8",
		"--time", "150ms", "--repeat", "3", "--json", "--chart", "none")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{"case 1/1 run 1/3", "case 1/1 run 3/3", "offered datagrams/s", "received datagrams/s", "min-max", "kernel drops", "other"} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var doc report.SweepReport[experiment.CaseSummary]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if doc.Start.Test.Repeat != 3 || len(doc.End.Results) != 1 {
		t.Fatalf("document %+v", doc)
	}
	s := doc.End.Results[0]
	if s.Runs != 3 || len(s.Results) != 3 || s.Received.Min > s.Received.Median || s.Received.Median > s.Received.Max || s.Offered.Median <= 0 {
		t.Fatalf("summary %+v", s)
	}
	var sent uint64
	for _, r := range s.Results {
		sent += r.SumSent.Packets
	}
	if s.Loss.Sent != sent {
		t.Fatalf("loss sums %d sent, runs sent %d", s.Loss.Sent, sent)
	}
}

// TestBadOutputPathsFailFirst checks that --chart and --out paths that
// cannot be written stop the command before it measures anything.
func TestBadOutputPathsFailFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(file, "sub", "x")
	for _, args := range [][]string{
		{"bench", "--transport", "mmsg", "--time", "5s", "--chart", bad + ".svg"},
		{"bench", "--transport", "mmsg", "--time", "5s", "--out", bad + ".json"},
		{"bench", "--transport", "mmsg", "--time", "5s", "--out", dir},
		{"ndr", "--transport", "mmsg", "--time", "5s", "--chart", bad + ".png"},
		{"ndr", "--transport", "mmsg", "--time", "5s", "--out", bad + ".json"},
		{"latency", "--transport", "mmsg", "--time", "5s", "--out", bad + ".json"},
		{"latency", "--transport", "mmsg", "--time", "5s", "--histogram", bad + ".hlog"},
	} {
		began := time.Now()
		_, errOut, code := run(t, 20*time.Second, args...)
		line := oneLineError(t, errOut)
		if code != exitUsage || !strings.Contains(line, "--chart") && !strings.Contains(line, "--out") && !strings.Contains(line, "--histogram") {
			t.Fatalf("%v: exit %d: %s", args, code, line)
		}
		if time.Since(began) > 4*time.Second {
			t.Fatalf("%v took %v: it measured before failing", args, time.Since(began))
		}
	}
}

func TestLatencySockperfFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("short: sockperf flag spellings end to end; TestLatencyCommand covers latency")
	}
	dir := t.TempDir()
	hlog := filepath.Join(dir, "logs", "lat.hlog")
	out, errOut, code := run(t, 60*time.Second, "latency", "--transport", "mmsg", "--time", "300ms", "--warmup", "100ms",
		"--half-rtt", "--histogram", hlog, "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{"half the round-trip time (RTT/2)", "p25 us", "p99.999 us", "std-dev us", "RTT/2 p50", "histogram: " + hlog} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var doc report.SweepReport[bench.LatencyResult]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.End.Results[0]
	if !r.HalfRTT || r.Figures != "RTT/2" || r.WarmupSeconds != 0.1 || r.WarmupSamples == 0 || r.Samples == 0 || r.P25Us > r.P75Us || r.StdDevUs <= 0 {
		t.Fatalf("%+v", r)
	}
	f, err := os.Open(hlog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := hdrhistogram.NewHistogramLogReader(f).NextIntervalHistogram()
	if err != nil || h == nil {
		t.Fatalf("histogram log: %v", err)
	}
	if h.TotalCount() != int64(r.Samples) {
		t.Fatalf("histogram log holds %d samples, want %d", h.TotalCount(), r.Samples)
	}

	// Under load: a paced stream, a sample of it measured.
	out, errOut, code = run(t, 60*time.Second, "latency", "--transport", "mmsg", "--time", "500ms", "--warmup", "0",
		"--mps", "2000", "--reply-every", "10", "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	r = doc.End.Results[0]
	if r.MPS != 2000 || r.ReplyEvery != 10 || r.Figures != "RTT" || r.MessagesPerSecond < 1400 || r.MessagesPerSecond > 2200 ||
		r.Samples+r.Lost != (r.Messages+9)/10 || doc.Start.Test.Rate != "2000mps" || !strings.Contains(errOut, "messages/s") {
		t.Fatalf("%+v\n%s", r, errOut)
	}

	for _, args := range [][]string{{"--mps", "-5"}, {"--reply-every", "10"}, {"--mps", "100", "--reply-every", "0"}} {
		_, errOut, code := run(t, 10*time.Second, append([]string{"latency"}, args...)...)
		if code != exitUsage {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
}

func TestNDRNetns(t *testing.T) {
	netnsUsable(t)
	p := start(t, "ndr", "--netns", "--transport", "mmsg,xdp", "--size", "1472", "--time", "200ms", "--max-steps", "2", "--json", "--chart", "off")
	if code := p.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	if left := namespacesOf(t, p.cmd.Process.Pid); len(left) > 0 {
		t.Fatalf("namespaces left behind: %v", left)
	}
	var doc report.SweepReport[experiment.NDRResult]
	if err := json.Unmarshal([]byte(p.stdout.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Start.Test.Network != "netns-veth" || len(doc.End.Results) != 2 {
		t.Fatalf("%+v", doc.Start.Test)
	}
	for _, r := range doc.End.Results {
		if r.Error != "" || r.Test.Network != "netns-veth" || len(r.Repeats) != 1 || r.Repeats[0].Ceiling <= 0 {
			t.Fatalf("%+v", r)
		}
	}
	if !strings.Contains(p.stderr.String(), "10.199.0.1") {
		t.Fatalf("stderr does not name the veth addresses:\n%s", p.stderr.String())
	}
	// xdp needs the namespaces.
	if _, errOut, code := run(t, 10*time.Second, "ndr", "--transport", "xdp"); code != exitUsage || !strings.Contains(errOut, "--netns") {
		t.Fatalf("xdp without --netns: exit %d: %s", code, errOut)
	}
}
