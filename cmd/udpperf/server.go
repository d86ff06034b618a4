package main

import (
	"context"
	"fmt"

	"udpstream.dev/bench"
)

const serverAbout = `
Receives datagrams on a UDP port through the engine's Server and prints, per
interval, the datagrams, Gbit/s, datagrams/s, lost datagrams and PRBS errors,
and a summary when it stops (SIGINT/SIGTERM, --time, --idle-exit or --one-off).

A udpperf client opens a session first, so the server knows its sequence
numbers start at 0 and, at the end, how many were sent: loss = sent - received.
Traffic from other senders is counted too (loss unknown, unless --prbs: then
the PRBS sequence word reveals gaps).

examples:
  udpperf server
  udpperf -s -p 5201 -1 -J                          # iperf3's spelling
  udpperf server --port 6000 --jumbo --transport gro --prbs
  udpperf server --time 2s --idle-exit 500ms --json   # stop like the C reference receiver`

func runServer(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("server", "[flags]", serverAbout, e.stdout)
	port := fs.Int("port", bench.DefaultPort, "UDP port to listen on")
	bind := fs.String("bind", "", "local address to listen on (default: all)")
	jumbo := fs.Bool("jumbo", false, "accept jumbo datagrams (payload up to 8972 bytes, MTU 9000)")
	transport := fs.String("transport", "mmsg", "naive (one datagram per syscall), mmsg (batched), gro (UDP GRO; gso is an alias) or xdp (AF_XDP on --iface)")
	batch := fs.Int("batch", bench.DefaultBatch, "messages per receive system call")
	prbs := fs.Bool("prbs", false, "check every datagram as a Rogue PRBS frame (sessions opened with client --prbs are checked anyway)")
	jsonOut, jsonStream := addJSONFlags(fs)
	interval := durationFlag(fs, "interval", bench.DefaultInterval, "time between interval lines")
	limit := durationFlag(fs, "time", 0, "stop this long after the first datagram, or after start if none arrives (0 = run until interrupted)")
	idle := durationFlag(fs, "idle-exit", 0, "stop when no datagram arrived for this long, after the first (0 = never)")
	oneOff := fs.Bool("one-off", false, "stop after one client test ended")
	rxQueue := fs.Int("rx-queue", 0, "decouple delivery through a queue of this depth (0 = deliver on the receive thread)")
	rxBuffer := fs.Int("rx-buffer", bench.DefaultRxBuffer, "receive socket buffer in bytes")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds (0 = off)")
	xdp := addXDPFlags(fs)
	acceptUDP(fs)
	aliasAll(fs, iperfNames)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	t, xcfg, err := xdp.transport(fs, *transport)
	if err != nil {
		return err
	}
	cfg := bench.ServeConfig{
		XDP:  xcfg,
		Port: *port, Jumbo: *jumbo, Transport: t, Batch: *batch, PRBS: *prbs,
		RxQueue: *rxQueue, RxBuffer: *rxBuffer, BusyPoll: *busyPoll,
		Interval: *interval, Time: *limit, IdleExit: *idle, OneOff: *oneOff,
	}
	if cfg.Bind, err = parseBind(*bind); err != nil {
		return err
	}
	if *port < 0 || *port > 65535 {
		return usageError{fmt.Sprintf("--port %d outside 0..65535", *port)}
	}
	if *interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	if err := checkBatchFlag(*batch); err != nil {
		return err
	}
	out := newReportOut(e, *jsonOut, *jsonStream)
	p := out.printer()
	cfg.Ready = func(port int) {
		p.printf("udpperf server: listening on UDP port %d (%s)\n", port, cfg)
	}
	cfg.OnInterval = out.onInterval(intervalLines(p, true))
	cfg.OnStart = out.onStart()
	cfg.OnReverse = reverseLines(p)
	cfg.OnSession = func(s bench.SessionSummary) {
		p.printf("session %s ended: sent %d\n%s\n", s.ID, s.SentPackets, bench.FormatReceived(s.ReceivedSummary))
	}
	rep, err := bench.Serve(ctx, cfg)
	if err != nil {
		out.fail(err)
		return err
	}
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s\n", bench.FormatReceived(rep.End.SumReceived))
	if err := out.end(rep, rep.End); err != nil {
		return err
	}
	if n := rep.End.SumReceived.PRBSErrors; n > 0 {
		return prbsError{fmt.Sprintf("%d datagrams failed the PRBS check: %s", n, rep.End.SumReceived.PRBSFirstError)}
	}
	return nil
}
