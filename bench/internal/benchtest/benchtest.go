// Package benchtest holds what the benchmark packages' tests share: sample
// results to render and a check that a chart is a well-formed SVG.
package benchtest

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/report"
)

// SampleResults is a sweep of five cases and a failed one, with round figures.
func SampleResults() []report.Result {
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

// checkSVG parses an SVG document fully and checks it mentions each text.
func CheckSVG(t testing.TB, data []byte, texts ...string) {
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

// Timeout bounds every run of the benchmark packages' tests.
const Timeout = 30 * time.Second

// Context is a context that ends after Timeout or with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}
