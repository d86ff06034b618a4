package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

const clientAbout = `
Sends sequence-numbered datagrams (or Rogue PRBS frames with --prbs) through
the engine's Client to a udpperf server at a target rate, prints the datagrams
and rate sent per interval, and at the end both sides' figures: the server
reports what it received, lost, dropped and failed the PRBS check.

The first 8 bytes of each datagram are its sequence number (little-endian),
or with --prbs word 0 of the PRBS frame. The test opens with a hello and
closes with an end message carrying the sent count, each repeated until the
server answers; --raw sends data only, for receivers other than udpperf.
When the peer's port closes during the test (ICMP port unreachable), the
client stops within about 100 ms, prints what it sent and exits 1.

-R (--reverse) has the server send and this client receive; --bidir runs a
test each way at once; -O (--omit) warms up first, as a test of its own whose
figures the totals leave out. -P N (--parallel) runs N streams at once to
ports --port .. --port+N-1 (a server started with the same -P), each its
own socket and sending thread, pinned to the CPUs of -A 0,1,...; --rate is
per stream. iperf3's short flags are listed beside the long
ones below; flags udpperf does not have are refused.

--rate: payload bit/s with an optional k/M/G/T suffix (powers of 1000, as
iperf3 -b): 500M, 2.5G, 1Gbit/s; or datagrams per second: 100kpps. 0 or max =
as fast as possible (the default).

examples:
  udpperf client --host 127.0.0.1
  udpperf -c 127.0.0.1 -u -b 1G -t 5 -l 1472 -J   # iperf3's spelling
  udpperf client --host 10.0.0.2 --jumbo --rate 5G --time 30 --transport gso
  udpperf client --host 127.0.0.1 --size 1024 --rate 100kpps --prbs --json
  udpperf -c 127.0.0.1 -P 2 -A 0,1 -t 5                # two streams, senders on CPUs 0 and 1
  udpperf client --rssi --host 127.0.0.1 --loss 0.01   # Rogue's RSSI + packetizer stack (udpperf client --rssi --help)`

// runClient runs udpperf client: it parses the flags, runs one test (or
// -P parallel ones) and reports it (see clientResult).
func runClient(ctx context.Context, e env, args []string) error {
	if wantsRSSI(args) {
		return runRSSIClient(ctx, e, args)
	}
	cf, err := parseClientFlags(e, args)
	if err != nil {
		return err
	}
	out := newReportOut(e, cf.json, cf.jsonStream)
	p := out.printer()
	cfg := cf.cfg
	p.printf("udpperf client: to %s, transport %s, batch %d, payload %d B, rate %s, %v%s\n",
		netJoin(cfg.Host, cfg.Port), cfg.Transport, cfg.Batch, cfg.Payload, cfg.Rate, cfg.Duration, modeNote(cfg.PRBS, cfg.Reverse, cfg.Bidir))
	if cf.parallel > 1 {
		p.printf("udpperf client: %d streams to ports %d..%d, --rate per stream\n", cf.parallel, cfg.Port, cfg.Port+cf.parallel-1)
		return runParallelClient(ctx, e, out, p, cfg, cf.parallel, cf.affinity)
	}
	cfg.OnInterval = directionLines(p, cfg.Reverse)
	cfg.OnRecord = out.onRecord()
	cfg.OnStart = out.onStart()
	cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	rep, err := bench.Transmit(ctx, cfg)
	return clientResult(out, p, rep, err)
}

// clientFlags is udpperf client's command line, checked.
type clientFlags struct {
	cfg        bench.ClientConfig // without its callbacks and logger
	json       bool
	jsonStream bool
	parallel   int
	affinity   cpuList
}

func parseClientFlags(e env, args []string) (clientFlags, error) {
	var cf clientFlags
	fs := newFlagSet("client", "--host HOST [flags]", clientAbout, e.stdout)
	host := fs.String("host", "", "server host name or address (or give it as the only argument)")
	port := fs.Int("port", bench.DefaultPort, "server UDP port")
	bind := fs.String("bind", "", "local address to send from")
	jumbo := fs.Bool("jumbo", false, "send jumbo datagrams: --size defaults to 8972 (MTU 9000)")
	size := fs.Int("size", 0, "UDP payload per datagram in bytes (default 1472, with --jumbo 8972)")
	r := rateFlag(fs)
	duration := durationFlag(fs, "time", bench.DefaultClientDuration, "how long to send")
	transport := fs.String("transport", "mmsg", "naive (one datagram per syscall), mmsg (sendmmsg batches), gro/gso (UDP GSO) or xdp (AF_XDP on --iface)")
	batch := fs.Int("batch", report.DefaultBatch, "datagrams per send system call")
	prbs := fs.Bool("prbs", false, "send Rogue PRBS frames (32-bit words); the server checks every byte")
	raw := fs.Bool("raw", false, "send data only: no session with a udpperf server (receiver figures unavailable)")
	jsonOut, jsonStream := addJSONFlags(fs)
	interval := durationFlag(fs, "interval", report.DefaultInterval, "time between interval lines")
	fs.Var(&cf.affinity, "affinity", "pin the sending thread to `CPUS`: one CPU, or with -P one per stream, 0,1 (-1 = no pinning)")
	parallel := addParallelFlags(fs, "sending")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds (0 = off)")
	omit := durationFlag(fs, "omit", 0, "warm up this long first: a test of its own whose intervals are marked omitted and left out of the totals")
	reverse := fs.Bool("reverse", false, "the server sends and this client receives (iperf3 -R)")
	bidir := fs.Bool("bidir", false, "send and receive at once: a test each way (iperf3 --bidir)")
	xdp := addXDPFlags(fs)
	acceptUDP(fs)
	aliasAll(fs, iperfNames)
	pos, err := parse(fs, args)
	if err != nil {
		return cf, err
	}
	if *host, err = clientHost(pos, *host); err != nil {
		return cf, err
	}
	cf.cfg = bench.ClientConfig{
		Host: *host, Port: *port, Payload: clientPayload(*size, *jumbo), Batch: *batch, Rate: *r,
		Duration: *duration, PRBS: *prbs, Raw: *raw, BusyPoll: *busyPoll, CPU: cf.affinity.first(),
		Interval: *interval, Omit: *omit, Reverse: *reverse, Bidir: *bidir,
	}
	cf.json, cf.jsonStream, cf.parallel = *jsonOut, *jsonStream, *parallel
	if err := cf.check(fs); err != nil {
		return cf, err
	}
	if cf.cfg.Transport, cf.cfg.XDP, err = xdp.transport(fs, *transport); err != nil {
		return cf, err
	}
	c := cf.cfg
	if err := (report.Case{Transport: c.Transport, Payload: c.Payload, Batch: c.Batch, PRBS: c.PRBS}).ValidateSide(); err != nil {
		return cf, usageError{err.Error()}
	}
	cf.cfg.Bind, err = parseBind(*bind)
	return cf, err
}

// clientHost is the server's host: --host, or the only positional
// argument when --host is not given.
func clientHost(pos []string, host string) (string, error) {
	switch {
	case len(pos) == 1 && host == "":
		host = pos[0]
	case len(pos) > 0:
		return "", usageError{fmt.Sprintf("unexpected argument %q (see udpperf client --help)", pos[0])}
	}
	if host == "" {
		return "", usageError{"--host is required (see udpperf client --help)"}
	}
	return host, nil
}

// clientPayload is the datagram payload: --size, or by default the
// largest that fits a standard (or with --jumbo a jumbo) frame.
func clientPayload(size int, jumbo bool) int {
	switch {
	case size != 0:
		return size
	case jumbo:
		return udp.MaxPayloadJumbo
	}
	return udp.MaxPayloadStandard
}

// check rejects flags out of range, and combinations of the test modes
// (reverse, bidir, raw, omit, parallel) that do not go together.
func (cf clientFlags) check(fs *flag.FlagSet) error {
	c := cf.cfg
	if c.Port < 1 || c.Port > 65535 {
		return usageError{fmt.Sprintf("--port %d outside 1..65535", c.Port)}
	}
	if c.Interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	if err := checkBatchFlag(c.Batch); err != nil {
		return err
	}
	if err := checkReverse(fs, c.Reverse, c.Bidir, c.Raw, c.Omit); err != nil {
		return err
	}
	return checkParallel(cf.parallel, cf.affinity, c.Reverse, c.Bidir, c.Omit > 0)
}

// clientResult prints what a client run has to show: the error alone when
// it failed before sending; otherwise the summaries and the JSON document
// (if asked for), with the reason the run failed (if it did) in both.
func clientResult(out *reportOut, p *printer, rep bench.ClientReport, err error) error {
	if err != nil && !rep.End.SumSent.Sender {
		out.fail(err)
		return err
	}
	return clientResultDoc(out, p, rep, func(r bench.ClientReport) any { return r }, "", err)
}

// clientResultDoc prints the summaries of rep, each line after prefix,
// and writes doc(rep), with rep.Error set to the reason the run failed
// (if it did), as the JSON report.
func clientResultDoc(out *reportOut, p *printer, rep bench.ClientReport, doc func(bench.ClientReport) any, prefix string, err error) error {
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s%s\n", prefix, report.FormatSent(rep.End.SumSent))
	if s := rep.End.SumReceived; s != nil {
		p.printf("%s%s\n", prefix, report.FormatReceived(s.ReceivedSummary))
		if err == nil && s.Packets == 0 && rep.End.SumSent.Packets > 0 {
			err = fmt.Errorf("the server received none of the %d datagrams sent", rep.End.SumSent.Packets)
		}
	}
	if err != nil {
		rep.Error = err.Error()
	}
	if werr := out.end(doc(rep), rep.End); werr != nil && err == nil {
		return werr
	}
	if err != nil {
		return err
	}
	if s := rep.End.SumReceived; s != nil && s.PRBSErrors > 0 {
		return prbsError{fmt.Sprintf("the server found %d datagrams failing the PRBS check: %s", s.PRBSErrors, s.PRBSFirstError)}
	}
	return nil
}

func netJoin(host string, port int) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}
