package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/iperf3"
)

// udpperf server and client speak iperf3's own protocol by default
// (bench/iperf3), so a real iperf3 works at either end; --raw selects the
// plain-datagram mode (server.go, client.go), what Rogue and firmware send.

const iperfServerAbout = `
Serves iperf3's protocol: a real iperf3 client (iperf3 -c HOST -u ...) or a
udpperf client runs its test against this server, which prints each test's
intervals (from 0 per test) and final lines, or one JSON document per test
with -J. The client decides -P, -R, --bidir, -l (16..65507, no --jumbo
needed), -b, -t and --udp-counters-64bit; several clients are served at once
(--max-clients), each with its own streams, ports and report. A TCP test
request gets iperf3's own error answer. Every datagram that reaches the data
port is counted: data, control, foreign, malformed, outside a test,
truncated, and the kernel's drops beside them.

--raw serves plain datagrams instead (no control connection), as before:
see udpperf server --raw --help.

examples:
  udpperf -s                                 # then: iperf3 -c HOST -u -b 0 -l 1472
  udpperf server -p 5201 -1 -J
  udpperf server --max-clients 16 --allow 10.0.0.0/8,127.0.0.1`

// runIperfServer is udpperf server without --raw.
func runIperfServer(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("server", "[flags]", iperfServerAbout, e.stdout)
	port := fs.Int("port", bench.DefaultPort, "TCP control port and UDP data port")
	bind := fs.String("bind", "", "local address to listen on (default: all)")
	oneOff := fs.Bool("one-off", false, "stop after one test")
	jsonOut := fs.Bool("json", false, "print one JSON document per test")
	interval := durationFlag(fs, "interval", time.Second, "time between interval lines")
	maxClients := fs.Int("max-clients", 8, "tests served at once; beyond, a client gets iperf3's busy answer")
	allow := fs.String("allow", "", "serve only these client addresses or prefixes, comma-separated (default: all)")
	ctlTimeout := durationFlag(fs, "control-timeout", 10*time.Second, "deadline of every control read outside a test")
	rxBuffer := fs.Int("rx-buffer", iperf3.DefaultRxBuffer, "data socket receive buffer in bytes")
	transport := fs.String("transport", "gro", "gro (UDP GRO receives) or mmsg (recvmmsg batches)")
	fs.Bool("jumbo", false, "accepted for compatibility: the client's -l sets the size")
	fs.Bool("raw", false, "serve plain datagrams without iperf3's control connection (see --raw --help)")
	acceptUDP(fs)
	aliasAll(fs, iperfNames)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg := iperf3.ServerConfig{Port: *port, MaxClients: *maxClients, ControlTimeout: *ctlTimeout, Interval: *interval, RxBuffer: *rxBuffer}
	var err error
	if cfg.Bind, err = parseBind(*bind); err != nil {
		return err
	}
	if cfg.Allow, err = parsePrefixes(*allow); err != nil {
		return err
	}
	switch *transport {
	case "gro", "gso":
	case "mmsg":
		cfg.NoGRO = true
	default:
		return usageError{fmt.Sprintf("--transport %q: the iperf3 server takes gro or mmsg (others need --raw)", *transport)}
	}
	if *maxClients < 1 || *interval <= 0 || *ctlTimeout <= 0 || *rxBuffer <= 0 {
		return usageError{"--max-clients, --interval, --control-timeout and --rx-buffer must be positive"}
	}
	return iperf3.Serve(ctx, iperf3.ServeOptions{Config: cfg, OneOff: *oneOff, JSON: *jsonOut, Out: e.stdout,
		Ready: func(p int) {
			fmt.Fprintf(e.stderr, "udpperf server: listening on UDP port %d (data) and TCP port %d (control), iperf3 protocol\n", p, p)
		}})
}

// parsePrefixes reads --allow: addresses or prefixes, comma-separated.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, usageError{fmt.Sprintf("--allow %q is neither an address nor a prefix", f)}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

const iperfClientAbout = `
Runs one test with iperf3's protocol against a udpperf server or a real
iperf3 server (iperf3 -s), and prints iperf3's lines: intervals, then per
stream the sender's and the receiver's figures (Jitter, Lost/Total), [SUM]
lines with -P, [TX-C]/[RX-C] roles and both directions' totals with --bidir.
-J prints iperf3's JSON document (its paths and meanings) plus a "udpperf"
object with the receivers' own counts. Against a udpperf server the results
carry its per-stream received, out-of-order, malformed and outside-the-test
counts and its kernel drops; an iperf3 server ignores what it does not know.

-t 0 runs until interrupted (SIGINT), then ends the test normally.
--transport gso (the default) sends batches through UDP GSO.

--raw sends plain datagrams instead (no control connection; see
udpperf client --raw --help).

examples:
  udpperf -c 127.0.0.1 -u -b 0 -l 1472 -t 3
  udpperf -c 127.0.0.1 -P 4 -R -J --get-server-output
  udpperf client --host 10.0.0.2 --bidir -b 1G -t 10`

// runIperfClient is udpperf client without --raw.
func runIperfClient(ctx context.Context, e env, args []string) error {
	cfg, jsonOut, err := parseIperfClientFlags(e, args)
	if err != nil {
		return err
	}
	// The test's own timer ends it (-t 0: the signal does); a signal ends
	// it early either way, with results exchanged.
	_, err = iperf3.RunAndPrint(ctx, iperf3.RunOptions{Config: cfg, JSON: jsonOut, Out: e.stdout, Version: "udpperf"})
	return err
}

func parseIperfClientFlags(e env, args []string) (iperf3.ClientConfig, bool, error) {
	var cfg iperf3.ClientConfig
	fs := newFlagSet("client", "--host HOST [flags]", iperfClientAbout, e.stdout)
	host := fs.String("host", "", "server host name or address (or give it as the only argument)")
	port := fs.Int("port", bench.DefaultPort, "server port")
	jumbo := fs.Bool("jumbo", false, "--size defaults to 8972 (MTU 9000)")
	size := fs.Int("size", 0, "UDP payload per datagram, 16..65507 (default 1472, with --jumbo 8972)")
	r := rateFlag(fs)
	duration := durationFlag(fs, "time", 10*time.Second, "test length (0 = until interrupted)")
	parallel := fs.Int("parallel", 1, "streams per direction, 1..128")
	reverse := fs.Bool("reverse", false, "the server sends (iperf3 -R)")
	bidir := fs.Bool("bidir", false, "both send at once")
	c64 := fs.Bool("udp-counters-64bit", false, "64-bit datagram counters")
	gso := fs.Bool("get-server-output", false, "print the server's own output of the test")
	jsonOut := fs.Bool("json", false, "print iperf3's JSON document")
	interval := durationFlag(fs, "interval", time.Second, "time between interval lines")
	transport := fs.String("transport", "gso", "gso (UDP GSO batches) or mmsg (sendmmsg batches) on each stream's socket, or engine-gso / engine-mmsg through the engine's udp.Client (up to 8972 bytes)")
	prbs := fs.Bool("prbs", false, "PRBS payloads both ways, checked by udpperf receivers (prbs_errors; an iperf3 server ignores them)")
	title := fs.String("title", "", "iperf3's --title, passed to the server")
	var cpus cpuList
	fs.Var(&cpus, "affinity", "pin the sending streams to `CPUS`: one CPU, or one per stream (0,1); -1 = none")
	fs.Bool("raw", false, "send plain datagrams without iperf3's control connection (see --raw --help)")
	acceptUDP(fs)
	aliasAll(fs, iperfNames)
	alias(fs, "T", "title")
	pos, err := parse(fs, args)
	if err != nil {
		return cfg, false, err
	}
	if *host, err = clientHost(pos, *host); err != nil {
		return cfg, false, err
	}
	if isSet(fs, "size") && (*size < iperf3.MinLen || *size > iperf3.MaxLen) {
		return cfg, false, usageError{fmt.Sprintf("-l/--size %d outside %d..%d", *size, iperf3.MinLen, iperf3.MaxLen)}
	}
	payload := clientPayload(*size, *jumbo)
	cfg = iperf3.ClientConfig{Host: *host, Port: *port, Len: payload, Time: *duration, Parallel: *parallel,
		Reverse: *reverse, Bidir: *bidir, Counters64: *c64, GetServerOutput: *gso, Interval: *interval,
		Title: *title, Udpperf: true, GRO: true, CPUs: cpus, PRBS: *prbs}
	if !r.Unlimited() {
		cfg.Bandwidth = r.PerSecond(payload) * float64(payload) * 8
	}
	switch *transport {
	case "gso", "gro":
		cfg.GSO = true
	case "mmsg":
	case "engine-gso", "engine":
		cfg.GSO, cfg.Engine = true, true
	case "engine-mmsg":
		cfg.Engine = true
	default:
		return cfg, false, usageError{fmt.Sprintf("--transport %q: the iperf3 client takes gso, mmsg, engine-gso or engine-mmsg (others need --raw)", *transport)}
	}
	return cfg, *jsonOut, checkIperfClient(cfg)
}

// checkIperfClient turns the package's configuration errors into usage
// errors (exit 2).
func checkIperfClient(cfg iperf3.ClientConfig) error {
	switch {
	case cfg.Port < 1 || cfg.Port > 65535:
		return usageError{fmt.Sprintf("--port %d outside 1..65535", cfg.Port)}
	case cfg.Parallel < 1 || cfg.Parallel > iperf3.MaxParallel:
		return usageError{fmt.Sprintf("-P/--parallel %d outside 1..%d", cfg.Parallel, iperf3.MaxParallel)}
	case cfg.Reverse && cfg.Bidir:
		return usageError{"-R/--reverse and --bidir exclude each other"}
	case cfg.Time < 0 || cfg.Time > iperf3.MaxTime*time.Second:
		return usageError{fmt.Sprintf("-t/--time %v outside 0..%ds", cfg.Time, iperf3.MaxTime)}
	case cfg.Interval <= 0:
		return usageError{"--interval must be positive"}
	}
	return nil
}

// rawMode reports whether args ask for the plain-datagram mode.
func rawMode(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isFlag(a, "raw") || a == "--raw=true" || a == "-raw=true" {
			return true
		}
	}
	return false
}

// withoutRaw drops --raw from args (the plain-datagram server has no such flag).
func withoutRaw(args []string) []string {
	var out []string
	for _, a := range args {
		if !isFlag(a, "raw") && !strings.HasPrefix(a, "--raw=") && !strings.HasPrefix(a, "-raw=") {
			out = append(out, a)
		}
	}
	return out
}

// runServer is udpperf server: iperf3's protocol, or with --raw plain
// datagrams, with --rssi Rogue's RSSI stack, or with --srp-emulate a
// memory-backed SRPv3 device.
func runServer(ctx context.Context, e env, args []string) error {
	if wantsSRPEmulate(args) {
		return runSRPServer(ctx, e, args)
	}
	if wantsRSSI(args) {
		return runRSSIServer(ctx, e, args)
	}
	if rawMode(args) {
		return runRawServer(ctx, e, withoutRaw(args))
	}
	return runIperfServer(ctx, e, args)
}

// runClient is udpperf client: iperf3's protocol, or with --raw plain
// datagrams (with udpperf's in-band session unless --no-session), or with
// --rssi Rogue's RSSI stack.
func runClient(ctx context.Context, e env, args []string) error {
	if wantsRSSI(args) {
		return runRSSIClient(ctx, e, args)
	}
	if rawMode(args) {
		return runRawClient(ctx, e, withoutRaw(args))
	}
	return runIperfClient(ctx, e, args)
}
