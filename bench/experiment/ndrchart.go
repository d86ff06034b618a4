package experiment

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"udpstream.dev/bench/report"
)

// WriteNDRChart renders NDR results to path (.svg or .png): the median
// no-drop rate per transport and batch, one bar colour per payload, in
// Gbit/s and in datagrams/s, with error bars from the lowest to the
// highest rate found when the search was repeated.
func WriteNDRChart(path string, results []NDRResult) error {
	return report.WriteChartFile(path, func(w io.Writer, format string) error { return RenderNDRChart(w, format, results) })
}

// RenderNDRChart writes the chart of WriteNDRChart in format "svg" or
// "png".
func RenderNDRChart(w io.Writer, format string, results []NDRResult) error {
	if len(results) == 0 {
		return fmt.Errorf("chart: no results to draw")
	}
	var plots []*plot.Plot
	for _, m := range []struct {
		title, unit string
		spread      func(NDRResult) Spread
		scale       float64
	}{
		{"No-drop rate (throughput)", "Gbit/s", func(r NDRResult) Spread { return r.NDRBits }, 1e9},
		{"No-drop rate (datagrams)", "million datagrams/s", func(r NDRResult) Spread { return r.NDR }, 1e6},
	} {
		p, err := ndrPlot(results, m.spread, m.scale)
		if err != nil {
			return err
		}
		p.Title.Text = fmt.Sprintf("%s per transport and payload, loss at most %g%%", m.title, results[0].LossLimit)
		if n := len(results[0].Repeats); n > 1 {
			p.Title.Text += fmt.Sprintf("; median of %d searches, whiskers the range", n)
		}
		p.Y.Label.Text = m.unit
		if m.scale == 1e6 {
			if err := addUnpacedMarks(p, results); err != nil {
				return err
			}
		}
		plots = append(plots, p)
	}
	tests := make([]report.TestInfo, len(results))
	for i, r := range results {
		tests[i] = r.Test
	}
	extra := fmt.Sprintf("trials of %g s", results[0].Test.Duration)
	return report.RenderPlots(w, format, plots, report.ContextOf(tests, extra).Lines())
}

// errPoints are the centres and extents of error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// ndrPlot draws one panel: bars of the median, error bars of the spread.
func ndrPlot(results []NDRResult, spread func(NDRResult) Spread, scale float64) (*plot.Plot, error) {
	tests := make([]report.TestInfo, len(results))
	for i, r := range results {
		tests[i] = r.Test
	}
	keys, keyIndex, payloads := ndrAxes(tests)
	p := plot.New()
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	// Bars of one group sit step apart in axis units, so that the error
	// bars, which are placed in axis units, land on their centres.
	step := 0.8 / float64(len(payloads))
	barWidth := vg.Points(min(28, 440/float64(len(keys)*len(payloads))))
	peak := 0.0
	for j, payload := range payloads {
		values := make(plotter.Values, len(keys))
		var pts errPoints
		for _, r := range results {
			if r.Test.Payload != payload || r.Error != "" {
				continue
			}
			i := keyIndex[report.ChartKey{Transport: r.Test.Transport, Batch: r.Test.Batch}]
			s := spread(r)
			values[i] = s.Median / scale
			peak = max(peak, s.Max/scale)
			x := float64(i) + (float64(j)-float64(len(payloads)-1)/2)*step
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: values[i]})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{values[i] - s.Min/scale, s.Max/scale - values[i]})
		}
		bars, err := plotter.NewBarChart(values, barWidth)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		bars.Color = report.PayloadColors[j%len(report.PayloadColors)]
		bars.LineStyle.Width = 0
		bars.XMin = (float64(j) - float64(len(payloads)-1)/2) * step
		p.Add(bars)
		p.Legend.Add(fmt.Sprintf("%d B payload (MTU %d)", payload, report.MTUFor(payload)), bars)
		if len(pts.XYs) > 0 {
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, fmt.Errorf("chart: %w", err)
			}
			eb.LineStyle.Width = vg.Points(1)
			p.Add(eb)
		}
	}
	p.NominalX(keyNames(keys)...)
	p.Y.Max = max(peak*1.3, 1e-3)
	p.X.Min, p.X.Max = -0.6, float64(len(keys))-0.4
	return p, nil
}

// ndrAxes lists the groups on the x axis (transport and batch) and the
// payloads, in the order the tests first name them.
func ndrAxes(tests []report.TestInfo) ([]report.ChartKey, map[report.ChartKey]int, []int) {
	var keys []report.ChartKey
	var payloads []int
	keyIndex, seen := map[report.ChartKey]int{}, map[int]bool{}
	for _, t := range tests {
		k := report.ChartKey{Transport: t.Transport, Batch: t.Batch}
		if _, ok := keyIndex[k]; !ok {
			keyIndex[k] = len(keys)
			keys = append(keys, k)
		}
		if !seen[t.Payload] {
			seen[t.Payload] = true
			payloads = append(payloads, t.Payload)
		}
	}
	return keys, keyIndex, payloads
}

// keyNames labels the groups.
func keyNames(keys []report.ChartKey) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return names
}
