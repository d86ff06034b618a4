package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
)

// Parallel streams (-P N): stream i uses port --port+i-1 on both sides,
// see bench.TransmitParallel.

// maxParallel bounds -P: each stream is a socket and a thread at each end.
const maxParallel = 128

// cpuList is -A/--affinity: one CPU, or a comma-separated list with one
// CPU per stream (reused in turn when shorter); -1 or empty pins nothing.
type cpuList []int

func (l *cpuList) String() string {
	if l == nil || len(*l) == 0 {
		return "-1"
	}
	s := make([]string, len(*l))
	for i, c := range *l {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

func (l *cpuList) Set(v string) error {
	*l = nil
	if v == "" || v == "-1" {
		return nil
	}
	for _, f := range strings.Split(v, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 0 {
			return fmt.Errorf("%q is not a CPU number (want N or N,M,...)", f)
		}
		if c >= runtime.NumCPU() {
			return fmt.Errorf("CPU %d: this machine has CPUs 0..%d", c, runtime.NumCPU()-1)
		}
		*l = append(*l, c)
	}
	return nil
}

// first is the CPU of a one-stream test, -1 for none.
func (l cpuList) first() int {
	if len(l) == 0 {
		return -1
	}
	return l[0]
}

// addParallelFlags defines -P/--parallel.
func addParallelFlags(fs *flag.FlagSet, side string) *int {
	return fs.Int("parallel", 1, "run this many streams at once, stream i on port --port+i-1, each its own socket and "+side+" thread")
}

// checkParallel rejects what -P cannot do with the other flags.
func checkParallel(n int, cpus cpuList, reverse, bidir bool, omit bool) error {
	switch {
	case n < 1 || n > maxParallel:
		return usageError{fmt.Sprintf("-P/--parallel %d outside 1..%d", n, maxParallel)}
	case len(cpus) > n:
		return usageError{fmt.Sprintf("-A/--affinity lists %d CPUs for %d streams: give at most one per stream (iperf3's N,M form, the server's CPU too, is not taken)", len(cpus), n)}
	case n == 1:
		return nil
	case reverse || bidir:
		return usageError{"-P/--parallel above 1 does not take -R/--reverse or --bidir: run one reverse test per port instead"}
	case omit:
		return usageError{"-P/--parallel above 1 does not take -O/--omit"}
	}
	return nil
}

// streamLines returns the per-stream OnInterval callback of a parallel
// run: iperf3's "[  1]" prefix, the stream's socket number.
func streamLines(p *printer, receiver bool) func(int, report.Interval) {
	header := onceHeader(p, receiver)
	return func(socket int, iv report.Interval) {
		header()
		p.printf("[%3d] %s\n", socket, report.FormatInterval(iv, receiver))
	}
}

// sumLines returns the summed-record callback of a parallel run: a
// "[SUM]" line, and the interval event when streaming JSON.
func sumLines(out *reportOut, p *printer, receiver bool) func(report.IntervalRecord) {
	return func(rec report.IntervalRecord) {
		p.printf("[SUM] %s\n", report.FormatInterval(rec.Sum, receiver))
		if out.stream {
			out.event("interval", rec)
		}
	}
}

// onceHeader returns a function that prints the interval header the first
// time any stream calls it; the streams call it from their own goroutines.
func onceHeader(p *printer, receiver bool) func() {
	var once sync.Once
	return func() {
		once.Do(func() { p.printf("[ ID] %s\n", report.IntervalHeader(receiver)) })
	}
}

// runParallelClient runs a client test of n streams and reports it.
func runParallelClient(ctx context.Context, e env, out *reportOut, p *printer, cfg bench.ClientConfig, n int, cpus cpuList) error {
	cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	cfg.OnInterval = nil
	cfg.OnRecord = sumLines(out, p, false)
	cfg.OnStart = out.onStart()
	rep, err := bench.TransmitParallel(ctx, cfg, n, cpus, streamLines(p, false))
	if err != nil && rep.End.SumSent.Packets == 0 {
		out.fail(err)
		return err
	}
	for _, s := range rep.Parallel {
		p.printf("[%3d] port %d %s\n", s.Socket, s.Port, report.FormatSent(s.SumSent))
		if r := s.SumReceived; r != nil {
			p.printf("[%3d] port %d %s\n", s.Socket, s.Port, report.FormatReceived(r.ReceivedSummary))
		}
	}
	doc := func(r bench.ClientReport) any {
		d := rep
		d.ClientReport = r
		return d
	}
	return clientResultDoc(out, p, rep.ClientReport, doc, "[SUM] ", err)
}

// runParallelServer serves n streams on consecutive ports and reports
// them summed.
func runParallelServer(ctx context.Context, out *reportOut, p *printer, cfg bench.ServeConfig, n int) error {
	cfg.OnInterval = nil
	cfg.OnStart = out.onStart()
	cfg.OnSession = func(s account.SessionSummary) { p.printf("%s\n", sessionLines(s)) }
	rep, err := bench.ServeParallel(ctx, cfg, n, streamLines(p, true), sumLines(out, p, true))
	if err != nil {
		out.fail(err)
		return err
	}
	for _, s := range rep.End.Streams {
		u := s.UDP
		p.printf("[%3d] port %d: %d datagrams received, %d lost\n", u.Socket, cfg.Port+u.Socket-1, u.Packets-u.LostPackets, u.LostPackets)
	}
	return reportServer(out, p, rep, nil, nil, nil)
}
