package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/engine/udp"
)

const benchAbout = `
Runs a receiver (engine Server with a counting slave) and a sender (engine
Client) in this process for every combination of transport, payload and
batch size, each on its own OS thread pinned to its own CPU when there are
two or more, and prints one table row per case: received datagrams/s and
Gbit/s, loss (sent - received, of which kernel drops and ring drops are
shown separately), CPU nanoseconds per datagram on the receiving and the
sending thread, and PRBS errors. Writes a chart (--chart) and JSON (--json,
--out).

--netns runs the receiver and the sender in two new network namespaces
joined by a veth pair (10.199.0.1/30 and 10.199.0.2/30, MTU 1500 or 9000 to
fit the payload) instead of loopback, and removes them at the end. It needs
root. The xdp transport (AF_XDP on each veth end, queue 0) runs only there,
and is part of the default sweep there.

examples:
  udpperf bench
  udpperf bench --transport mmsg,gro --size 1472 --batch 1,8,64,256 --time 5
  udpperf bench --netns --prbs --json --out bench.json --chart bench.png`

func runBench(ctx context.Context, e env, args []string) error {
	a, err := parseBench(e, args)
	if err != nil {
		return err
	}
	cases := a.cases
	p := newPrinter(e, a.jsonOut)
	network := "loopback"
	if a.netns {
		ns, err := openNamespaces()
		if err != nil {
			return err
		}
		defer ns.Close()
		rx, tx := ns.Names()
		fmt.Fprintf(e.stderr, "netns: receiver in %s (%v), sender in %s (%v), veth pair\n", rx, ns.RxAddr(), tx, ns.TxAddr())
		network = "netns-veth"
		for i := range cases {
			cases[i].Network = ns
		}
	}
	if a.interval > 0 {
		for i := range cases {
			cases[i].Interval = a.interval
			cases[i].OnInterval = func(iv bench.Interval) {
				fmt.Fprintf(e.stderr, "  %s\n", bench.FormatInterval(iv, true))
			}
		}
	}
	start := time.Now()
	results, sweepErr := bench.Sweep(ctx, cases, func(i, n int, c bench.Case, r *bench.Result) {
		if r == nil {
			fmt.Fprintf(e.stderr, "case %d/%d: %s ...\n", i, n, c)
			return
		}
		if r.Error != "" {
			fmt.Fprintf(e.stderr, "case %d/%d: %s: error: %s\n", i, n, c, oneLine(r.Error))
			return
		}
		v := r.SumReceived
		fmt.Fprintf(e.stderr, "case %d/%d: %s: %.0f datagrams/s, %.3f Gbit/s, loss %.3f%%\n", i, n, c, v.DatagramsPerSecond, v.BitsPerSecond/1e9, v.LostPercent)
	})
	if len(results) > 0 {
		p.printf("\n")
		var tbl bytes.Buffer
		bench.WriteTable(&tbl, results)
		p.printf("%s", tbl.String())
	}
	info := bench.SweepInfo{Transports: names(a.ts), Payloads: a.payloads, Batches: a.batches, Duration: a.base.Duration.Seconds(),
		Rate: a.base.Rate.String(), PRBS: a.base.PRBS, Network: network, Cases: len(cases)}
	return reportBench(e, a, info, start, results, sweepErr)
}

// benchArgs are the checked flags of udpperf bench, with the cases they
// ask for.
type benchArgs struct {
	base              bench.Case // what every case shares
	cases             []bench.Case
	ts                []udp.Transport
	payloads, batches []int
	interval          time.Duration
	out, chart        string
	jsonOut, netns    bool
}

// parseBench parses and checks the flags of udpperf bench.
func parseBench(e env, args []string) (benchArgs, error) {
	var a benchArgs
	fs := newFlagSet("bench", "[flags]", benchAbout, e.stdout)
	transports := fs.String("transport", "naive,mmsg,gro", "comma-separated transports: naive, mmsg, gro (gso), xdp (needs --netns; with --netns the default adds it)")
	sizes := fs.String("size", "1472,8972", "comma-separated UDP payload sizes in bytes")
	batches := fs.String("batch", "8,64", "comma-separated batch sizes (naive always uses 1)")
	duration := durationFlag(fs, "time", bench.DefaultDuration, "sending time per case")
	r := rateFlag(fs)
	prbs := fs.Bool("prbs", false, "send Rogue PRBS frames and check every byte")
	jsonOut := fs.Bool("json", false, "print the JSON document on stdout (the table goes to stderr)")
	out := fs.String("out", "", "also write the JSON document to this file")
	chart := fs.String("chart", "udpperf-bench.svg", "write a chart to this file (.svg or .png; empty = none)")
	netns := fs.Bool("netns", false, "run across a veth pair between two new network namespaces (root)")
	interval := durationFlag(fs, "interval", 0, "print interval lines within each case (0 = none)")
	rxQueue := fs.Int("rx-queue", 0, "receiver delivery queue depth (0 = deliver on the receive thread)")
	noPin := fs.Bool("no-pin", false, "do not pin the sender and receiver threads to CPUs")
	if err := parseNoArgs(fs, args); err != nil {
		return a, err
	}
	if *netns && !isSet(fs, "transport") {
		*transports += ",xdp"
	}
	ts, err := parseTransports(*transports)
	if err != nil {
		return a, err
	}
	payloads, err := parseInts("size", *sizes)
	if err != nil {
		return a, err
	}
	bs, err := parseInts("batch", *batches)
	if err != nil {
		return a, err
	}
	if *duration <= 0 {
		return a, usageError{"--time must be positive"}
	}
	if *chart, err = chartFile(*chart); err != nil {
		return a, err
	}
	a = benchArgs{ts: ts, payloads: payloads, batches: bs, interval: *interval, out: *out, chart: *chart, jsonOut: *jsonOut, netns: *netns}
	a.base = bench.Case{Duration: *duration, Rate: *r, PRBS: *prbs, RxQueue: *rxQueue, NoPin: *noPin}
	a.cases = bench.Cases(a.base, ts, payloads, bs)
	for _, c := range a.cases {
		if *netns && c.Transport == udp.TransportXDP {
			continue // the namespaces come later
		}
		if err := c.Validate(); err != nil {
			return a, usageError{fmt.Sprintf("case %s: %v", c, err)}
		}
	}
	return a, nil
}

// chartFile checks --chart: "none" or "off" turn the chart off, and the
// file name must say SVG or PNG.
func chartFile(chart string) (string, error) {
	switch strings.ToLower(chart) {
	case "", "none", "off":
		return "", nil
	}
	if ext := strings.ToLower(chart); !strings.HasSuffix(ext, ".svg") && !strings.HasSuffix(ext, ".png") {
		return "", usageError{fmt.Sprintf("--chart %q: the file name must end in .svg or .png", chart)}
	}
	return chart, nil
}

// reportBench writes the JSON document and the chart, and fails when the
// sweep was interrupted or a case failed.
func reportBench(e env, a benchArgs, info bench.SweepInfo, start time.Time, results []bench.Result, sweepErr error) error {
	doc := bench.NewSweepReport(info, start, results)
	if sweepErr != nil {
		doc.Error = "interrupted: " + sweepErr.Error()
	}
	if err := emitDocument(e, doc, a.jsonOut, a.out); err != nil {
		return err
	}
	if a.chart != "" && len(results) > 0 {
		if err := bench.WriteChart(a.chart, results); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "chart: %s\n", a.chart)
	}
	if sweepErr != nil {
		return fmt.Errorf("interrupted after %d of %d cases", len(results), len(a.cases))
	}
	return failure(results)
}

// failure turns failed cases into the run's error: PRBS errors first
// (exit status 3), then cases that could not run.
func failure(results []bench.Result) error {
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
func openNamespaces() (*bench.Namespaces, error) {
	if err := bench.CheckNamespaces(); err != nil {
		return nil, fmt.Errorf("--netns: %w", err)
	}
	ns, err := bench.NewNamespaces()
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
