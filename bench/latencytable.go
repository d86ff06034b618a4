package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"udpstream.dev/bench/report"
)

// WriteLatencyTable writes latency results as an aligned text table in
// microseconds, under a title saying whether the figures are round trips
// (RTT) or half of them (RTT/2). Under load it adds the target and the
// achieved message rate.
func WriteLatencyTable(w io.Writer, results []LatencyResult) error {
	half, load := false, false
	for _, r := range results {
		half = half || r.HalfRTT
		load = load || r.MPS > 0
	}
	title := "latency: round-trip time (RTT) in microseconds"
	if half {
		title = "latency: half the round-trip time (RTT/2) in microseconds"
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "transport\tpayload\t"
	if load {
		head += "mps\tmessages/s\t"
	}
	fmt.Fprintln(tw, head+"samples\twarm-up\tlost\tmin us\tp25 us\tp50 us\tp75 us\tp90 us\tp99 us\tp99.9 us\tp99.99 us\tp99.999 us\tmax us\tmean us\tstd-dev us\t")
	for _, r := range results {
		row := fmt.Sprintf("%s\t%d\t", r.Test.Transport, r.Test.Payload)
		if load {
			row += fmt.Sprintf("%.0f\t%.0f\t", r.MPS, r.MessagesPerSecond)
		}
		if r.Error != "" {
			fmt.Fprintf(tw, "%s%s\t%s\n", row, "error: "+report.FirstLine(r.Error), strings.Repeat("\t", 15))
			continue
		}
		l := r.Ladder
		fmt.Fprintf(tw, "%s%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", row,
			r.Samples, r.WarmupSamples, r.Lost, l.MinUs, l.P25Us, l.P50Us, l.P75Us, l.P90Us, l.P99Us, l.P999Us, l.P9999Us, l.P99999Us, l.MaxUs, l.MeanUs, l.StdDevUs)
	}
	return tw.Flush()
}
