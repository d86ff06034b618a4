package bench

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"udpstream.dev/bench/report"
)

func sampleResults() []report.Result {
	mk := func(transport string, payload, batch int, dps, lostPct float64, lost uint64) report.Result {
		var r report.Result
		r.Test = report.TestInfo{Transport: transport, Payload: payload, Batch: batch, MTU: report.MTUFor(payload), PRBS: true}
		r.SumReceived.DatagramsPerSecond = dps
		r.SumReceived.BitsPerSecond = dps * float64(payload) * 8
		r.SumReceived.LostPackets = lost
		r.SumReceived.LostPercent = lostPct
		r.SumReceived.CPUNsPerDatagram = 1234
		r.SumSent.CPUNsPerDatagram = 987
		return r
	}
	return []report.Result{
		mk("naive", 1472, 1, 180000, 0, 0),
		mk("mmsg", 1472, 64, 550000, 1.5, 8250),
		mk("gro", 1472, 64, 2500000, 0, 0),
		mk("naive", 8972, 1, 150000, 0, 0),
		mk("mmsg", 8972, 64, 380000, 0, 0),
		{Test: report.TestInfo{Transport: "gro", Payload: 8972, Batch: 64}, Error: "socket: permission denied\nmore"},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := report.WriteTable(&b, sampleResults()); err != nil {
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
	if err := report.WriteChart(path, sampleResults()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, data, "mmsg b64", "8972 B payload", "1.5%")
}

// checkSVG parses an SVG document fully and checks it mentions each text.
func checkSVG(t *testing.T, data []byte, texts ...string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	var chars strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = v.Name.Local
			}
		case xml.CharData:
			chars.Write(v)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	for _, s := range texts {
		if !strings.Contains(chars.String(), s) {
			t.Fatalf("SVG text lacks %q", s)
		}
	}
}

func TestChartPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	if err := report.WriteChart(path, sampleResults()); err != nil {
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
	if err := report.WriteChart(filepath.Join(t.TempDir(), "c.gif"), sampleResults()); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("gif: %v", err)
	}
	if err := report.RenderChart(io.Discard, "svg", nil); err == nil {
		t.Fatal("empty results drew a chart")
	}
}
