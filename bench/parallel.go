package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/bench/report"
)

// Parallel streams (iperf3 -P). Stream i (numbered from 1, as iperf3's
// sockets) uses port Port+i-1 on both sides: each stream is a socket of
// its own at each end, so the server's figures are the stream's and the
// kernel cannot fold two flows into one socket, which SO_REUSEPORT's
// flow hash may do with a few flows. Each sender runs on its own locked
// OS thread, pinned to its CPU when given.

// ErrParallelMode is returned for what parallel streams do not support.
var ErrParallelMode = errors.New("parallel streams do not support this mode")

// StreamReport is one stream's own account in a parallel test
// ("parallel_streams[]").
type StreamReport struct {
	Socket      int                     `json:"socket"`
	Port        int                     `json:"port"`
	TxCPU       int                     `json:"tx_cpu"`
	SumSent     report.SentSummary      `json:"sum_sent"`
	SumReceived *account.SessionSummary `json:"sum_received,omitempty"`
	Error       string                  `json:"error,omitempty"`
}

// ParallelReport is udpperf client -P's result: the streams summed in
// iperf3's places (intervals[].sum, end.sum, end.sum_sent,
// end.sum_received) with one entry per stream in intervals[].streams and
// end.streams, and each stream's own summaries in parallel_streams.
type ParallelReport struct {
	ClientReport
	Parallel []StreamReport `json:"parallel_streams"`
}

// TransmitParallel runs n tests at once, stream i to cfg.Port+i-1 with its
// sender on CPU cpus[(i-1) % len(cpus)] (not pinned when cpus is empty).
// cfg.OnInterval gets nothing; onStream gets each stream's intervals as
// they come, and cfg.OnRecord each summed record once every running
// stream has reported it. cfg.OnStart gets the summed start section once
// every stream has been welcomed. Reverse, Bidir and Omit are refused.
func TransmitParallel(ctx context.Context, cfg ClientConfig, n int, cpus []int, onStream func(socket int, iv report.Interval)) (ParallelReport, error) {
	if n < 1 {
		return ParallelReport{}, fmt.Errorf("%w: %d streams", ErrParallelMode, n)
	}
	if cfg.Reverse || cfg.Bidir || cfg.Omit > 0 {
		return ParallelReport{}, fmt.Errorf("%w: -R, --bidir and -O", ErrParallelMode)
	}
	if cfg.Port+n-1 > 65535 {
		return ParallelReport{}, fmt.Errorf("%w: ports %d..%d beyond 65535", ErrParallelMode, cfg.Port, cfg.Port+n-1)
	}
	fan := newFanIn(n, cfg.OnRecord, cfg.OnStart, onStream)
	reps := make([]ClientReport, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		sc := streamConfig(cfg, i, cpus)
		sc.OnInterval, sc.OnStart = fan.hooks(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = Transmit(ctx, sc)
			fan.done(i)
		}()
	}
	wg.Wait()
	return mergeClientReports(cfg, reps, errs), errors.Join(streamErrors(errs)...)
}

// streamConfig is stream i's (from 0) share of cfg.
func streamConfig(cfg ClientConfig, i int, cpus []int) ClientConfig {
	sc := cfg
	sc.Port = cfg.Port + i
	sc.CPU = -1
	if len(cpus) > 0 {
		sc.CPU = cpus[i%len(cpus)]
	}
	sc.OnRecord = nil
	return sc
}

// streamErrors names the stream of each error.
func streamErrors(errs []error) []error {
	var out []error
	for i, err := range errs {
		if err != nil {
			out = append(out, fmt.Errorf("stream %d: %w", i+1, err))
		}
	}
	return out
}

// fanIn gathers what the streams of a parallel test report as they go:
// each stream's intervals to onStream, and once every running stream has
// reported, the summed record (aligner) and start section (startGate).
type fanIn struct {
	al       *aligner
	starts   *startGate
	onStream func(socket int, iv report.Interval)
}

func newFanIn(n int, onRecord func(report.IntervalRecord), onStart func(report.Start), onStream func(int, report.Interval)) *fanIn {
	return &fanIn{al: newAligner(n, onRecord), starts: newStartGate(n, onStart), onStream: onStream}
}

// hooks are stream i's OnInterval and OnStart.
func (f *fanIn) hooks(i int) (func(report.Interval), func(report.Start)) {
	onInterval := func(iv report.Interval) {
		if f.onStream != nil {
			f.onStream(i+1, iv)
		}
		f.al.add(i, iv)
	}
	return onInterval, func(st report.Start) { f.starts.add(i, st) }
}

// done marks stream i ended, so records no longer wait for it.
func (f *fanIn) done(i int) { f.al.done(i) }

// startGate calls on with the summed start sections once all n streams
// have started.
type startGate struct {
	mu     sync.Mutex
	starts []report.Start
	seen   int
	on     func(report.Start)
}

func newStartGate(n int, on func(report.Start)) *startGate {
	return &startGate{starts: make([]report.Start, n), on: on}
}

func (g *startGate) add(i int, st report.Start) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.starts[i] = st
	g.seen++
	if g.seen == len(g.starts) && g.on != nil {
		g.on(mergeStarts(g.starts))
	}
}

// mergeStarts is the start section of a parallel test: the first
// stream's, listing every stream's socket.
func mergeStarts(starts []report.Start) report.Start {
	st := starts[0]
	st.Connected = nil
	for i, s := range starts {
		for _, c := range s.Connected {
			c.Socket = i + 1
			st.Connected = append(st.Connected, c)
		}
	}
	st.TestStart.NumStreams = len(starts)
	st.Test.Network = fmt.Sprintf("%s (%d streams, ports %d..)", st.Test.Network, len(starts), portOf(st))
	return st
}

func portOf(st report.Start) int {
	if len(st.Connected) > 0 {
		return st.Connected[0].RemotePort
	}
	return 0
}

// aligner gathers the streams' k-th intervals and passes on their record
// once every stream still running has delivered its k-th.
type aligner struct {
	mu      sync.Mutex
	pending [][]report.Interval // per stream, intervals not yet emitted
	running []bool
	on      func(report.IntervalRecord)
}

func newAligner(n int, on func(report.IntervalRecord)) *aligner {
	a := &aligner{pending: make([][]report.Interval, n), running: make([]bool, n), on: on}
	for i := range a.running {
		a.running[i] = true
	}
	return a
}

func (a *aligner) add(i int, iv report.Interval) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending[i] = append(a.pending[i], iv)
	a.flush()
}

// done marks stream i finished: records no longer wait for it.
func (a *aligner) done(i int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running[i] = false
	a.flush()
}

// flush emits every record whose intervals are all in; a finished
// stream with none left is left out of the record.
func (a *aligner) flush() {
	for {
		var ivs []report.StreamInterval
		for i, p := range a.pending {
			switch {
			case len(p) > 0:
				ivs = append(ivs, report.StreamInterval{Socket: i + 1, Interval: p[0]})
			case a.running[i]:
				return
			}
		}
		if len(ivs) == 0 {
			return
		}
		for i := range a.pending {
			if len(a.pending[i]) > 0 {
				a.pending[i] = a.pending[i][1:]
			}
		}
		if a.on != nil {
			a.on(streamRecord(ivs))
		}
	}
}

// streamRecord is an intervals[] entry of several streams and their sum.
func streamRecord(ivs []report.StreamInterval) report.IntervalRecord {
	parts := make([]report.Interval, len(ivs))
	for i, s := range ivs {
		parts[i] = s.Interval
	}
	return report.IntervalRecord{Streams: ivs, Sum: SumIntervals(parts)}
}

// SumIntervals adds up the streams' intervals of the same index: counts
// and rates are summed (each over its own stream's span), the span is
// the widest, the jitter is the streams' mean (as iperf3's sum).
func SumIntervals(ivs []report.Interval) report.Interval {
	if len(ivs) == 0 {
		return report.Interval{}
	}
	s := report.Interval{Start: ivs[0].Start, End: ivs[0].End, Sender: ivs[0].Sender}
	for _, iv := range ivs {
		s.Start, s.End = min(s.Start, iv.Start), max(s.End, iv.End)
		s.Seconds = max(s.Seconds, iv.Seconds)
		s.AddCounts(iv)
		s.BitsPerSecond += iv.BitsPerSecond
		s.DatagramsPerSecond += iv.DatagramsPerSecond
		s.JitterMs += iv.JitterMs / float64(len(ivs))
	}
	s.LostPercent = seqtrack.Percent(s.LostPackets, s.LostPackets+s.Packets)
	return s
}
