package experiment

import (
	"fmt"
	"io"
	"text/tabwriter"

	"udpstream.dev/bench/report"
)

// WriteNDRTable writes NDR results as an aligned text table, one row per
// case: the median no-drop rate and its spread over the repeats, the
// unpaced rate the search started from, and how the searches ended.
func WriteNDRTable(w io.Writer, results []NDRResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tpayload\tbatch\tloss <= %\tNDR datagrams/s\tmin-max\tNDR Gbit/s\tunpaced datagrams/s\tfound\ttrials\tnote\t")
	for _, r := range results {
		t := r.Test
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t%s\t\t\t\t\t\t\t\n", t.Transport, t.Payload, t.Batch, r.LossLimit, "error: "+report.FirstLine(r.Error))
			continue
		}
		var ceilings []float64
		trials := 0
		for _, s := range r.Repeats {
			ceilings = append(ceilings, s.Ceiling)
			trials += len(s.Trials)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t%.0f\t%s\t%.3f\t%.0f\t%d/%d\t%d\t%s\t\n",
			t.Transport, t.Payload, t.Batch, r.LossLimit, r.NDR.Median, spreadCell(r.NDR, 0), r.NDRBits.Median/1e9,
			SpreadOf(ceilings).Median, r.Found, len(r.Repeats), trials, ndrNote(r))
	}
	return tw.Flush()
}

// spreadCell shows the range of repeated figures, "-" for one value.
func spreadCell(s Spread, decimals int) string {
	if s.Min == s.Max {
		return "-"
	}
	return fmt.Sprintf("%.*f-%.*f", decimals, s.Min, decimals, s.Max)
}

// ndrNote says how the searches of a case ended when that qualifies the
// figure: the sender was the limit, no rate passed, or the step limit
// came before the resolution.
func ndrNote(r NDRResult) string {
	var sender, none, open int
	for _, s := range r.Repeats {
		switch {
		case s.SenderLimited:
			sender++
		case !s.Found:
			none++
		}
		if !s.Resolved {
			open++
		}
	}
	note := ""
	add := func(n int, what string) {
		if n == 0 {
			return
		}
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("%s (%d/%d)", what, n, len(r.Repeats))
	}
	add(sender, "sender-limited")
	add(none, "loss even at the lowest rate")
	add(open, "step limit before resolution")
	if note == "" {
		return "-"
	}
	return note
}
