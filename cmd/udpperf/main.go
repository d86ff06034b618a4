// Command udpperf measures UDP throughput, datagram rate, loss, PRBS
// integrity, CPU cost and latency through the udpstream engine, in the
// manner of iperf3 and sockperf.
//
//	udpperf server  [flags]            serve iperf3's protocol (iperf3 -s); --raw: plain datagrams
//	udpperf client  --host H [flags]   test against a udpperf or iperf3 server (iperf3 -c); --raw: plain
//	udpperf bench   [flags]            sweep transports x payloads x batches in one process
//	udpperf ndr     [flags]            search the highest rate received without loss
//	udpperf latency [flags]            ping-pong round-trip latency per transport
//	udpperf file    FILE [flags]       summarise a Rogue data file (server --record)
//	udpperf bridge  --connect tcp://H:P receive from a Rogue stream bridge server
//	udpperf srp     --host H read|write|dump|bench   SRPv3 register access
//	udpperf consume nats://H:P/PREFIX  read frames back from NATS JetStream
//	udpperf version
//	udpperf -s [flags], udpperf -c HOST [flags]   iperf3's form of server and client
//
// Every subcommand takes --help. With --json, one JSON document goes to
// standard output and progress to standard error.
//
// Exit status: 0 success; 1 the run failed (socket, permission, no
// server, the peer went away, nothing usable received); 2 bad command
// line; 3 the data failed its PRBS check.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitPRBS  = 3
)

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

// Error is the message printed after "udpperf <command>: ".
func (e usageError) Error() string { return e.msg }

// prbsError marks a run whose data failed the PRBS check (exit status 3).
type prbsError struct{ msg string }

// Error is the message printed after "udpperf <command>: ".
func (e prbsError) Error() string { return e.msg }

// env is what a subcommand talks to: its output streams and arguments.
type env struct {
	stdout, stderr io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

var commands = []command{
	{"server", "serve iperf3 and udpperf clients with iperf3's protocol (iperf3 -s); --raw: plain datagrams", runServer},
	{"client", "run a test against a udpperf or iperf3 server (iperf3 -c); --raw: plain datagrams", runClient},
	{"bench", "sweep transports x payloads x batch sizes on loopback or a veth pair", runBench},
	{"ndr", "search the no-drop rate (RFC 2544 throughput) per transport and payload", runNDR},
	{"latency", "ping-pong round-trip latency percentiles per transport", runLatency},
	{"file", "read a Rogue data file (udpperf server --record) and summarise it", runFile},
	{"bridge", "receive frames from a Rogue stream bridge server (TcpClient), report like server", runBridge},
	{"srp", "read, write and benchmark SRPv3 registers (server --srp-emulate is the device)", runSRP},
	{"consume", "read frames back from NATS JetStream (server --publish), report like server", runConsume},
	{"version", "print the version of udpperf and of the Go toolchain", runVersion},
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs udpperf with args and returns the exit status.
func realMain(args []string, stdout, stderr io.Writer) int {
	e := env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		topUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		topUsage(stdout)
		return exitOK
	}
	if cmd, rest, ok, err := iperfForm(args); ok {
		if err != nil {
			return exitStatus(e, "udpperf", err)
		}
		name, args = cmd, append([]string{cmd}, rest...)
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			// After the first signal the run winds down and reports; a
			// second one ends the process at once.
			<-ctx.Done()
			stop()
		}()
		err := c.run(ctx, e, args[1:])
		stop()
		return exitStatus(e, "udpperf "+name, err)
	}
	fmt.Fprintf(stderr, "udpperf: unknown command %q (want server, client, bench, ndr, latency, file, bridge, consume, srp or version; see udpperf --help)\n", name)
	return exitUsage
}

// exitStatus prints err as one line and maps it to an exit status.
func exitStatus(e env, prefix string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", prefix, oneLine(err.Error()))
	var ue usageError
	var pe prbsError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &pe):
		return exitPRBS
	}
	return exitError
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "udpperf measures UDP throughput, datagram rate, loss, PRBS integrity, CPU cost and latency")
	fmt.Fprintln(w, "through the udpstream engine.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: udpperf <command> [flags]")
	fmt.Fprintln(w, "       udpperf -s [flags]        (iperf3's form of udpperf server)")
	fmt.Fprintln(w, "       udpperf -c HOST [flags]   (iperf3's form of udpperf client)")
	fmt.Fprintln(w, "       udpperf -v | --version")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `udpperf <command> --help` for the flags of a command.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 run failed, 2 bad command line, 3 PRBS check failed.")
}
