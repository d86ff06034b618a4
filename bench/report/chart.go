package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Chart geometry: two panels stacked, wide enough for a default sweep.
const (
	chartWidth       = 9 * vg.Inch
	chartPanelHeight = 3.6 * vg.Inch
)

// PayloadColors tells payloads apart; a sweep rarely has more than two.
var PayloadColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

var lossColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}

// WriteChart renders results to path as a bar chart of received throughput
// (Gbit/s) and datagram rate per transport and batch size, one bar colour
// per payload (MTU); cases with loss carry a red label with the loss
// percentage. A caption above gives the machine, the date, the network
// and the transports. The format follows the extension: .svg or .png.
// udpperf bench draws WriteSummaryChart, which adds the CPU panels, the
// offered rate and the spread of repeated runs.
func WriteChart(path string, results []Result) error {
	return WriteChartFile(path, func(w io.Writer, format string) error { return RenderChart(w, format, results) })
}

// WriteChartFile renders a chart in the format path's extension names
// (svg or png) and writes it to path; nothing is written if rendering
// fails.
func WriteChartFile(path string, render func(w io.Writer, format string) error) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	var buf bytes.Buffer
	if err := render(&buf, format); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// RenderChart writes the chart of WriteChart in format "svg" or "png".
func RenderChart(w io.Writer, format string, results []Result) error {
	if len(results) == 0 {
		return fmt.Errorf("chart: no results to draw")
	}
	plots, err := chartPlots(results)
	if err != nil {
		return err
	}
	tests := make([]TestInfo, len(results))
	for i, r := range results {
		tests[i] = r.Test
	}
	return RenderPlots(w, format, plots, ContextOf(tests, "").Lines())
}

// RenderPlots draws plots stacked, one panel each, under the caption,
// in format "svg" or "png".
func RenderPlots(w io.Writer, format string, plots []*plot.Plot, caption []string) error {
	grid := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*plot.Plot{p}
	}
	return RenderGrid(w, format, grid, caption)
}

// ChartKey is one group of bars on the x axis.
type ChartKey struct {
	Transport string
	Batch     int
}

// String labels the group on the x axis: "mmsg b64", or "naive".
func (k ChartKey) String() string {
	if k.Transport == "naive" {
		return k.Transport
	}
	return fmt.Sprintf("%s b%d", k.Transport, k.Batch)
}

// chartMetric is the figure of one panel of WriteChart.
type chartMetric struct {
	title, unit string
	value       func(Result) float64
}

var chartMetrics = []chartMetric{
	{"Received throughput", "Gbit/s", func(r Result) float64 { return r.SumReceived.BitsPerSecond / 1e9 }},
	{"Received datagram rate", "million datagrams/s", func(r Result) float64 { return r.SumReceived.DatagramsPerSecond / 1e6 }},
}

// chartGroups lay out the bars of WriteChart: a group per transport and
// batch (keys), a bar per payload in each, both in the order the results
// first show them.
type chartGroups struct {
	keys     []ChartKey
	keyIndex map[ChartKey]int
	payloads []int
	barWidth vg.Length
}

func newChartGroups(results []Result) chartGroups {
	g := chartGroups{keyIndex: map[ChartKey]int{}}
	payloadIndex := map[int]int{}
	for _, r := range results {
		k := ChartKey{r.Test.Transport, r.Test.Batch}
		if _, ok := g.keyIndex[k]; !ok {
			g.keyIndex[k] = len(g.keys)
			g.keys = append(g.keys, k)
		}
		if _, ok := payloadIndex[r.Test.Payload]; !ok {
			payloadIndex[r.Test.Payload] = len(g.payloads)
			g.payloads = append(g.payloads, r.Test.Payload)
		}
	}
	g.barWidth = vg.Points(min(28, 520/float64(len(g.keys)*len(g.payloads))))
	return g
}

// chartPlots draws a panel of results per chartMetric.
func chartPlots(results []Result) ([]*plot.Plot, error) {
	g := newChartGroups(results)
	var plots []*plot.Plot
	for _, m := range chartMetrics {
		p, err := g.plot(results, m)
		if err != nil {
			return nil, err
		}
		plots = append(plots, p)
	}
	return plots, nil
}

// plot draws the panel of metric m: the bars of every payload, and the
// axes sized to them.
func (g chartGroups) plot(results []Result, m chartMetric) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = m.title + " per transport and payload (loss in red)"
	p.Y.Label.Text = m.unit
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	peak := 0.0
	for j := range g.payloads {
		top, err := g.addBars(p, results, m, j)
		if err != nil {
			return nil, err
		}
		peak = max(peak, top)
	}
	names := make([]string, len(g.keys))
	for i, k := range g.keys {
		names[i] = k.String()
	}
	p.NominalX(names...)
	// Room above the tallest bar for the legend and the loss labels,
	// and half a group of margin at each end of the axis.
	p.Y.Max = max(peak*1.3, 1e-3)
	p.X.Min, p.X.Max = -0.6, float64(len(g.keys))-0.4
	return p, nil
}

// addBars adds to p the bars of the j-th payload, one per group, with a
// red label on those with loss or an error, and returns the tallest.
func (g chartGroups) addBars(p *plot.Plot, results []Result, m chartMetric, j int) (float64, error) {
	payload := g.payloads[j]
	values := make(plotter.Values, len(g.keys))
	var lossXY plotter.XYs
	var lossText []string
	peak := 0.0
	for _, r := range results {
		if r.Test.Payload != payload {
			continue
		}
		i := g.keyIndex[ChartKey{r.Test.Transport, r.Test.Batch}]
		values[i] = m.value(r)
		peak = max(peak, values[i])
		switch {
		case r.Error != "":
			lossXY = append(lossXY, plotter.XY{X: float64(i), Y: values[i]})
			lossText = append(lossText, "error")
		case r.SumReceived.LostPackets > 0:
			lossXY = append(lossXY, plotter.XY{X: float64(i), Y: values[i]})
			lossText = append(lossText, fmt.Sprintf("%.2g%%", r.SumReceived.LostPercent))
		}
	}
	bars, err := plotter.NewBarChart(values, g.barWidth)
	if err != nil {
		return 0, fmt.Errorf("chart: %w", err)
	}
	bars.Color = PayloadColors[j%len(PayloadColors)]
	bars.LineStyle.Width = 0
	offset := (vg.Length(j) - vg.Length(len(g.payloads)-1)/2) * g.barWidth
	bars.Offset = offset
	p.Add(bars)
	p.Legend.Add(fmt.Sprintf("%d B payload (MTU %d)", payload, MTUFor(payload)), bars)
	if len(lossXY) > 0 {
		labels, err := LossLabels(lossXY, lossText, offset)
		if err != nil {
			return 0, err
		}
		p.Add(labels)
	}
	return peak, nil
}

func LossLabels(xys plotter.XYs, texts []string, offset vg.Length) (*plotter.Labels, error) {
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i] = text.Style{
			Color:   lossColor,
			Font:    font.From(plot.DefaultFont, vg.Points(7)),
			XAlign:  text.XCenter,
			YAlign:  text.YBottom,
			Handler: plot.DefaultTextHandler,
		}
	}
	labels.Offset = vg.Point{X: offset, Y: vg.Points(2)}
	return labels, nil
}

func MTUFor(payload int) int {
	if payload > DefaultPayload {
		return 9000
	}
	return 1500
}
