package main

import (
	"fmt"
	"time"

	"udpstream.dev/bench/experiment"
	"udpstream.dev/bench/report"
)

// benchProgress prints a line before and after every run of a sweep of
// cases repeated n times.
func benchProgress(e env, n int) func(i, total int, c report.Case, r *report.Result) {
	return func(i, total int, c report.Case, r *report.Result) {
		name := fmt.Sprintf("case %d/%d", i, total)
		if n > 1 {
			name = fmt.Sprintf("case %d/%d run %d/%d", (i-1)/n+1, total/n, (i-1)%n+1, n)
		}
		switch {
		case r == nil:
			fmt.Fprintf(e.stderr, "%s: %s ...\n", name, c)
		case r.Error != "":
			fmt.Fprintf(e.stderr, "%s: %s: error: %s\n", name, c, oneLine(r.Error))
		default:
			v := r.SumReceived
			fmt.Fprintf(e.stderr, "%s: %s: %.0f datagrams/s, %.3f Gbit/s, loss %.3f%%\n", name, c, v.DatagramsPerSecond, v.BitsPerSecond/1e9, v.LostPercent)
		}
	}
}

// emitBench writes bench's JSON document: one result per case, or with
// --repeat above 1 one summary per case holding its runs.
func emitBench(e env, info report.SweepInfo, start time.Time, results []report.Result, sums []experiment.CaseSummary, n int, sweepErr error, jsonOut bool, path string) error {
	interrupted := ""
	if sweepErr != nil {
		interrupted = "interrupted: " + sweepErr.Error()
	}
	if n == 1 {
		doc := report.NewSweepReport(info, start, results)
		doc.Error = interrupted
		return emitDocument(e, doc, jsonOut, path)
	}
	info.Repeat = n
	doc := report.NewSweepReport(info, start, sums)
	doc.Error = interrupted
	return emitDocument(e, doc, jsonOut, path)
}
