package report_test

import (
	"bytes"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/report"
)

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteTable(&b, benchtest.SampleResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("want header + 6 rows, got %d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{"transport", "datagrams/s", "kernel drops", "rx ns/dgram", "2500000", "1.500", "1234", "987", "error: socket: permission denied"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "more") {
		t.Fatalf("multi-line error not cut to one line:\n%s", out)
	}
}

func TestIntervalLines(t *testing.T) {
	iv := report.Interval{Start: 1, End: 2, Seconds: 1, Packets: 557012, BitsPerSecond: 6.56e9, DatagramsPerSecond: 557012, LostPackets: 3, LostPercent: 0.0005, PRBSErrors: 2}
	rx := report.FormatInterval(iv, true)
	if !strings.Contains(rx, "557012") || !strings.Contains(rx, "6.560") || !strings.HasSuffix(rx, " 2") {
		t.Fatalf("receiver line %q", rx)
	}
	if len(report.FormatInterval(iv, false)) >= len(rx) {
		t.Fatal("sender line should omit the loss and PRBS columns")
	}
	if len(report.IntervalHeader(true)) != len(rx) {
		t.Fatalf("header and line widths differ:\n%q\n%q", report.IntervalHeader(true), rx)
	}
}

func TestChartSVGIsWellFormed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.svg")
	if err := report.WriteChart(path, benchtest.SampleResults()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	benchtest.CheckSVG(t, data, "mmsg b64", "8972 B payload", "1.5%")
}

func TestChartPNG(t *testing.T) {
	if testing.Short() {
		t.Skip("short: rasterising a PNG takes seconds under the race detector; the SVG tests cover the chart")
	}
	path := filepath.Join(t.TempDir(), "c.png")
	if err := report.WriteChart(path, benchtest.SampleResults()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Fatalf("PNG is %v", b)
	}
}

func TestChartErrors(t *testing.T) {
	if err := report.WriteChart(filepath.Join(t.TempDir(), "c.gif"), benchtest.SampleResults()); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("gif: %v", err)
	}
	if err := report.RenderChart(io.Discard, "svg", nil); err == nil {
		t.Fatal("empty results drew a chart")
	}
}
