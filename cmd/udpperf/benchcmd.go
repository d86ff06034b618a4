package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/experiment"
	"udpstream.dev/bench/netns"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

const benchAbout = `
Runs a receiver (engine Server with a counting slave) and a sender (engine
Client) in this process for every combination of transport, payload and
batch size, each on its own OS thread pinned to its own CPU when there are
two or more, and prints one table row per case: offered and received
datagrams/s, Gbit/s, loss (sent - received) split by cause (kernel drops,
ring drops, pool exhausted, oversize, other; send errors beside it), CPU
nanoseconds per datagram on the receiving and the sending thread, and PRBS
errors. Writes a chart (--chart) and JSON (--json, --out).

--repeat N runs every case N times: the table gives the median received
rate with its range and the loss summed over the runs, the JSON one
summary per case with its runs, the chart the medians with whiskers from
the lowest to the highest run.

--netns runs the receiver and the sender in two new network namespaces
joined by a veth pair (10.199.0.1/30 and 10.199.0.2/30, MTU 1500 or 9000 to
fit the payload) instead of loopback, and removes them at the end. It needs
root. The xdp transport (AF_XDP on each veth end, queue 0) runs only there,
and is part of the default sweep there.

examples:
  udpperf bench
  udpperf bench --transport mmsg,gro --size 1472 --batch 1,8,64,256 --time 5
  udpperf bench --netns --prbs --json --out bench.json --chart bench.png
  udpperf bench --transport gro --size 1472 --repeat 5`

// runBench runs udpperf bench: it parses the flags, opens the namespaces
// of --netns, runs the sweep and reports it (see reportBench).
func runBench(ctx context.Context, e env, args []string) error {
	bf, err := parseBenchFlags(e, args)
	if err != nil {
		return err
	}
	if bf.netns {
		ns, err := openNamespaces()
		if err != nil {
			return err
		}
		defer ns.Close()
		bf.useNamespaces(e, ns)
	}
	if bf.interval > 0 {
		bf.printIntervals(e)
	}
	start := time.Now()
	results, sweepErr := bench.Sweep(ctx, experiment.RepeatCases(bf.cases, bf.repeat), benchProgress(e, bf.repeat))
	return reportBench(e, bf, start, results, sweepErr)
}

// benchFlags is udpperf bench's command line, checked: the cases to run
// (each once; repeat says how often) and what the report says of them.
type benchFlags struct {
	cases    []report.Case
	info     report.SweepInfo
	repeat   int
	netns    bool
	interval time.Duration
	jsonOut  bool
	out      string // JSON file, "" for none
	chart    string // chart file, "" for none
}

func parseBenchFlags(e env, args []string) (benchFlags, error) {
	var bf benchFlags
	fs := newFlagSet("bench", "[flags]", benchAbout, e.stdout)
	transports := fs.String("transport", "naive,mmsg,gro", "comma-separated transports: naive, mmsg, gro (gso), xdp (needs --netns; with --netns the default adds it)")
	sizes := fs.String("size", "1472,8972", "comma-separated UDP payload sizes in bytes")
	batches := fs.String("batch", "8,64", "comma-separated batch sizes (naive always uses 1)")
	duration := durationFlag(fs, "time", report.DefaultDuration, "sending time per case")
	r := rateFlag(fs)
	prbs := fs.Bool("prbs", false, "send Rogue PRBS frames and check every byte")
	jsonOut := fs.Bool("json", false, "print the JSON document on stdout (the table goes to stderr)")
	out := fs.String("out", "", "also write the JSON document to this file")
	chart := fs.String("chart", "out/udpperf-bench.svg", "write a chart to this file (.svg or .png; empty = none); missing folders are created")
	netns := fs.Bool("netns", false, "run across a veth pair between two new network namespaces (root)")
	interval := durationFlag(fs, "interval", 0, "print interval lines within each case (0 = none)")
	rxQueue := fs.Int("rx-queue", 0, "receiver delivery queue depth (0 = deliver on the receive thread)")
	noPin := fs.Bool("no-pin", false, "do not pin the sender and receiver threads to CPUs")
	repeat := fs.Int("repeat", 1, "run each case this many times; report the median and range")
	xdpMode := addXDPModeFlags(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return bf, err
	}
	if *netns && !isSet(fs, "transport") {
		*transports += ",xdp"
	}
	mode, err := xdpMode.resolve(fs, *transports)
	if err != nil {
		return bf, err
	}
	ts, payloads, bs, err := parseSweepLists(*transports, *sizes, *batches)
	if err != nil {
		return bf, err
	}
	if *duration <= 0 {
		return bf, usageError{"--time must be positive"}
	}
	if *repeat < 1 {
		return bf, usageError{fmt.Sprintf("--repeat %d: want at least 1", *repeat)}
	}
	if bf.chart, err = chartPath(*chart); err != nil {
		return bf, err
	}
	if err := prepareOutput("out", *out); err != nil {
		return bf, err
	}
	base := report.Case{Duration: *duration, Rate: *r, PRBS: *prbs, RxQueue: *rxQueue, NoPin: *noPin, XDP: report.XDP{Mode: mode}}
	if bf.cases, err = benchCases(base, ts, payloads, bs, *netns); err != nil {
		return bf, err
	}
	bf.info = report.SweepInfo{Transports: names(ts), Payloads: payloads, Batches: bs, Duration: duration.Seconds(),
		Rate: r.String(), PRBS: *prbs, Network: "loopback", Cases: len(bf.cases)}
	bf.repeat, bf.netns, bf.interval, bf.jsonOut, bf.out = *repeat, *netns, *interval, *jsonOut, *out
	return bf, nil
}

// parseSweepLists parses the comma-separated lists of --transport, --size
// and --batch.
func parseSweepLists(transports, sizes, batches string) (ts []udp.Transport, payloads, bs []int, err error) {
	if ts, err = parseTransports(transports); err != nil {
		return nil, nil, nil, err
	}
	if payloads, err = parseInts("size", sizes); err != nil {
		return nil, nil, nil, err
	}
	if bs, err = parseInts("batch", batches); err != nil {
		return nil, nil, nil, err
	}
	return ts, payloads, bs, nil
}

// benchCases is every combination of ts, payloads and batches on base,
// each checked, except the xdp cases of --netns: only the namespaces,
// opened later, can tell whether those run.
func benchCases(base report.Case, ts []udp.Transport, payloads, batches []int, netns bool) ([]report.Case, error) {
	cases := report.Cases(base, ts, payloads, batches)
	for _, c := range cases {
		if netns && c.Transport == udp.TransportXDP {
			continue
		}
		if err := c.Validate(); err != nil {
			return nil, usageError{fmt.Sprintf("case %s: %v", c, err)}
		}
	}
	return cases, nil
}

// useNamespaces runs every case across the veth pair of ns.
func (bf *benchFlags) useNamespaces(e env, ns *netns.Namespaces) {
	rx, tx := ns.Names()
	fmt.Fprintf(e.stderr, "netns: receiver in %s (%v), sender in %s (%v), veth pair\n", rx, ns.RxAddr(), tx, ns.TxAddr())
	bf.info.Network = "netns-veth"
	for i := range bf.cases {
		bf.cases[i].Network = ns
	}
}

// printIntervals has every case print its interval lines on stderr.
func (bf *benchFlags) printIntervals(e env) {
	for i := range bf.cases {
		bf.cases[i].Interval = bf.interval
		bf.cases[i].OnInterval = func(iv report.Interval) {
			fmt.Fprintf(e.stderr, "  %s\n", report.FormatInterval(iv, true))
		}
	}
}

// reportBench prints the table of a finished (or interrupted) sweep,
// writes its JSON document and chart, and returns the error that decides
// the exit status.
func reportBench(e env, bf benchFlags, start time.Time, results []report.Result, sweepErr error) error {
	p := newPrinter(e, bf.jsonOut)
	sums := experiment.Summarize(results)
	if len(results) > 0 {
		p.printf("\n")
		var tbl bytes.Buffer
		experiment.WriteSummaryTable(&tbl, sums)
		p.printf("%s", tbl.String())
	}
	if err := emitBench(e, bf.info, start, results, sums, bf.repeat, sweepErr, bf.jsonOut, bf.out); err != nil {
		return err
	}
	if bf.chart != "" && len(results) > 0 {
		if err := experiment.WriteSummaryChart(bf.chart, sums); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "chart: %s\n", bf.chart)
	}
	if sweepErr != nil {
		return fmt.Errorf("interrupted after %d of %d runs", len(results), len(bf.cases)*bf.repeat)
	}
	return failure(results)
}

// failure turns failed cases into the run's error: PRBS errors first
// (exit status 3), then cases that could not run.
func failure(results []report.Result) error {
	for _, r := range results {
		if r.SumReceived.PRBSErrors > 0 {
			return prbsError{fmt.Sprintf("%s %d B batch %d: %d datagrams failed the PRBS check: %s", r.Test.Transport, r.Test.Payload, r.Test.Batch, r.SumReceived.PRBSErrors, r.SumReceived.PRBSFirstError)}
		}
	}
	if err := bench.FirstFailure(results); err != nil {
		return err
	}
	return nil
}

// openNamespaces creates the veth pair between two new network namespaces
// for --netns, first checking that this process may.
func openNamespaces() (*netns.Namespaces, error) {
	if err := netns.CheckNamespaces(); err != nil {
		return nil, fmt.Errorf("--netns: %w", err)
	}
	ns, err := netns.NewNamespaces()
	if err != nil {
		return nil, fmt.Errorf("--netns: %w", err)
	}
	return ns, nil
}

// emitDocument prints doc on stdout (jsonOut) and writes it to path.
func emitDocument(e env, doc any, jsonOut bool, path string) error {
	if jsonOut {
		if err := writeJSON(e.stdout, doc); err != nil {
			return err
		}
	}
	if path != "" {
		var b bytes.Buffer
		if err := writeJSON(&b, doc); err != nil {
			return err
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return errors.New("--out: " + err.Error())
		}
		fmt.Fprintf(e.stderr, "json: %s\n", path)
	}
	return nil
}

func names[T fmt.Stringer](ts []T) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}
