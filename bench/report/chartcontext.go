package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Every chart carries the run's context in a caption above its panels:
// the machine (host, kernel, CPUs), when it was drawn, the network
// (loopback or a veth pair) and the transports, so that a chart pasted
// into a report still says where its figures come from.

// chartCaptionHeight is the band above the panels that holds the caption.
const chartCaptionHeight = 0.55 * vg.Inch

// chartContext is the caption's content.
type chartContext struct {
	System     System
	When       time.Time
	Networks   []string
	Transports []string
	Extra      string // what the chart measures, e.g. "2 s per run, 3 runs"
}

// ContextOf gathers the caption of charts of tests on this machine, now.
func ContextOf(tests []TestInfo, extra string) chartContext {
	c := chartContext{System: CollectSystem(), When: time.Now(), Extra: extra}
	for _, t := range tests {
		if !slices.Contains(c.Transports, t.Transport) {
			c.Transports = append(c.Transports, t.Transport)
		}
		if t.Network != "" && !slices.Contains(c.Networks, t.Network) {
			c.Networks = append(c.Networks, t.Network)
		}
	}
	return c
}

// Lines renders the caption: the machine on the first line, the run on
// the second.
func (c chartContext) Lines() []string {
	s := c.System
	kernel := strings.TrimSpace(s.GOOS + " " + s.Kernel)
	first := fmt.Sprintf("host %s, %s %s, %d CPUs, %s, udpperf %s", s.Hostname, kernel, s.Machine, s.CPUs, s.GoVersion, moduleVersion(s))
	network := strings.Join(c.Networks, ", ")
	if network == "" {
		network = "not recorded"
	}
	second := fmt.Sprintf("%s; network %s; transports %s", c.When.UTC().Format("2006-01-02 15:04 UTC"),
		network, strings.Join(c.Transports, ", "))
	if c.Extra != "" {
		second += "; " + c.Extra
	}
	return []string{first, second}
}

func moduleVersion(s System) string {
	if s.ModuleVersion == "" {
		return "(devel)"
	}
	return s.ModuleVersion
}

var captionColor = color.Gray{Y: 0x30}

// RenderGrid draws the panels of grid (rows of columns) under the
// caption, in format "svg" or "png".
func RenderGrid(w io.Writer, format string, grid [][]*plot.Plot, caption []string) error {
	cols := 0
	for _, row := range grid {
		cols = max(cols, len(row))
	}
	width := chartWidth
	if cols > 1 {
		width = chartWidth * 1.45
	}
	height := chartPanelHeight*vg.Length(len(grid)) + chartCaptionHeight
	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		canvas = vgsvg.New(width, height)
	case "png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	default:
		return fmt.Errorf("chart: unknown format %q (want .svg or .png)", format)
	}
	dc := draw.New(canvas)
	drawCaption(dc, caption)
	for _, row := range grid {
		for _, p := range row {
			readableTicks(p)
		}
	}
	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(10), PadX: vg.Points(18), PadY: vg.Points(10)}
	cells := plot.Align(grid, tiles, draw.Crop(dc, 0, 0, 0, -chartCaptionHeight))
	for i, row := range grid {
		for j, p := range row {
			p.Draw(cells[i][j])
		}
	}
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// drawCaption writes the caption lines at the top left.
func drawCaption(dc draw.Canvas, lines []string) {
	sty := text.Style{
		Color:   captionColor,
		Font:    font.From(plot.DefaultFont, vg.Points(10)),
		XAlign:  text.XLeft,
		YAlign:  text.YTop,
		Handler: plot.DefaultTextHandler,
	}
	y := dc.Max.Y - vg.Points(8)
	for _, l := range lines {
		dc.FillText(sty, vg.Point{X: dc.Min.X + vg.Points(10), Y: y}, l)
		y -= vg.Points(14)
	}
}

// readableTicks sets tick labels large enough to read in a report and
// adds a light grid for reading values off the bars.
func readableTicks(p *plot.Plot) {
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Y.Tick.Marker = NiceTicks{}
}

// NiceTicks labels the value axis at 4 to 10 round steps (1, 2, 2.5 or 5 times
// a power of ten), more than the default's two or three.
type NiceTicks struct{}

// Ticks implements plot.Ticker.
func (NiceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	step := niceStep((hi - lo) / 7)
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		v = math.Round(v/step) * step // no drift from repeated adding
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		if len(ticks) > 20 {
			break
		}
	}
	return ticks
}

// niceStep is the smallest of 1, 2, 2.5 and 5 times a power of ten at
// least x.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}
