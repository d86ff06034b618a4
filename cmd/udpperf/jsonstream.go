package main

import (
	"encoding/json"
	"flag"
	"sync"

	"udpstream.dev/bench/report"
)

// reportOut is where client and server put their report: with --json one
// document at the end; with --json-stream, as iperf3 3.17 does, one JSON
// object per line as things happen ({"event":"start"|"interval"|"end"|
// "error","data":...}), so a long test can be watched live. Either way
// the human-readable lines go to standard error.
type reportOut struct {
	e      env
	json   bool
	stream bool
	mu     sync.Mutex // one event line at a time
}

// addJSONFlags defines --json (-J) and --json-stream.
func addJSONFlags(fs *flag.FlagSet) (jsonOut, stream *bool) {
	jsonOut = fs.Bool("json", false, "print one JSON document on stdout (intervals go to stderr)")
	stream = fs.Bool("json-stream", false, "print one JSON object per line on stdout as the test runs, as iperf3 3.17: start, each interval, end")
	return jsonOut, stream
}

func newReportOut(e env, jsonOut, stream bool) *reportOut {
	return &reportOut{e: e, json: jsonOut && !stream, stream: stream}
}

// printer is the human-readable side.
func (o *reportOut) printer() *printer { return newPrinter(o.e, o.json || o.stream) }

// event writes one line of the stream.
func (o *reportOut) event(name string, data any) error {
	b, err := json.Marshal(struct {
		Event string `json:"event"`
		Data  any    `json:"data"`
	}{name, data})
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err = o.e.stdout.Write(append(b, '\n'))
	return err
}

// onStart returns the OnStart callback: the start event when streaming.
func (o *reportOut) onStart() func(report.Start) {
	if !o.stream {
		return nil
	}
	return func(st report.Start) { o.event("start", st) }
}

// onRecord returns the OnRecord callback: an interval event per record
// when streaming.
func (o *reportOut) onRecord() func(report.IntervalRecord) {
	if !o.stream {
		return nil
	}
	return func(rec report.IntervalRecord) { o.event("interval", rec) }
}

// onInterval adds the interval event to the human-readable line.
func (o *reportOut) onInterval(lines func(report.Interval)) func(report.Interval) {
	if !o.stream {
		return lines
	}
	return func(iv report.Interval) {
		lines(iv)
		o.event("interval", report.NewIntervalRecord(iv))
	}
}

// end writes the report: the whole document, or its end section as the
// last event.
func (o *reportOut) end(doc, end any) error {
	switch {
	case o.stream:
		return o.event("end", end)
	case o.json:
		return writeJSON(o.e.stdout, doc)
	}
	return nil
}

// fail reports a failed run in the JSON form chosen, as iperf3 does.
func (o *reportOut) fail(err error) {
	switch {
	case o.stream:
		o.event("error", err.Error())
	case o.json:
		writeJSON(o.e.stdout, jsonError{err.Error()})
	}
}
