package experiment

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

// fakeLink is a receiver that keeps up with threshold datagrams/s and
// loses whatever is offered beyond it; an unpaced sender offers ceiling.
type fakeLink struct {
	threshold, ceiling float64
	calls              int
}

func (f *fakeLink) trial(_ context.Context, perSecond float64) (Trial, error) {
	f.calls++
	offered := perSecond
	if offered == 0 || offered > f.ceiling {
		offered = f.ceiling
	}
	const seconds = 1
	offers := uint64(offered * seconds)
	var lost uint64
	if offered > f.threshold {
		lost = uint64(math.Ceil((offered - f.threshold) * seconds))
	}
	return Trial{Offered: offered, Offers: offers, Lost: lost, Received: offered - float64(lost)/seconds}, nil
}

func TestSearchNDR(t *testing.T) {
	cases := []struct {
		name               string
		threshold, ceiling float64
		search             Search
		// want is the true NDR; the search must land within resolution
		// of the ceiling below it and never above it.
		want          float64
		found, sender bool
	}{
		{"zero loss", 400_000, 1_000_000, Search{}, 400_000, true, false},
		{"fine resolution", 123_456, 1_000_000, Search{Resolution: 0.001}, 123_456, true, false},
		// 5% loss accepted: (r - T) / r <= 0.05 up to r = T / 0.95.
		{"loss honoured", 400_000, 1_000_000, Search{Loss: 5}, 400_000 / 0.95, true, false},
		{"highest rate clean", 2_000_000, 1_000_000, Search{}, 1_000_000, true, true},
		{"even the lowest rate loses", 0, 1_000_000, Search{}, 0, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			link := &fakeLink{threshold: tc.threshold, ceiling: tc.ceiling}
			var steps []int
			res, err := SearchNDR(context.Background(), tc.search, link.trial, func(step int, _ Trial) { steps = append(steps, step) })
			if err != nil {
				t.Fatal(err)
			}
			if res.Found != tc.found || res.SenderLimited != tc.sender {
				t.Fatalf("found %v sender-limited %v, want %v %v: %+v", res.Found, res.SenderLimited, tc.found, tc.sender, res)
			}
			resolution := tc.search.withDefaults().Resolution * tc.ceiling
			if res.NDR > tc.want+1 || res.NDR < tc.want-resolution {
				t.Fatalf("NDR %.0f, want within [%.0f, %.0f]", res.NDR, tc.want-resolution, tc.want)
			}
			if !res.Resolved || res.Ceiling != tc.ceiling {
				t.Fatalf("resolved %v ceiling %.0f: %+v", res.Resolved, res.Ceiling, res)
			}
			if len(steps) != len(res.Trials) || len(res.Trials) != link.calls || len(res.Trials) > DefaultNDRMaxSteps {
				t.Fatalf("%d progress calls, %d trials, %d runs", len(steps), len(res.Trials), link.calls)
			}
			for _, tr := range res.Trials {
				if tr.Pass != (tr.LostPercent <= tc.search.Loss) {
					t.Fatalf("trial %+v judged against loss %g%%", tr, tc.search.Loss)
				}
			}
			if !tc.found && (res.LowestFailed <= 0 || res.LowestFailed > resolution) {
				t.Fatalf("lowest failed rate %.0f, want within the resolution %.0f", res.LowestFailed, resolution)
			}
		})
	}
}

// TestSearchNDRSlowSender checks a sender that falls short of the rate
// asked: trials count at the rate offered, so the NDR is never above the
// receiver's threshold.
func TestSearchNDRSlowSender(t *testing.T) {
	link := &fakeLink{threshold: 300_000, ceiling: 1_000_000}
	short := func(ctx context.Context, perSecond float64) (Trial, error) {
		if perSecond > 200_000 {
			perSecond = 200_000 + (perSecond-200_000)*0.5
		}
		return link.trial(ctx, perSecond)
	}
	res, err := SearchNDR(context.Background(), Search{}, short, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Found || res.NDR > 300_000 || res.NDR < 300_000-0.01*1_000_000 {
		t.Fatalf("NDR %.0f, want just below 300000: %+v", res.NDR, res)
	}
	if res.LowestFailed < 300_000 {
		t.Fatalf("lowest failed %.0f is below the threshold", res.LowestFailed)
	}
}

func TestSearchNDRStepsAndErrors(t *testing.T) {
	link := &fakeLink{threshold: 1, ceiling: 1e9}
	res, err := SearchNDR(context.Background(), Search{MaxSteps: 4, Resolution: 1e-9}, link.trial, nil)
	if err != nil || len(res.Trials) != 4 || res.Resolved {
		t.Fatalf("step limit: %d trials, resolved %v, err %v", len(res.Trials), res.Resolved, err)
	}

	boom := errors.New("boom")
	_, err = SearchNDR(context.Background(), Search{}, func(context.Context, float64) (Trial, error) { return Trial{}, boom }, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("trial error: %v", err)
	}
	_, err = SearchNDR(context.Background(), Search{}, func(context.Context, float64) (Trial, error) { return Trial{}, nil }, nil)
	if err == nil {
		t.Fatal("an unpaced trial that offered nothing must be an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SearchNDR(ctx, Search{}, link.trial, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	for _, s := range []Search{{Loss: -1}, {Loss: 100}, {Resolution: 1}, {MaxSteps: 1}} {
		if err := s.Validate(); err == nil {
			t.Fatalf("%+v accepted", s)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{3}, Spread{3, 3, 3}},
		{[]float64{5, 1, 3}, Spread{3, 1, 5}},
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
	} {
		if got := SpreadOf(tc.in); got != tc.want {
			t.Fatalf("SpreadOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestNDRLoopback searches for real, bounded by short trials and few
// steps: the figures depend on the machine, the bookkeeping does not.
func TestNDRLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a real NDR search on loopback; the full run covers it")
	}
	var trials int
	nc := NDRCase{
		Case:   report.Case{Transport: udp.TransportMmsg, Payload: 1472, Duration: 150 * time.Millisecond},
		Search: Search{MaxSteps: 3},
		Repeat: 2,
		OnTrial: func(rep, step int, tr Trial) {
			trials++
			if tr.Offers == 0 || tr.Offered <= 0 {
				t.Errorf("repeat %d step %d offered nothing: %+v", rep, step, tr)
			}
		},
	}
	res, err := NDR(benchtest.Context(t), nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Repeats) != 2 || res.Test.Transport != "mmsg" || res.Test.Payload != 1472 {
		t.Fatalf("%+v", res)
	}
	n := 0
	for _, r := range res.Repeats {
		n += len(r.Trials)
		if r.Ceiling <= 0 || len(r.Trials) > 3 || (r.Found && (r.NDR <= 0 || r.NDR > r.Ceiling*1.05)) {
			t.Fatalf("repeat %+v", r)
		}
	}
	if n != trials {
		t.Fatalf("%d trials reported, %d recorded", trials, n)
	}
	if res.NDR.Min > res.NDR.Median || res.NDR.Median > res.NDR.Max || res.NDRBits.Median != res.NDR.Median*1472*8 {
		t.Fatalf("spread %+v bits %+v", res.NDR, res.NDRBits)
	}
	if _, err := NDR(benchtest.Context(t), NDRCase{Case: report.Case{Transport: udp.TransportMmsg}, Repeat: -1}); err == nil {
		t.Fatal("repeat -1 accepted")
	}
}

func sampleNDRResults() []NDRResult {
	mk := func(transport string, payload int, ndr ...float64) NDRResult {
		r := NDRResult{Test: report.TestInfo{Transport: transport, Payload: payload, Batch: 64}}
		for _, v := range ndr {
			r.Repeats = append(r.Repeats, SearchResult{Found: v > 0, NDR: v, Ceiling: 2 * v, Resolved: true, Trials: make([]Trial, 7)})
		}
		r.NDR = SpreadOf(ndr)
		b := 8 * float64(payload)
		r.NDRBits = Spread{Median: r.NDR.Median * b, Min: r.NDR.Min * b, Max: r.NDR.Max * b}
		return r
	}
	sender := mk("naive", 1472, 150_000)
	sender.Repeats[0].SenderLimited = true
	none := mk("mmsg", 8972, 0, 0)
	none.Repeats[0].Resolved = false
	return []NDRResult{sender, mk("mmsg", 1472, 400_000, 380_000, 450_000), mk("gro", 1472, 900_000, 1_100_000), none,
		{Test: report.TestInfo{Transport: "gro", Payload: 8972, Batch: 64}, Error: "socket: boom\nmore"}}
}

func TestNDRTableAndChart(t *testing.T) {
	var b bytes.Buffer
	if err := WriteNDRTable(&b, sampleNDRResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"NDR datagrams/s", "400000", "380000-450000", "4.710", "sender-limited (1/1)",
		"loss even at the lowest rate (2/2); step limit before resolution (1/2)", "1000000", "error: socket: boom", "21"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "more") {
		t.Fatalf("multi-line error not cut:\n%s", out)
	}
	var svg bytes.Buffer
	if err := RenderNDRChart(&svg, "svg", sampleNDRResults()); err != nil {
		t.Fatal(err)
	}
	benchtest.CheckSVG(t, svg.Bytes(), "No-drop rate", "mmsg b64", "8972 B payload")
	if testing.Short() {
		return // short: the PNG rendering below takes seconds under the race detector
	}
	path := filepath.Join(t.TempDir(), "n.png")
	if err := WriteNDRChart(path, sampleNDRResults()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("PNG: %v", err)
	}
	if err := RenderNDRChart(io.Discard, "gif", sampleNDRResults()); err == nil {
		t.Fatal("gif accepted")
	}
	if err := RenderNDRChart(io.Discard, "svg", nil); err == nil {
		t.Fatal("empty results drew a chart")
	}
}
