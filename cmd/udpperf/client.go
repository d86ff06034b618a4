package main

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"udpstream.dev/bench"
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

--rate: payload bit/s with an optional k/M/G/T suffix (powers of 1000, as
iperf3 -b): 500M, 2.5G, 1Gbit/s; or datagrams per second: 100kpps. 0 or max =
as fast as possible (the default).

examples:
  udpperf client --host 127.0.0.1
  udpperf client --host 10.0.0.2 --jumbo --rate 5G --time 30 --transport gso
  udpperf client --host 127.0.0.1 --size 1024 --rate 100kpps --prbs --json`

func runClient(ctx context.Context, e env, args []string) error {
	cfg, jsonOut, err := clientConfig(e, args)
	if err != nil {
		return err
	}
	p := newPrinter(e, jsonOut)
	p.printf("udpperf client: to %s, transport %s, batch %d, payload %d B, rate %s, %v%s\n",
		netJoin(cfg.Host, cfg.Port), cfg.Transport, cfg.Batch, cfg.Payload, cfg.Rate, cfg.Duration, map[bool]string{true: ", prbs", false: ""}[cfg.PRBS])
	cfg.OnInterval = intervalLines(p, false)
	rep, err := bench.Transmit(ctx, cfg)
	if err != nil {
		if jsonOut {
			writeJSON(e.stdout, jsonError{err.Error()})
		}
		return err
	}
	return reportClient(e, p, rep, jsonOut)
}

// clientConfig parses and checks the flags of udpperf client; the bool is
// --json.
func clientConfig(e env, args []string) (bench.ClientConfig, bool, error) {
	var cfg bench.ClientConfig
	fs := newFlagSet("client", "--host HOST [flags]", clientAbout, e.stdout)
	host := fs.String("host", "", "server host name or address (or give it as the only argument)")
	port := fs.Int("port", bench.DefaultPort, "server UDP port")
	bind := fs.String("bind", "", "local address to send from")
	jumbo := fs.Bool("jumbo", false, "send jumbo datagrams: --size defaults to 8972 (MTU 9000)")
	size := fs.Int("size", 0, "UDP payload per datagram in bytes (default 1472, with --jumbo 8972)")
	r := rateFlag(fs)
	duration := durationFlag(fs, "time", bench.DefaultClientDuration, "how long to send")
	transport := fs.String("transport", "mmsg", "naive (one datagram per syscall), mmsg (sendmmsg batches), gro/gso (UDP GSO) or xdp (AF_XDP on --iface)")
	batch := fs.Int("batch", bench.DefaultBatch, "datagrams per send system call")
	prbs := fs.Bool("prbs", false, "send Rogue PRBS frames (32-bit words); the server checks every byte")
	raw := fs.Bool("raw", false, "send data only: no session with a udpperf server (receiver figures unavailable)")
	jsonOut := fs.Bool("json", false, "print one JSON document on stdout (intervals go to stderr)")
	interval := durationFlag(fs, "interval", bench.DefaultInterval, "time between interval lines")
	affinity := fs.Int("affinity", -1, "pin the sending thread to this CPU (-1 = no pinning)")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds (0 = off)")
	xdp := addXDPFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return cfg, false, err
	}
	if err := clientHost(host, *port, *interval, pos); err != nil {
		return cfg, false, err
	}
	if err := checkBatchFlag(*batch); err != nil {
		return cfg, false, err
	}
	t, xcfg, err := xdp.transport(fs, *transport)
	if err != nil {
		return cfg, false, err
	}
	payload := *size
	if payload == 0 {
		payload = udp.MaxPayloadStandard
		if *jumbo {
			payload = udp.MaxPayloadJumbo
		}
	}
	cfg = bench.ClientConfig{
		Host: *host, Port: *port, Payload: payload, Transport: t, Batch: *batch, Rate: *r,
		Duration: *duration, PRBS: *prbs, Raw: *raw, BusyPoll: *busyPoll, CPU: *affinity,
		Interval: *interval, XDP: xcfg,
	}
	if err := (bench.Case{Transport: t, Payload: payload, Batch: *batch, PRBS: *prbs}).ValidateSide(); err != nil {
		return cfg, false, usageError{err.Error()}
	}
	cfg.Bind, err = parseBind(*bind)
	return cfg, *jsonOut, err
}

// clientHost takes the host from the only positional argument when --host
// is not given, and checks the host, port and interval.
func clientHost(host *string, port int, interval time.Duration, pos []string) error {
	switch {
	case len(pos) == 1 && *host == "":
		*host = pos[0]
	case len(pos) > 0:
		return usageError{fmt.Sprintf("unexpected argument %q (see udpperf client --help)", pos[0])}
	}
	if *host == "" {
		return usageError{"--host is required (see udpperf client --help)"}
	}
	if port < 1 || port > 65535 {
		return usageError{fmt.Sprintf("--port %d outside 1..65535", port)}
	}
	if interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	return nil
}

// reportClient prints the sender's summary (and the server's, when it
// answered), the JSON document, and fails when the server found PRBS
// errors.
func reportClient(e env, p *printer, rep bench.ClientReport, jsonOut bool) error {
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s\n", bench.FormatSent(rep.End.SumSent))
	if s := rep.End.SumReceived; s != nil {
		p.printf("%s\n", bench.FormatReceived(s.ReceivedSummary))
	}
	if jsonOut {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
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
