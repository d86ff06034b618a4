package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
)

// printer sends human-readable lines to stdout, or to stderr when stdout
// carries a JSON document.
type printer struct {
	mu  sync.Mutex
	out io.Writer
}

func newPrinter(e env, jsonOut bool) *printer {
	if jsonOut {
		return &printer{out: e.stderr}
	}
	return &printer{out: e.stdout}
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format, args...)
}

// intervalLines returns an OnInterval callback printing one line per
// interval, with the column header before the first; receiver selects the
// receiving side's columns.
func intervalLines(p *printer, receiver bool) func(report.Interval) {
	headerDone := false
	return func(iv report.Interval) {
		if !headerDone {
			headerDone = true
			p.printf("%s\n", report.IntervalHeader(receiver))
		}
		line := report.FormatInterval(iv, receiver)
		if iv.Omitted {
			line += "  (omitted)"
		}
		p.printf("%s\n", line)
	}
}

// directionLines returns the client's OnInterval callback: the sending
// side's columns, or the receiving side's for the intervals of what the
// client receives (-R, and the second direction of --bidir), each with its
// header before its first line.
func directionLines(p *printer, reverse bool) func(report.Interval) {
	tx, rx := intervalLines(p, false), intervalLines(p, true)
	return func(iv report.Interval) {
		if iv.Sender && !reverse {
			tx(iv)
		} else {
			rx(iv)
		}
	}
}

// reverseLines returns the server's OnReverse callback: what it sent in a
// reverse test and what the client received.
func reverseLines(p *printer) func(bench.ReverseSummary) {
	return func(s bench.ReverseSummary) {
		if s.Error != "" {
			p.printf("reverse session %s to %s failed: %s\n", s.ID, s.Client, s.Error)
			return
		}
		p.printf("reverse session %s to %s ended\n%s\n", s.ID, s.Client, report.FormatSent(s.Sent))
		if s.Received != nil {
			p.printf("%s\n", report.FormatReceived(s.Received.ReceivedSummary))
		}
	}
}

// writeJSON writes one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonError is the document printed with --json when a run fails, as
// iperf3 does.
type jsonError struct {
	Error string `json:"error"`
}
