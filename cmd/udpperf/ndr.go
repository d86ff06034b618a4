package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"udpstream.dev/bench/experiment"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

const ndrAbout = `
Finds the no-drop rate (RFC 2544 throughput): the highest offered rate at
which the receiver loses at most --loss percent of the datagrams offered
during a trial of --time. For every transport and payload it first sends
unpaced to learn what the sender can offer; if that loses nothing, the
sender's rate is the answer (noted "sender-limited"). Otherwise it halves
the bracket between 0 and that rate, one paced trial at a time, until the
bracket is within --resolution of the unpaced rate or --max-steps trials
ran. Each trial is a fresh receiver and sender, as in udpperf bench.

--repeat N runs the whole search N times and reports the median and the
range of the rates found. Progress goes to standard error trial by trial.
Writes a table, a chart (--chart) and JSON (--json, --out). --netns runs
across a veth pair between two new network namespaces, as udpperf bench.

examples:
  udpperf ndr --transport mmsg,gro --size 1472
  udpperf ndr --loss 0.01 --time 5 --repeat 3 --json --out ndr.json
  udpperf ndr --netns --transport xdp --size 1472,8972`

// ndrFlags are the command line of udpperf ndr.
type ndrFlags struct {
	transports, sizes, batches, out, chart *string
	duration                               *time.Duration
	loss, resolution                       *float64
	steps, repeat, rxQueue                 *int
	jsonOut, netns, noPin                  *bool
}

func runNDR(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("ndr", "[flags]", ndrAbout, e.stdout)
	f := ndrFlags{
		transports: fs.String("transport", "mmsg,gro", "comma-separated transports: naive, mmsg, gro (gso), xdp (needs --netns)"),
		sizes:      fs.String("size", "1472", "comma-separated UDP payload sizes in bytes"),
		batches:    fs.String("batch", "64", "comma-separated batch sizes (naive always uses 1)"),
		duration:   durationFlag(fs, "time", experiment.DefaultNDRTrial, "length of each trial"),
		loss:       fs.Float64("loss", 0, "accepted loss in percent of the datagrams offered"),
		resolution: fs.Float64("resolution", 100*experiment.DefaultNDRResolution, "stop when the bracket is within this percentage of the unpaced rate"),
		steps:      fs.Int("max-steps", experiment.DefaultNDRMaxSteps, "at most this many trials per search, the unpaced one included"),
		repeat:     fs.Int("repeat", 1, "run each search this many times; report the median and range"),
		jsonOut:    fs.Bool("json", false, "print the JSON document on stdout (the table goes to stderr)"),
		out:        fs.String("out", "", "also write the JSON document to this file"),
		chart:      fs.String("chart", "out/udpperf-ndr.svg", "write a chart to this file (.svg or .png; empty = none); missing folders are created"),
		netns:      fs.Bool("netns", false, "run across a veth pair between two new network namespaces (root)"),
		rxQueue:    fs.Int("rx-queue", 0, "receiver delivery queue depth (0 = deliver on the receive thread)"),
		noPin:      fs.Bool("no-pin", false, "do not pin the sender and receiver threads to CPUs"),
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cases, info, err := f.cases()
	if err != nil {
		return err
	}
	if *f.chart, err = chartPath(*f.chart); err != nil {
		return err
	}
	if err := prepareOutput("out", *f.out); err != nil {
		return err
	}
	if *f.netns {
		ns, err := openNamespaces()
		if err != nil {
			return err
		}
		defer ns.Close()
		rx, tx := ns.Names()
		fmt.Fprintf(e.stderr, "netns: receiver in %s (%v), sender in %s (%v), veth pair\n", rx, ns.RxAddr(), tx, ns.TxAddr())
		info.Network = "netns-veth"
		for i := range cases {
			cases[i].Network = ns
		}
	}
	// Checked once the network is known: the xdp transport needs it.
	for _, c := range cases {
		if err := c.Validate(); err != nil {
			return usageError{fmt.Sprintf("case %s: %v", c.Case, err)}
		}
	}
	return f.sweep(ctx, e, cases, info)
}

// cases builds and checks the NDR cases of the command line.
func (f ndrFlags) cases() ([]experiment.NDRCase, report.SweepInfo, error) {
	var info report.SweepInfo
	ts, err := parseTransports(*f.transports)
	if err != nil {
		return nil, info, err
	}
	payloads, err := parseInts("size", *f.sizes)
	if err != nil {
		return nil, info, err
	}
	bs, err := parseInts("batch", *f.batches)
	if err != nil {
		return nil, info, err
	}
	if *f.duration <= 0 {
		return nil, info, usageError{"--time must be positive"}
	}
	if *f.repeat < 1 {
		return nil, info, usageError{fmt.Sprintf("--repeat %d: want at least 1", *f.repeat)}
	}
	if *f.resolution <= 0 {
		return nil, info, usageError{fmt.Sprintf("--resolution %g: want a positive percentage", *f.resolution)}
	}
	search := experiment.Search{Loss: *f.loss, Resolution: *f.resolution / 100, MaxSteps: *f.steps}
	base := report.Case{Duration: *f.duration, RxQueue: *f.rxQueue, NoPin: *f.noPin}
	var cases []experiment.NDRCase
	for _, c := range report.Cases(base, ts, payloads, bs) {
		if c.Transport == udp.TransportXDP && !*f.netns {
			return nil, info, usageError{"--transport xdp runs across --netns"}
		}
		cases = append(cases, experiment.NDRCase{Case: c, Search: search, Repeat: *f.repeat})
	}
	info = report.SweepInfo{Transports: names(ts), Payloads: payloads, Batches: bs, Duration: f.duration.Seconds(),
		Rate: "ndr search", Network: "loopback", Cases: len(cases)}
	return cases, info, nil
}

// sweep runs the searches, printing progress, and writes the table, the
// JSON document and the chart.
func (f ndrFlags) sweep(ctx context.Context, e env, cases []experiment.NDRCase, info report.SweepInfo) error {
	for i := range cases {
		cases[i].OnTrial = func(rep, step int, t experiment.Trial) {
			verdict := "lost too much"
			if t.Pass {
				verdict = "pass"
			}
			asked := "unpaced"
			if t.Asked > 0 {
				asked = fmt.Sprintf("paced to %.0f datagrams/s", t.Asked)
			}
			fmt.Fprintf(e.stderr, "  repeat %d/%d step %d: %s: offered %.0f datagrams/s, received %.0f, loss %.4f%%: %s\n",
				rep, *f.repeat, step, asked, t.Offered, t.Received, t.LostPercent, verdict)
		}
	}
	start := time.Now()
	results, sweepErr := experiment.NDRSweep(ctx, cases, func(i, n int, c experiment.NDRCase, r *experiment.NDRResult) {
		switch {
		case r == nil:
			fmt.Fprintf(e.stderr, "case %d/%d: %s, loss <= %g%% ...\n", i, n, c.Case, c.Search.Loss)
		case r.Error != "":
			fmt.Fprintf(e.stderr, "case %d/%d: %s: error: %s\n", i, n, c.Case, oneLine(r.Error))
		default:
			fmt.Fprintf(e.stderr, "case %d/%d: %s: NDR %.0f datagrams/s (%.3f Gbit/s), median of %d\n",
				i, n, c.Case, r.NDR.Median, r.NDRBits.Median/1e9, len(r.Repeats))
		}
	})
	p := newPrinter(e, *f.jsonOut)
	if len(results) > 0 {
		var tbl bytes.Buffer
		experiment.WriteNDRTable(&tbl, results)
		p.printf("\n%s", tbl.String())
	}
	doc := report.NewSweepReport(info, start, results)
	if sweepErr != nil {
		doc.Error = "interrupted: " + sweepErr.Error()
	}
	if err := emitDocument(e, doc, *f.jsonOut, *f.out); err != nil {
		return err
	}
	if *f.chart != "" && len(results) > 0 {
		if err := experiment.WriteNDRChart(*f.chart, results); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "chart: %s\n", *f.chart)
	}
	if sweepErr != nil {
		return fmt.Errorf("interrupted after %d of %d cases", len(results), len(cases))
	}
	for _, r := range results {
		if r.Error != "" {
			return fmt.Errorf("%s %d B: %s", r.Test.Transport, r.Test.Payload, r.Error)
		}
	}
	return nil
}
