package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
	"udpstream.dev/bench/natsrun"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/fileio"
	"udpstream.dev/engine/natsjs"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/zmq"
)

const serverAbout = `
Plain-datagram mode (--raw; without it udpperf server speaks iperf3's
protocol, see udpperf server --help).

Receives datagrams on a UDP port through the engine's Server and prints, per
interval, the datagrams, Gbit/s, datagrams/s, lost datagrams and PRBS errors,
and a summary when it stops (SIGINT/SIGTERM, --time, --idle-exit or --one-off).

A udpperf client opens a session first, so the server knows its sequence
numbers start at 0 and, at the end, how many were sent: loss = sent - received.
Traffic from other senders is counted too (loss unknown, unless --prbs: then
the PRBS sequence word of frames that pass the check reveals gaps, and a
sequence starting again at 0 counts as a restart). A run that received no
usable datagram says what arrived and exits 1.

-P N (--parallel) listens on ports --port .. --port+N-1, a socket and a
receiving goroutine each, for a client run with the same -P, and prints
each stream's lines and their sum.

examples:
  udpperf server --raw
  udpperf -s --raw -p 5201 -1 -J                    # iperf3's spelling
  udpperf -s --raw -P 2 -1                          # two streams: ports 5201 and 5202
  udpperf server --raw --port 6000 --jumbo --transport gro --prbs
  udpperf server --raw --time 2s --idle-exit 500ms --json   # stop like the C reference receiver
  udpperf server --raw --record run.dat --record-max-size 1000000000   # run.dat.1, run.dat.2, ...
  udpperf server --rssi --packetizer v2 --one-off   # Rogue's RSSI + packetizer stack (udpperf server --rssi --help)
  udpperf server --raw --publish nats://10.0.0.3:4222/det   # also into NATS JetStream; udpperf consume reads it back`

func runRawServer(ctx context.Context, e env, args []string) error {
	sf, err := parseServerFlags(e, args)
	if err != nil {
		return err
	}
	taps, err := sf.openTaps(e)
	if err != nil {
		return err
	}
	defer func() { taps.close() }()
	cfg := sf.cfg
	cfg.Taps = taps.slaves()
	stopMetrics, err := sf.metrics.start(e, &cfg)
	if err != nil {
		return err
	}
	defer stopMetrics()
	out := newReportOut(e, sf.json, sf.jsonStream)
	p := out.printer()
	cfg.Ready = func(port int) {
		p.printf("udpperf server: listening on UDP port %d (%s)\n", port, cfg)
		if taps.nats != nil {
			p.printf("udpperf server: publishing every frame to %s\n", *sf.publish.publish)
		}
		if taps.bridge != nil {
			p.printf("udpperf server: serving frames through the bridge %s (PULL port %d, PUSH port %d)\n", sf.bridge, taps.bridge.Port(), taps.bridge.Port()+1)
		}
	}
	if sf.parallel > 1 {
		return runParallelServer(ctx, out, p, cfg, sf.parallel)
	}
	cfg.OnInterval = out.onInterval(intervalLines(p, true))
	cfg.OnStart = out.onStart()
	cfg.OnReverse = reverseLines(p)
	cfg.OnSession = func(s account.SessionSummary) { p.printf("%s\n", sessionLines(s)) }
	rep, err := bench.Serve(ctx, cfg)
	recErr := sf.record.finish(taps.rec, p)
	taps.rec = nil
	pubStats := taps.nats.finish(p)
	if err != nil {
		out.fail(err)
		return err
	}
	return reportServer(out, p, rep, taps.bridge, pubStats, recErr)
}

// serverFlags is udpperf server's command line, checked.
type serverFlags struct {
	cfg        bench.ServeConfig
	json       bool
	jsonStream bool
	record     recordFlags
	bridge     string
	bridgeWait time.Duration
	publish    natsFlags
	parallel   int
	metrics    metricsFlag
}

func parseServerFlags(e env, args []string) (serverFlags, error) {
	var sf serverFlags
	fs := newFlagSet("server", "[flags]", serverAbout, e.stdout)
	port := fs.Int("port", bench.DefaultPort, "UDP port to listen on")
	bind := fs.String("bind", "", "local address to listen on (default: all)")
	jumbo := fs.Bool("jumbo", false, "accept jumbo datagrams (payload up to 8972 bytes, MTU 9000)")
	transport := fs.String("transport", "mmsg", "naive (one datagram per syscall), mmsg (batched), gro (UDP GRO; gso is an alias) or xdp (AF_XDP on --iface)")
	batch := fs.Int("batch", report.DefaultBatch, "messages per receive system call")
	prbs := fs.Bool("prbs", false, "check every datagram as a Rogue PRBS frame (sessions opened with client --prbs are checked anyway)")
	jsonOut, jsonStream := addJSONFlags(fs)
	interval := durationFlag(fs, "interval", report.DefaultInterval, "time between interval lines")
	limit := durationFlag(fs, "time", 0, "stop this long after the first datagram, or after start if none arrives (0 = run until interrupted)")
	idle := durationFlag(fs, "idle-exit", 0, "stop when no datagram arrived for this long, after the first (0 = never)")
	oneOff := fs.Bool("one-off", false, "stop after one client test ended")
	rxQueue := fs.Int("rx-queue", 0, "decouple delivery through a queue of this depth (0 = deliver on the receive thread)")
	rxBuffer := fs.Int("rx-buffer", report.DefaultRxBuffer, "receive socket buffer in bytes")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds (0 = off)")
	lowLat := addLowLatencyFlags(fs, false, "answer pings")
	xdp := addXDPFlags(fs)
	sf.record = addRecordFlags(fs)
	sf.metrics = addMetricsFlag(fs)
	sf.publish = addPublishFlags(fs)
	bridge := fs.String("bridge", "", "also serve every received frame through a Rogue stream bridge server: tcp://ADDR:PORT binds PORT and PORT+1 (ADDR * = all)")
	bridgeWait := durationFlag(fs, "bridge-wait", 0, "how long the bridge waits for a client to take a frame before dropping it (0 = drop at once)")
	parallel := addParallelFlags(fs, "receiving")
	acceptUDP(fs)
	aliasAll(fs, iperfNames)
	if err := parseNoArgs(fs, args); err != nil {
		return sf, err
	}
	sf.parallel = *parallel
	t, xcfg, err := xdp.transport(fs, *transport)
	if err != nil {
		return sf, err
	}
	sf.cfg = bench.ServeConfig{
		XDP:  xcfg,
		Port: *port, Jumbo: *jumbo, Transport: t, Batch: *batch, PRBS: *prbs,
		RxQueue: *rxQueue, RxBuffer: *rxBuffer, BusyPoll: *busyPoll,
		Interval: *interval, Time: *limit, IdleExit: *idle, OneOff: *oneOff,
	}
	ll, err := lowLat.resolve(t != udp.TransportXDP && *rxQueue == 0, "apply to the socket transports without --rx-queue")
	if err != nil {
		return sf, err
	}
	sf.cfg.LowLatency, sf.cfg.Spin = ll.on, ll.spin
	sf.json, sf.jsonStream, sf.bridge, sf.bridgeWait = *jsonOut, *jsonStream, *bridge, *bridgeWait
	if sf.cfg.Bind, err = parseBind(*bind); err != nil {
		return sf, err
	}
	if err := sf.checkPorts(*port, *interval); err != nil {
		return sf, err
	}
	return sf, checkBatchFlag(*batch)
}

// checkPorts checks -P, --port and --interval.
func (sf *serverFlags) checkPorts(port int, interval time.Duration) error {
	if sf.parallel < 1 || sf.parallel > maxParallel {
		return usageError{fmt.Sprintf("-P/--parallel %d outside 1..%d", sf.parallel, maxParallel)}
	}
	if port < 0 || port > 65535 {
		return usageError{fmt.Sprintf("--port %d outside 0..65535", port)}
	}
	if err := sf.checkParallel(port); err != nil {
		return err
	}
	if interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	return nil
}

// serverTaps are what udpperf server hands every received frame besides
// its own receiver: a recording (--record) and a bridge server (--bridge).
type serverTaps struct {
	rec    *fileio.StreamWriter
	bridge *zmq.Bridge
	nats   *natsTap
}

func (sf serverFlags) openTaps(e env) (serverTaps, error) {
	var t serverTaps
	var err error
	if t.rec, err = sf.record.open(e.stderr); err != nil {
		return t, err
	}
	if t.bridge, err = openTap(sf.bridge, sf.bridgeWait); err != nil {
		t.close()
		return t, err
	}
	if t.nats, err = sf.publish.open(e.stderr); err != nil {
		t.close()
		return t, err
	}
	return t, nil
}

func (t serverTaps) slaves() []engine.Slave {
	var s []engine.Slave
	if t.rec != nil {
		s = append(s, t.rec)
	}
	if t.bridge != nil {
		s = append(s, t.bridge)
	}
	if t.nats != nil {
		s = append(s, t.nats.pub)
	}
	return s
}

// close releases whatever is still open; a recording closed here (on an
// early failure) is not reported.
func (t serverTaps) close() {
	if t.rec != nil {
		t.rec.Close()
	}
	if t.bridge != nil {
		t.bridge.Close()
	}
	t.nats.close()
}

// reportServer prints the summary (and JSON) of a finished server run and
// returns the error that decides its exit status.
func reportServer(out *reportOut, p *printer, rep bench.ServerReport, bridge *zmq.Bridge, pub *natsjs.PublisherStats, recErr error) error {
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s\n", report.FormatReceived(rep.End.SumReceived))
	rep.Error = rep.Unusable()
	if bridge != nil {
		bridge.Close()
		p.printf("%s\n", formatBridge(bridge.Stats()))
	}
	if err := out.end(natsrun.WithPublish(withBridge(rep, bridge), pub), rep.End); err != nil {
		return err
	}
	if recErr != nil {
		return recErr
	}
	if rep.Error != "" {
		return errors.New(rep.Error)
	}
	if n := rep.End.SumReceived.PRBSErrors; n > 0 {
		return prbsError{fmt.Sprintf("%d datagrams failed the PRBS check: %s", n, rep.End.SumReceived.PRBSFirstError)}
	}
	return nil
}

// sessionLines describes a session that ended: the client's count, and
// why it was not believed if it was not, then the received figures.
func sessionLines(s account.SessionSummary) string {
	claim := ""
	if s.SentRejected != "" {
		claim = " (not believed: " + s.SentRejected + "; lost counts the sequence gaps)"
	}
	return fmt.Sprintf("session %s ended: sent %d%s\n%s", s.ID, s.SentPackets, claim, report.FormatReceived(s.ReceivedSummary))
}

// checkParallel rejects what a server of several streams cannot do: a
// system-chosen port (the streams need consecutive known ones) and taps,
// which one stream's goroutine at a time must feed.
func (sf serverFlags) checkParallel(port int) error {
	switch {
	case sf.parallel == 1:
		return nil
	case port == 0 || port+sf.parallel-1 > 65535:
		return usageError{fmt.Sprintf("-P/--parallel %d needs ports %d..%d within 1..65535", sf.parallel, port, port+sf.parallel-1)}
	case *sf.record.path != "" || sf.bridge != "" || *sf.publish.publish != "":
		return usageError{"-P/--parallel above 1 does not take --record, --bridge or --publish"}
	}
	return nil
}
