package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

const latencyAbout = `
Measures round-trip latency with one datagram in flight: the client sends a
ping, the server echoes it, the client records the round trip and sends the
next one at once. As sockperf, it discards the samples of the first
--warmup (400 ms; the run lasts --warmup plus --time) and prints min, the
ladder p25, p50, p75, p90, p99, p99.9, p99.99, p99.999, max, mean and
standard deviation in microseconds for each transport: round trips, or
half of them with --half-rtt (the table title and the JSON field
"figures" say which). --histogram FILE writes every sample as an HDR
histogram log, one interval per transport.

--mps N measures under load, as sockperf's under-load mode: the client
streams N messages per second without waiting for answers; one in
--reply-every (100) is a ping the server echoes, whose round trip is
measured; the others are plain data datagrams.

Without --host the echo server runs in this process (on loopback, or across
a veth pair with --netns). With --host it pings a running udpperf server.

examples:
  udpperf latency
  udpperf latency --transport mmsg --size 1472 --count 100000
  udpperf latency --host 10.0.0.2 --port 5201 --time 10
  udpperf latency --transport gro --half-rtt --histogram gro.hlog
  udpperf latency --transport mmsg --mps 100000 --time 5`

// runLatency runs udpperf latency: it parses the flags, opens the
// namespaces of --netns, runs a case per transport and reports them (see
// reportLatency).
func runLatency(ctx context.Context, e env, args []string) error {
	lf, err := parseLatencyFlags(e, args)
	if err != nil {
		return err
	}
	if lf.netns {
		ns, err := openNamespaces()
		if err != nil {
			return err
		}
		defer ns.Close()
		lf.info.Network = "netns-veth"
		for i := range lf.cases {
			lf.cases[i].Network = ns
		}
	}
	start := time.Now()
	results, sweepErr := bench.LatencySweep(ctx, lf.cases, latencyProgress(e, lf.extras))
	return reportLatency(e, lf, start, results, sweepErr)
}

// latencyFlags is udpperf latency's command line, checked: a case per
// transport and what the report says of them.
type latencyFlags struct {
	cases   []bench.LatencyCase
	info    report.SweepInfo
	extras  latencyExtras
	netns   bool
	jsonOut bool
	out     string // JSON file, "" for none
}

func parseLatencyFlags(e env, args []string) (latencyFlags, error) {
	var lf latencyFlags
	fs := newFlagSet("latency", "[flags]", latencyAbout, e.stdout)
	transports := fs.String("transport", "naive,mmsg,gro", "comma-separated transports: naive, mmsg, gro (gso), xdp (with --netns, or --host and --iface)")
	size := fs.Int("size", bench.DefaultLatencyPayload, "ping size in bytes (40..8972)")
	duration := durationFlag(fs, "time", report.DefaultDuration, "measuring time per transport")
	count := fs.Int("count", 0, "stop each transport after this many round trips (0 = --time only)")
	timeout := durationFlag(fs, "timeout", bench.DefaultLatencyTimeout, "a ping unanswered for this long counts as lost")
	host := fs.String("host", "", "ping a running udpperf server at this host instead of an in-process one")
	port := fs.Int("port", bench.DefaultPort, "server UDP port (with --host)")
	netns := fs.Bool("netns", false, "run across a veth pair between two new network namespaces (root)")
	jsonOut := fs.Bool("json", false, "print one JSON document on stdout (the table goes to stderr)")
	out := fs.String("out", "", "also write the JSON document to this file")
	noPin := fs.Bool("no-pin", false, "do not pin the two threads to CPUs")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds (0 = off)")
	lowLat := addLowLatencyFlags(fs, true, "send the next ping")
	xdp := addXDPFlags(fs)
	lf.extras = addLatencyExtras(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return lf, err
	}
	if err := lf.extras.check(fs); err != nil {
		return lf, err
	}
	if err := xdp.check(fs, *transports); err != nil {
		return lf, err
	}
	xdpMode, err := xdp.mode.resolve(fs, *transports)
	if err != nil {
		return lf, err
	}
	ts, err := checkLatencyTarget(fs, *transports, *host, *port, *netns, *duration, *count)
	if err != nil {
		return lf, err
	}
	if err := prepareOutput("out", *out); err != nil {
		return lf, err
	}
	if *count > 0 && !isSet(fs, "time") {
		*duration = 24 * time.Hour // --count alone decides
	}
	base := bench.LatencyCase{Payload: *size, Duration: *duration, Count: *count,
		Host: *host, Port: *port, NoPin: *noPin, Timeout: *timeout, BusyPoll: *busyPoll,
		XDP: report.XDP{Iface: *xdp.iface, Queue: *xdp.queue, Mode: xdpMode}}
	lf.extras.apply(&base)
	if lf.cases, err = latencyCases(base, ts, *netns, lowLat); err != nil {
		return lf, err
	}
	lf.info = latencyInfo(base, ts)
	lf.netns, lf.jsonOut, lf.out = *netns, *jsonOut, *out
	return lf, nil
}

// checkLatencyTarget checks where the pings go and for how long, and
// parses the transports.
func checkLatencyTarget(fs *flag.FlagSet, transports, host string, port int, netns bool, duration time.Duration, count int) ([]udp.Transport, error) {
	if host == "" && isSet(fs, "iface") {
		return nil, usageError{"--iface applies with --host; in-process xdp runs across --netns"}
	}
	ts, err := parseTransports(transports)
	if err != nil {
		return nil, err
	}
	if host != "" && netns {
		return nil, usageError{"--host and --netns exclude each other"}
	}
	if duration <= 0 && count <= 0 {
		return nil, usageError{"--time or --count must be positive"}
	}
	if host != "" && (port < 1 || port > 65535) {
		return nil, usageError{fmt.Sprintf("--port %d outside 1..65535", port)}
	}
	return ts, nil
}

// latencyCases is base once for each transport of ts. xdp runs in this
// process only across --netns, and towards a --host only from an --iface.
func latencyCases(base bench.LatencyCase, ts []udp.Transport, netns bool, lowLat lowLatencyFlag) ([]bench.LatencyCase, error) {
	var cases []bench.LatencyCase
	for _, t := range ts {
		if t == udp.TransportXDP && base.Host == "" && !netns {
			return nil, usageError{"--transport xdp runs across --netns (or towards --host with --iface)"}
		}
		if t == udp.TransportXDP && base.Host != "" && base.XDP.Iface == "" {
			return nil, usageError{"--transport xdp towards --host needs --iface"}
		}
		c := base
		c.Transport = t
		ll, err := lowLat.resolve(t != udp.TransportXDP, "do not apply to --transport xdp")
		if err != nil {
			return nil, err
		}
		c.LowLatency, c.Spin = ll.on, ll.spin
		cases = append(cases, c)
	}
	return cases, nil
}

// latencyInfo is the report's description of a case of base per
// transport of ts, on loopback or towards base.Host (--netns sets its own
// network later).
func latencyInfo(base bench.LatencyCase, ts []udp.Transport) report.SweepInfo {
	info := report.SweepInfo{Transports: names(ts), Payloads: []int{base.Payload}, Duration: base.Duration.Seconds(),
		Rate: "ping-pong", Network: "loopback", Cases: len(ts)}
	if base.Host != "" {
		info.Network = netJoin(base.Host, base.Port)
	}
	if base.MPS > 0 {
		info.Rate = fmt.Sprintf("%gmps", base.MPS)
	}
	return info
}

// latencyProgress prints a line on stderr before and after every case.
func latencyProgress(e env, extras latencyExtras) func(i, n int, c bench.LatencyCase, r *bench.LatencyResult) {
	return func(i, n int, c bench.LatencyCase, r *bench.LatencyResult) {
		switch {
		case r == nil:
			fmt.Fprintf(e.stderr, "case %d/%d: %s %d B ...\n", i, n, c.Transport, c.Payload)
		case r.Error != "":
			fmt.Fprintf(e.stderr, "case %d/%d: %s: error: %s\n", i, n, c.Transport, oneLine(r.Error))
		default:
			fmt.Fprintf(e.stderr, "case %d/%d: %s: %s p50 %.1f us, p99 %.1f us over %d round trips\n", i, n, c.Transport, extras.figures(), r.P50Us, r.P99Us, r.Samples)
		}
	}
}

// reportLatency prints the table of a finished (or interrupted) latency
// run, writes its JSON document and histogram log, and returns the error
// that decides the exit status: the interruption, else the first case
// that failed.
func reportLatency(e env, lf latencyFlags, start time.Time, results []bench.LatencyResult, sweepErr error) error {
	p := newPrinter(e, lf.jsonOut)
	if len(results) > 0 {
		var tbl bytes.Buffer
		bench.WriteLatencyTable(&tbl, results)
		p.printf("\n%s", tbl.String())
	}
	doc := report.NewSweepReport(lf.info, start, results)
	if sweepErr != nil {
		doc.Error = "interrupted: " + sweepErr.Error()
	}
	if err := emitDocument(e, doc, lf.jsonOut, lf.out); err != nil {
		return err
	}
	if err := lf.extras.writeHistogram(e, start, results); err != nil {
		return err
	}
	if sweepErr != nil {
		return fmt.Errorf("interrupted after %d of %d cases", len(results), len(lf.cases))
	}
	for _, r := range results {
		if r.Error != "" {
			return fmt.Errorf("%s: %s", r.Test.Transport, r.Error)
		}
	}
	return nil
}

// isSet reports whether the command line set flag name, by its long
// name or its iperf3 short name.
func isSet(fs *flag.FlagSet, name string) bool {
	short, _ := shortOf(fs, name)
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name || (short != "" && f.Name == short) })
	return set
}
