package experiment

import (
	"fmt"
	"image/color"
	"io"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"udpstream.dev/bench/report"
)

// WriteSummaryChart renders a bench sweep's case summaries to path (.svg
// or .png): on the left the received datagram rate, with the offered rate
// marked by a square on each bar, and the received throughput; on the right the CPU
// nanoseconds per datagram of the receiver and of the sender. Bars are
// medians over the runs of a case, whiskers their range when there were
// several (--repeat); bars of cases that lost carry the median loss in
// red. A caption gives the machine, date, network and transports.
func WriteSummaryChart(path string, sums []CaseSummary) error {
	return report.WriteChartFile(path, func(w io.Writer, format string) error { return RenderSummaryChart(w, format, sums) })
}

// RenderSummaryChart writes the chart of WriteSummaryChart in format
// "svg" or "png".
func RenderSummaryChart(w io.Writer, format string, sums []CaseSummary) error {
	if len(sums) == 0 {
		return fmt.Errorf("chart: no results to draw")
	}
	rate, err := summaryPanel(sums, func(s CaseSummary) Spread { return s.Received }, 1e6, true)
	if err != nil {
		return err
	}
	rate.Title.Text = "Datagram rate: received (bars), offered (black squares)"
	rate.Y.Label.Text = "million datagrams/s"
	bits, err := summaryPanel(sums, func(s CaseSummary) Spread { return s.ReceivedBits }, 1e9, false)
	if err != nil {
		return err
	}
	bits.Title.Text = "Received throughput"
	bits.Y.Label.Text = "Gbit/s"
	rx, err := summaryPanel(sums, func(s CaseSummary) Spread { return s.RxNsPerDatagram }, 1, false)
	if err != nil {
		return err
	}
	rx.Title.Text = "Receiver CPU per datagram"
	rx.Y.Label.Text = "CPU ns/datagram"
	tx, err := summaryPanel(sums, func(s CaseSummary) Spread { return s.TxNsPerDatagram }, 1, false)
	if err != nil {
		return err
	}
	tx.Title.Text = "Sender CPU per datagram"
	tx.Y.Label.Text = "CPU ns/datagram"
	tests := make([]report.TestInfo, len(sums))
	for i, s := range sums {
		tests[i] = s.Test
	}
	return report.RenderGrid(w, format, [][]*plot.Plot{{rate, rx}, {bits, tx}}, report.ContextOf(tests, summaryNote(sums)).Lines())
}

// summaryNote says how long each run was and how many runs a bar is.
func summaryNote(sums []CaseSummary) string {
	note := fmt.Sprintf("%g s per run", sums[0].Test.Duration)
	if n := sums[0].Runs; n > 1 {
		note += fmt.Sprintf(", median of %d runs, whiskers min-max", n)
	}
	return note
}

var offeredColor = color.Black

// summaryPanel draws one panel: bars of the medians of value per
// transport and batch, a colour per payload, whiskers of the range when
// it is not empty, and with marks the offered rate (in the same unit)
// and the loss. A case none of whose runs ran is labelled "error".
func summaryPanel(sums []CaseSummary, value func(CaseSummary) Spread, scale float64, marks bool) (*plot.Plot, error) {
	tests := make([]report.TestInfo, len(sums))
	for i, s := range sums {
		tests[i] = s.Test
	}
	keys, keyIndex, payloads := ndrAxes(tests)
	p := plot.New()
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	step := 0.8 / float64(len(payloads))
	barWidth := vg.Points(min(24, 300/float64(len(keys)*len(payloads))))
	peak := 0.0
	for j, payload := range payloads {
		layer := summaryLayer{values: make(plotter.Values, len(keys))}
		for _, s := range sums {
			if s.Test.Payload != payload {
				continue
			}
			i := keyIndex[report.ChartKey{Transport: s.Test.Transport, Batch: s.Test.Batch}]
			x := float64(i) + (float64(j)-float64(len(payloads)-1)/2)*step
			if s.Runs == s.Failed {
				layer.lossXY = append(layer.lossXY, plotter.XY{X: x})
				layer.lossText = append(layer.lossText, "error")
				continue
			}
			peak = max(peak, layer.add(i, x, value(s), scale))
			if marks {
				peak = max(peak, layer.mark(s, x))
			}
		}
		if err := layer.draw(p, j, payload, barWidth, step, len(payloads)); err != nil {
			return nil, err
		}
	}
	p.NominalX(keyNames(keys)...)
	p.Y.Max = max(peak*1.3, 1e-3)
	p.X.Min, p.X.Max = -0.6, float64(len(keys))-0.4
	return p, nil
}

// summaryLayer is one payload's bars, whiskers and marks in a panel.
type summaryLayer struct {
	values   plotter.Values
	whiskers errPoints
	offered  plotter.XYs
	lossXY   plotter.XYs
	lossText []string
}

// add places the bar of group i at x and its whisker if the runs spread;
// it returns the highest value drawn.
func (l *summaryLayer) add(i int, x float64, s Spread, scale float64) float64 {
	l.values[i] = s.Median / scale
	if s.Max > s.Min {
		l.whiskers.XYs = append(l.whiskers.XYs, plotter.XY{X: x, Y: l.values[i]})
		l.whiskers.YErrors = append(l.whiskers.YErrors, struct{ Low, High float64 }{l.values[i] - s.Min/scale, s.Max/scale - l.values[i]})
	}
	return s.Max / scale
}

// mark adds the offered rate (million datagrams/s) and the loss label of
// a case; it returns the offered rate.
func (l *summaryLayer) mark(s CaseSummary, x float64) float64 {
	off := s.Offered.Median / 1e6
	l.offered = append(l.offered, plotter.XY{X: x, Y: off})
	if s.LostPercent.Median > 0 {
		top := max(s.Received.Max/1e6, off)
		l.lossXY = append(l.lossXY, plotter.XY{X: x, Y: top})
		l.lossText = append(l.lossText, fmt.Sprintf("%.2g%%", s.LostPercent.Median))
	}
	return off
}

func (l *summaryLayer) draw(p *plot.Plot, j, payload int, barWidth vg.Length, step float64, payloads int) error {
	bars, err := plotter.NewBarChart(l.values, barWidth)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	bars.Color = report.PayloadColors[j%len(report.PayloadColors)]
	bars.LineStyle.Width = 0
	bars.XMin = (float64(j) - float64(payloads-1)/2) * step
	p.Add(bars)
	p.Legend.Add(fmt.Sprintf("%d B payload (MTU %d)", payload, report.MTUFor(payload)), bars)
	if len(l.whiskers.XYs) > 0 {
		eb, err := plotter.NewYErrorBars(l.whiskers)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		eb.LineStyle.Width = vg.Points(1)
		p.Add(eb)
	}
	if len(l.offered) > 0 {
		sc, err := plotter.NewScatter(l.offered)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: offeredColor, Radius: vg.Points(3), Shape: draw.BoxGlyph{}}
		p.Add(sc)
	}
	if len(l.lossXY) > 0 {
		labels, err := report.LossLabels(l.lossXY, l.lossText, 0)
		if err != nil {
			return err
		}
		labels.Offset.Y = vg.Points(5)
		p.Add(labels)
	}
	return nil
}

var unpacedReceivedColor = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}

// addUnpacedMarks marks on an NDR datagram panel what the sender offered
// unpaced (a black square: the search's upper bound) and what the
// receiver took of it (a grey triangle), medians over the repeats, in
// million datagrams/s, at the bars' centres.
func addUnpacedMarks(p *plot.Plot, results []NDRResult) error {
	tests := make([]report.TestInfo, len(results))
	for i, r := range results {
		tests[i] = r.Test
	}
	_, keyIndex, payloads := ndrAxes(tests)
	step := 0.8 / float64(len(payloads))
	var offered, received plotter.XYs
	for _, r := range results {
		var ceil, got []float64
		for _, s := range r.Repeats {
			if len(s.Trials) > 0 {
				ceil = append(ceil, s.Ceiling)
				got = append(got, s.Trials[0].Received)
			}
		}
		if r.Error != "" || len(ceil) == 0 {
			continue
		}
		j := slices.Index(payloads, r.Test.Payload)
		x := float64(keyIndex[report.ChartKey{Transport: r.Test.Transport, Batch: r.Test.Batch}]) + (float64(j)-float64(len(payloads)-1)/2)*step
		offered = append(offered, plotter.XY{X: x, Y: SpreadOf(ceil).Median / 1e6})
		received = append(received, plotter.XY{X: x, Y: SpreadOf(got).Median / 1e6})
		p.Y.Max = max(p.Y.Max, 1.3*SpreadOf(ceil).Median/1e6)
	}
	if len(offered) == 0 {
		return nil
	}
	for _, m := range []struct {
		xys   plotter.XYs
		style draw.GlyphStyle
		name  string
	}{
		{offered, draw.GlyphStyle{Color: offeredColor, Radius: vg.Points(3), Shape: draw.BoxGlyph{}}, "offered unpaced"},
		{received, draw.GlyphStyle{Color: unpacedReceivedColor, Radius: vg.Points(3.5), Shape: draw.TriangleGlyph{}}, "received of it"},
	} {
		sc, err := plotter.NewScatter(m.xys)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		sc.GlyphStyle = m.style
		p.Add(sc)
		p.Legend.Add(m.name, sc)
	}
	return nil
}
