package experiment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
)

// contextTexts are the strings every chart's caption must carry: the
// machine, the date, the network and the transports.
func contextTexts(t *testing.T, network string, transports ...string) []string {
	t.Helper()
	s := report.CollectSystem()
	day := time.Now().UTC().Format("2006-01-02")
	texts := []string{"host " + s.Hostname, s.Kernel, " CPUs", day, "network " + network}
	return append(texts, transports...)
}

func sampleSummaries() []CaseSummary {
	var runs []report.Result
	for _, r := range benchtest.SampleResults() {
		for k := range 3 {
			r.SumReceived.DatagramsPerSecond *= 1 + 0.1*float64(k)
			r.Test.Network = "netns-veth"
			runs = append(runs, r)
		}
	}
	return Summarize(runs)
}

// The bench chart has the context, the four panels, the offered rate
// and, from repeated runs, whiskers; it renders as SVG and PNG.
func TestSummaryChartCarriesContext(t *testing.T) {
	sums := sampleSummaries()
	path := filepath.Join(t.TempDir(), "bench.svg")
	if err := WriteSummaryChart(path, sums); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	texts := append(contextTexts(t, "netns-veth", "naive", "mmsg"), "median of 3 runs, whiskers min-max",
		"offered", "Receiver CPU per datagram", "Sender CPU per datagram", "CPU ns/datagram", "Received throughput")
	benchtest.CheckSVG(t, data, texts...)
	if testing.Short() {
		return // short: the PNG rendering below takes seconds under the race detector
	}
	var png bytes.Buffer
	if err := RenderSummaryChart(&png, "png", sums); err != nil || !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("png: %v", err)
	}
	if err := RenderSummaryChart(&png, "svg", nil); err == nil {
		t.Fatal("no error for no results")
	}
}

// A case that could not run is labelled, not left as a silent gap.
func TestSummaryChartLabelsFailedCases(t *testing.T) {
	labels := func(sums []CaseSummary) int {
		var svg bytes.Buffer
		if err := RenderSummaryChart(&svg, "svg", sums); err != nil {
			t.Fatal(err)
		}
		return bytes.Count(svg.Bytes(), []byte(">error<"))
	}
	sums := sampleSummaries()
	for i := range sums {
		sums[i].Failed = 0
	}
	before := labels(sums)
	sums[0].Failed = sums[0].Runs
	if after := labels(sums); after <= before {
		t.Fatalf("a case whose every run failed adds no error label: %d labels, %d without it", after, before)
	}
}

func TestOtherChartsCarryContext(t *testing.T) {
	var svg bytes.Buffer
	if err := report.RenderChart(&svg, "svg", benchtest.SampleResults()); err != nil {
		t.Fatal(err)
	}
	benchtest.CheckSVG(t, svg.Bytes(), contextTexts(t, "not recorded", "mmsg")...)
	svg.Reset()
	if err := RenderNDRChart(&svg, "svg", sampleNDRResults()); err != nil {
		t.Fatal(err)
	}
	benchtest.CheckSVG(t, svg.Bytes(), append(contextTexts(t, "", "mmsg", "gro"), "trials of", "offered unpaced", "received of it")...)
}

// Whiskers are drawn only where runs spread.
func TestSummaryLayerWhiskersOnlyForSpread(t *testing.T) {
	l := summaryLayer{values: make([]float64, 2)}
	l.add(0, 0, Spread{Median: 2e6, Min: 2e6, Max: 2e6}, 1e6)
	if len(l.whiskers.XYs) != 0 || l.values[0] != 2 {
		t.Fatalf("whisker for a single value: %+v", l)
	}
	if top := l.add(1, 1, Spread{Median: 2e6, Min: 1e6, Max: 3e6}, 1e6); top != 3 || len(l.whiskers.YErrors) != 1 ||
		l.whiskers.YErrors[0].Low != 1 || l.whiskers.YErrors[0].High != 1 {
		t.Fatalf("whisker %+v, top %v", l.whiskers, top)
	}
}

func TestNiceTicksAreRoundAndEnough(t *testing.T) {
	for _, c := range []struct {
		hi   float64
		step float64
	}{{130, 20}, {9.6, 2}, {2500, 500}, {0.013, 0.002}} {
		ticks := report.NiceTicks{}.Ticks(0, c.hi)
		if len(ticks) < 4 || len(ticks) > 10 || ticks[1].Value-ticks[0].Value != c.step || ticks[0].Label != "0" {
			t.Fatalf("0..%v: %+v", c.hi, ticks)
		}
	}
}
