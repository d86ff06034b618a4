package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/zmq"
)

const bridgeAbout = `
Connects to a Rogue stream bridge server (rogue.interfaces.stream.TcpServer, or
udpperf server --bridge) as its TcpClient, receives the frames it serves from
PORT+1, and prints, per interval, the frames, Gbit/s, frames/s, lost frames
and PRBS errors, and a summary when it stops (SIGINT/SIGTERM, --time or
--idle-exit). A missing server is not an error: the client keeps trying, every
100 ms, as Rogue's does.

Sessions of a udpperf client that reach the bridge through udpperf server
--bridge are followed end to end: loss = what the client sent - what arrived
here. The summary's bridge line counts malformed messages and connections.

examples:
  udpperf bridge --connect tcp://127.0.0.1:9000 --prbs
  udpperf bridge --connect tcp://daq-host:9000 --time 10s --json`

func runBridge(ctx context.Context, e env, args []string) error {
	fs := newFlagSet("bridge", "--connect tcp://HOST:PORT [flags]", bridgeAbout, e.stdout)
	connect := fs.String("connect", "", "the bridge server: tcp://HOST:PORT (frames come from PORT+1)")
	prbs := fs.Bool("prbs", false, "check every frame as a Rogue PRBS frame (sessions opened with client --prbs are checked anyway)")
	jsonOut := fs.Bool("json", false, "print one JSON document on stdout (intervals go to stderr)")
	interval := durationFlag(fs, "interval", report.DefaultInterval, "time between interval lines")
	limit := durationFlag(fs, "time", 0, "stop this long after the first frame, or after start if none arrives (0 = run until interrupted)")
	idle := durationFlag(fs, "idle-exit", 0, "stop when no frame arrived for this long, after the first (0 = never)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *connect == "" {
		return usageError{"--connect tcp://HOST:PORT is required"}
	}
	host, port, err := parseBridgeURL("--connect", *connect, false)
	if err != nil {
		return err
	}
	if *interval <= 0 {
		return usageError{"--interval must be positive"}
	}
	p := newPrinter(e, *jsonOut)
	cfg := bench.BridgeConfig{Host: host, Port: port, Counting: bench.Counting{
		PRBS: *prbs, Interval: *interval, Time: *limit, IdleExit: *idle,
		OnInterval: intervalLines(p, true),
		OnSession: func(s account.SessionSummary) {
			p.printf("%s\n", sessionLines(s))
		},
	}}
	p.printf("udpperf bridge: connecting to %s (PUSH to port %d, PULL from port %d), prbs %v\n", *connect, port, port+1, *prbs)
	rep, err := bench.ServeBridge(ctx, cfg)
	if err != nil {
		if *jsonOut {
			writeJSON(e.stdout, jsonError{err.Error()})
		}
		return err
	}
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n%s\n%s\n", report.FormatReceived(rep.End.SumReceived), formatBridge(rep.Bridge))
	if *jsonOut {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	}
	if n := rep.End.SumReceived.PRBSErrors; n > 0 {
		return prbsError{fmt.Sprintf("%d frames failed the PRBS check: %s", n, rep.End.SumReceived.PRBSFirstError)}
	}
	return nil
}

// parseBridgeURL splits tcp://HOST:PORT. A server may use * for every
// interface; the port must leave room for PORT+1.
func parseBridgeURL(flagName, s string, server bool) (string, int, error) {
	rest, ok := strings.CutPrefix(s, "tcp://")
	host, portStr, err := net.SplitHostPort(rest)
	port, perr := strconv.Atoi(portStr)
	switch {
	case !ok || err != nil || perr != nil:
		return "", 0, usageError{fmt.Sprintf("%s %q: want tcp://HOST:PORT", flagName, s)}
	case port < 1 || port > 65534:
		return "", 0, usageError{fmt.Sprintf("%s %q: port outside 1..65534 (the bridge also uses PORT+1)", flagName, s)}
	case host == "" || (host == "*" && !server):
		return "", 0, usageError{fmt.Sprintf("%s %q: needs a host", flagName, s)}
	}
	return host, port, nil
}

// openTap starts the bridge server of udpperf server --bridge; nil when
// the flag is not given. wait is its send timeout: 0 drops a frame at
// once when no client is connected or the client's socket is full.
func openTap(url string, wait time.Duration) (*zmq.Bridge, error) {
	if url == "" {
		return nil, nil
	}
	host, port, err := parseBridgeURL("--bridge", url, true)
	if err != nil {
		return nil, err
	}
	return zmq.NewTcpServer(host, port, zmq.WithSendTimeout(wait))
}

// formatBridge is the summary line of a bridge's counters.
func formatBridge(s zmq.Stats) string {
	return fmt.Sprintf("bridge   sent %d frames (%d bytes), received %d; dropped: no client %d, timeouts %d, errors %d; malformed %d; connections %d (%d ended, %d refused)",
		s.TxFrames, s.TxBytes, s.RxFrames, s.TxNoPeer, s.TxTimeouts, s.TxErrors, s.RxMalformed, s.Connects, s.Disconnects, s.HandshakeErrors)
}

// withBridge adds the bridge's counters to a server report for --json.
func withBridge(rep bench.ServerReport, tap *zmq.Bridge) any {
	if tap == nil {
		return rep
	}
	return struct {
		bench.ServerReport
		Bridge zmq.Stats `json:"bridge"`
	}{rep, tap.Stats()}
}
