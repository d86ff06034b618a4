package bench

import (
	"bytes"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// near reports whether got is within the histogram's three significant
// digits of want.
func near(got, want float64) bool { return math.Abs(got-want) <= want*1e-3+1e-9 }

func TestLadderFromKnownSamples(t *testing.T) {
	r := newRecorder(0, false)
	// 1..100000 ns: percentile p is p*1000 ns, mean 50000.5 ns.
	for v := 1; v <= 100_000; v++ {
		r.record(0, time.Duration(v))
	}
	l := r.ladder()
	want := map[string][2]float64{
		"p25": {l.P25Us, 25}, "p50": {l.P50Us, 50}, "p75": {l.P75Us, 75}, "p90": {l.P90Us, 90},
		"p99": {l.P99Us, 99}, "p99.9": {l.P999Us, 99.9}, "p99.99": {l.P9999Us, 99.99}, "p99.999": {l.P99999Us, 99.999},
	}
	for name, gw := range want {
		if !near(gw[0], gw[1]) {
			t.Errorf("%s = %v us, want %v", name, gw[0], gw[1])
		}
	}
	// Minimum, maximum, mean and standard deviation are exact.
	sd := math.Sqrt((100_000.0*100_000.0 - 1) / 12)
	if l.MinUs != 0.001 || l.MaxUs != 100 || math.Abs(l.MeanUs-50.0005) > 1e-9 || math.Abs(l.StdDevUs-sd/1e3) > 1e-6 {
		t.Fatalf("min %v max %v mean %v sd %v (want sd %v)", l.MinUs, l.MaxUs, l.MeanUs, l.StdDevUs, sd/1e3)
	}
	if (&recorder{}).ladder() != (Ladder{}) {
		t.Fatal("an empty recorder has a ladder")
	}
}

func TestRecorderWarmupAndHalfRTT(t *testing.T) {
	full, half := newRecorder(400*time.Millisecond, false), newRecorder(400*time.Millisecond, true)
	for _, r := range []*recorder{full, half} {
		r.record(100*time.Millisecond, 100*time.Millisecond+50*time.Microsecond) // in the warm-up
		r.record(500*time.Millisecond, 500*time.Millisecond+10*time.Microsecond)
		r.record(600*time.Millisecond, 600*time.Millisecond+30*time.Microsecond)
		r.record(700*time.Millisecond, 700*time.Millisecond+11*time.Second) // beyond the histogram
	}
	if full.count != 3 || full.discarded != 1 || full.clamped != 1 || half.clamped != 0 {
		t.Fatalf("kept %d discarded %d clamped %d/%d", full.count, full.discarded, full.clamped, half.clamped)
	}
	f, h := full.ladder(), half.ladder()
	if f.MinUs != 10 || h.MinUs != 5 || !near(h.P50Us, f.P50Us/2) || h.MaxUs != 5.5e6 {
		t.Fatalf("full %+v half %+v", f, h)
	}
	if Figures(true) != "RTT/2" || Figures(false) != "RTT" {
		t.Fatal("figure names")
	}
}

func TestHistogramLogParsesBack(t *testing.T) {
	start := time.Now()
	var results []LatencyResult
	for i, transport := range []string{"mmsg", "gro"} {
		r := newRecorder(0, true)
		for v := 1; v <= 1000*(i+1); v++ {
			r.record(0, time.Duration(v*2000))
		}
		res := LatencyResult{Test: report.TestInfo{Transport: transport, Payload: 64}, HalfRTT: true}
		r.fill(&res, start)
		results = append(results, res)
	}
	results = append(results, LatencyResult{Test: report.TestInfo{Transport: "naive"}, Error: "no answer"})
	var b bytes.Buffer
	if err := WriteHistogramLog(&b, start, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "RTT/2 in nanoseconds") || !strings.Contains(b.String(), "Tag=gro-64B,") {
		t.Fatalf("log:\n%s", b.String())
	}
	rd := hdrhistogram.NewHistogramLogReader(&b)
	var counts []int64
	for {
		h, err := rd.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		counts = append(counts, h.TotalCount())
		if got := h.ValueAtQuantile(100); !near(float64(got), float64(len(counts))*1000*1000) {
			t.Fatalf("histogram %d max %d ns", len(counts), got)
		}
	}
	if len(counts) != 2 || counts[0] != 1000 || counts[1] != 2000 {
		t.Fatalf("read back %v", counts)
	}
}

// TestLatencyUnderLoad checks that --mps paces the stream: about MPS
// messages per second, one ping in ReplyEvery, each echoed and measured.
func TestLatencyUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("short: timed transfer runs and waits on idle/timeouts; the full run covers it")
	}
	const mps, every = 4000, 20
	lc := LatencyCase{Transport: udp.TransportMmsg, Duration: 600 * time.Millisecond, Warmup: 100 * time.Millisecond,
		MPS: mps, ReplyEvery: every, HalfRTT: true}
	res, err := Latency(testContext(t), lc)
	if err != nil {
		t.Fatal(err)
	}
	if res.MessagesPerSecond < 0.7*mps || res.MessagesPerSecond > 1.1*mps {
		t.Fatalf("%.0f messages/s, want about %d", res.MessagesPerSecond, mps)
	}
	pings := (res.Messages + every - 1) / every
	if got := res.Samples + res.WarmupSamples + res.Lost; got != pings {
		t.Fatalf("samples %d + warm-up %d + lost %d != %d pings of %d messages", res.Samples, res.WarmupSamples, res.Lost, pings, res.Messages)
	}
	if res.WarmupSamples == 0 || res.Samples < pings/2 || res.P50Us <= 0 || res.MinUs > res.P50Us || res.P50Us > res.MaxUs {
		t.Fatalf("%+v", res)
	}
	if !res.HalfRTT || res.Figures != "RTT/2" || res.MPS != mps || res.Test.Rate != "4000mps" {
		t.Fatalf("%+v", res)
	}
	if res.hist == nil || res.hist.TotalCount() != int64(res.Samples) {
		t.Fatal("histogram missing or incomplete")
	}
}

func TestWriteLatencyTable(t *testing.T) {
	r := LatencyResult{Test: report.TestInfo{Transport: "mmsg", Payload: 64}, Samples: 1000, WarmupSamples: 40, Figures: "RTT",
		Ladder: Ladder{MinUs: 9.5, P25Us: 11, P50Us: 12, P75Us: 13, P90Us: 15, P99Us: 30, P999Us: 80, P9999Us: 120, P99999Us: 150, MaxUs: 151, MeanUs: 12.7, StdDevUs: 3.25}}
	failed := LatencyResult{Test: report.TestInfo{Transport: "gro", Payload: 64}, Error: "no ping was answered\nmore"}
	var b bytes.Buffer
	if err := WriteLatencyTable(&b, []LatencyResult{r, failed}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"round-trip time (RTT)", "p25 us", "p99.999 us", "std-dev us", "150.0", "3.2", "40", "error: no ping was answered"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "messages/s") || strings.Contains(out, "more") {
		t.Fatalf("ping-pong table:\n%s", out)
	}
	r.HalfRTT, r.MPS, r.MessagesPerSecond = true, 5000, 4990
	b.Reset()
	WriteLatencyTable(&b, []LatencyResult{r})
	if out := b.String(); !strings.Contains(out, "(RTT/2)") || !strings.Contains(out, "messages/s") || !strings.Contains(out, "4990") {
		t.Fatalf("half, under load:\n%s", out)
	}
}

// TestLatencyAllocatesNothingPerMessage compares a short and a long run,
// ping-pong and under load: setup may allocate, messages may not.
func TestLatencyAllocatesNothingPerMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("short: runs ping-pong and under-load twice, long enough to count allocations per message")
	}
	for _, mps := range []float64{0, 20000} {
		// Ping-pong runs to a count: its pace depends on the machine.
		measure := func(d time.Duration) (messages, mallocs uint64) {
			lc := LatencyCase{Transport: udp.TransportMmsg, Duration: d, Warmup: 50 * time.Millisecond, MPS: mps, ReplyEvery: 2}
			if mps == 0 {
				lc.Duration, lc.Count = 20*time.Second, int(d/time.Millisecond)*5
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := Latency(testContext(t), lc)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			return r.Samples + r.WarmupSamples + r.Messages, after.Mallocs - before.Mallocs
		}
		n1, m1 := measure(200 * time.Millisecond)
		n2, m2 := measure(800 * time.Millisecond)
		if n2 <= n1 {
			t.Fatalf("mps %g: the longer run moved %d messages, the shorter %d", mps, n2, n1)
		}
		extra := float64(int64(m2)-int64(m1)) / float64(n2-n1)
		t.Logf("mps %g: %d messages %d mallocs; %d messages %d mallocs: %.4f per extra message", mps, n1, m1, n2, m2, extra)
		if extra > 0.05 {
			t.Fatalf("mps %g: %.3f allocations per message", mps, extra)
		}
	}
}
