package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// DefaultPort is udpperf's default UDP port (iperf3's 5201, on UDP).
const DefaultPort = 5201

// ServeConfig configures Serve: the receiving half of a test, run as its
// own program (udpperf server).
type ServeConfig struct {
	// Port to listen on (0: the system chooses; see Ready).
	Port int
	// Jumbo accepts datagrams up to 8972 bytes instead of 1472.
	Jumbo     bool
	Transport udp.Transport
	// Batch is messages per system call (default 64).
	Batch int
	// PRBS checks every data datagram as a Rogue PRBS frame, also from
	// senders that do not open a session (a Rogue PRBS generator, say).
	// Sessions opened by `udpperf client --prbs` are checked regardless.
	PRBS bool
	// RxQueue is the delivery queue depth (udp.WithRxQueue); 0 delivers
	// on the receive goroutine.
	RxQueue int
	// LowLatency receives with udp.WithLowLatencySpin(Spin) (a thread
	// that sleeps in the kernel and answers pings inline), and keeps
	// GOMAXPROCS one above the process's low-latency sockets while it
	// serves.
	LowLatency bool
	Spin       time.Duration
	// RxBuffer is the receive socket buffer in bytes (default 64 MiB).
	RxBuffer int
	// Bind is the local address (default: every address).
	Bind     netip.Addr
	BusyPoll int
	// XDP names the interface and queue of the xdp transport.
	XDP report.XDP
	// Interval, with OnInterval, reports progress; intervals without
	// traffic are not reported.
	Interval   time.Duration
	OnInterval func(report.Interval)
	// OnSession is called when a client's test ends.
	OnSession func(account.SessionSummary)
	// Time stops the server this long after the first data datagram, or
	// this long after it started when none arrives (0: no limit).
	Time time.Duration
	// IdleExit stops the server once no data datagram has arrived for
	// this long, after the first one (0: never). With Time this is the
	// C reference receiver's rule.
	IdleExit time.Duration
	// OneOff stops the server after the first session ends.
	OneOff bool
	// Ready, if set, is called with the bound port once the server
	// listens; OnStart then with the report's start section.
	Ready   func(port int)
	OnStart func(report.Start)
	// OnReverse is called when a reverse test (client -R) ends.
	OnReverse func(ReverseSummary)
	// OnServer, if set, is called with each server Serve opens, before
	// any datagram is counted; the server is closed when Serve returns
	// (its Stats stay readable). udpperf server --metrics exports them.
	OnServer func(*udp.Server)
	// Taps, if any, are attached to the server beside the receiver and get
	// every datagram the server delivers (udpperf client's session
	// messages included), before the receiver, on the delivering
	// goroutine. The server is closed when Serve returns: Taps get no
	// frame after that. udpperf server --record attaches a file writer,
	// --bridge a bridge server.
	Taps []engine.Slave
	// Logger receives the server's warnings; nil means slog.Default()
	// (the engine itself logs nothing unless given a logger).
	Logger *slog.Logger
}

// ServerReport is udpperf server's result.
type ServerReport struct {
	Start     report.Start            `json:"start"`
	Intervals []report.IntervalRecord `json:"intervals"`
	End       ServerEnd               `json:"end"`
	// Error says why the run counts as failed (see Unusable), if it does.
	Error string `json:"error,omitempty"`
}

// ServerEnd is the "end" section of a server report.
type ServerEnd struct {
	// SumReceived covers everything received while the server ran; its
	// CPU figures are the whole process's.
	SumReceived report.ReceivedSummary `json:"sum_received"`
	// Sessions lists each client test that ended, as reported to its
	// client.
	Sessions []account.SessionSummary `json:"sessions"`
	// PingsEchoed counts latency pings answered.
	PingsEchoed uint64            `json:"pings_echoed"`
	Process     report.ProcessCPU `json:"process_cpu"`
	// Sum, Streams, SumSent (nothing: a server sends no data) and CPU are
	// iperf3's summary of what the server received.
	// Reverse lists the reverse tests (client -R): what this server sent
	// and what each client received.
	Reverse []ReverseSummary   `json:"reverse_sessions"`
	Sum     report.UDPSum      `json:"sum"`
	Streams []report.EndStream `json:"streams"`
	SumSent report.SentSummary `json:"sum_sent"`
	CPU     report.HostCPU     `json:"cpu_utilization_percent"`
}

// Unusable says why a server run yielded nothing to report, or returns ""
// when it received a data datagram, closed a session, served a reverse
// test or echoed a ping. The reason names what did arrive and why it was dropped.
func (r ServerReport) Unusable() string {
	e := r.End
	v := e.SumReceived
	if v.Packets > 0 || len(e.Sessions) > 0 || len(e.Reverse) > 0 || e.PingsEchoed > 0 {
		return ""
	}
	var drops []string
	add := func(n uint64, what string) {
		if n > 0 {
			drops = append(drops, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(v.Oversize, fmt.Sprintf("oversize (larger than this server's %d-byte maximum; --jumbo?)", r.Start.Test.Payload))
	add(v.Invalid, "invalid")
	add(v.PoolExhausted, "dropped with every receive buffer in use")
	add(v.KernelDrops, "dropped by the kernel")
	add(v.RingDrops, "dropped by the receive queue")
	if len(drops) == 0 {
		return "no datagram received"
	}
	return "no usable datagram received: " + strings.Join(drops, ", ")
}

// sessionLinger is how long a one-off server keeps answering after its
// session ended, in case the result was lost and the client asks again.
const sessionLinger = 300 * time.Millisecond

// Serve receives until ctx ends or one of the stop conditions of cfg
// holds, and returns what it received. Errors are those of opening the
// socket (port in use, bad address, bad option).
func Serve(ctx context.Context, cfg ServeConfig) (ServerReport, error) {
	cfg = cfg.withDefaults()
	var rep ServerReport
	if err := report.CheckTransport(cfg.Transport); err != nil {
		return rep, err
	}
	if cfg.Transport == udp.TransportXDP && cfg.XDP.Iface == "" {
		return rep, report.ErrXDPNeedsInterface
	}
	rep.Start = cfg.start()
	if cfg.LowLatency {
		defer reserveProcs(1)()
	}
	server, recv, err := openServer(cfg)
	if err != nil {
		return rep, err
	}
	defer server.Close()
	if cfg.OnServer != nil {
		cfg.OnServer(server)
	}
	r := &serveRun{cfg: cfg, server: server, recv: recv, rev: newReverseRunner(server, recv, cfg), rep: &rep}
	engine.Connect(server, recv)
	for _, t := range cfg.Taps {
		engine.Connect(server, t)
	}
	if cfg.Ready != nil {
		cfg.Ready(server.Port())
	}
	report.FillIperfStart(&rep.Start, 0, report.ConnectionOf(netip.AddrPortFrom(cfg.Bind, uint16(server.Port())), netip.AddrPort{}))
	if cfg.OnStart != nil {
		cfg.OnStart(rep.Start)
	}
	procStart, _ := cpu.Process()
	wallStart := time.Now()
	r.loop(ctx)
	r.rev.stop()
	procEnd, _ := cpu.Process()
	wall := time.Since(wallStart)
	server.Close()
	recv.PublishCounts() // the delivery goroutine has ended: the last interval is exact
	r.stopIntervals()
	r.drainSessions()
	rep.End = serverEnd(recv, server.Stats(), procEnd.Sub(procStart))
	rep.End.Reverse = r.rev.sums
	rep.finishIperf(procEnd.Sub(procStart), wall)
	return rep, nil
}

// withDefaults fills in the settings left zero.
func (cfg ServeConfig) withDefaults() ServeConfig {
	if cfg.Batch == 0 {
		cfg.Batch = report.DefaultBatch
	}
	if cfg.Transport == udp.TransportNaive {
		cfg.Batch = 1
	}
	if cfg.RxBuffer == 0 {
		cfg.RxBuffer = report.DefaultRxBuffer
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	return cfg
}

// start is the report's start section for cfg.
func (cfg ServeConfig) start() report.Start {
	maxPayload := udp.MaxPayloadStandard
	if cfg.Jumbo {
		maxPayload = udp.MaxPayloadJumbo
	}
	return report.Start{
		System:    report.CollectSystem(),
		Timestamp: report.TimestampOf(time.Now()),
		Test: report.TestInfo{
			Transport: cfg.Transport.String(), Batch: cfg.Batch, Payload: maxPayload,
			MTU: maxPayload + 28, Rate: "max", Duration: cfg.Time.Seconds(), PRBS: cfg.PRBS,
			Network: "udp", RxQueue: cfg.RxQueue, LowLatency: cfg.LowLatency, SpinUs: float64(cfg.Spin) / float64(time.Microsecond), TxCPU: -1, RxCPU: -1,
		},
	}
}

// options are the engine options cfg asks for.
func (cfg ServeConfig) options() []udp.Option {
	// The receive goroutine is not locked to its thread in the netpoller
	// mode: a locked goroutine that parks on a drained socket hands its P
	// to another thread and is handed it back on the next datagram (three
	// futex calls and two thread switches a wake-up), an unlocked one
	// parks and wakes on the thread that polls (docs/cost.md). The
	// low-latency mode locks it itself.
	opts := []udp.Option{
		udp.WithTransport(cfg.Transport),
		udp.WithBatch(cfg.Batch),
	}
	if cfg.RxQueue > 0 {
		opts = append(opts, udp.WithRxQueue(cfg.RxQueue))
	}
	if cfg.LowLatency {
		opts = append(opts, udp.WithLowLatencySpin(cfg.Spin))
	}
	if cfg.Bind.IsValid() {
		opts = append(opts, udp.WithBindAddress(cfg.Bind))
	}
	if cfg.BusyPoll > 0 {
		opts = append(opts, udp.WithBusyPoll(cfg.BusyPoll))
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	opts = append(opts, udp.WithLogger(logger))
	if cfg.Transport == udp.TransportXDP {
		opts = append(opts, udp.WithXDP(cfg.XDP.Iface, cfg.XDP.Queue, cfg.XDP.Mode))
	}
	return opts
}

// openServer opens the server and its measuring receiver (not yet
// connected).
func openServer(cfg ServeConfig) (*udp.Server, *account.Receiver, error) {
	server, err := udp.NewServer(cfg.Port, cfg.Jumbo, cfg.options()...)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Transport != udp.TransportXDP {
		server.SetRxBufferCount(max(1, cfg.RxBuffer/(server.MaxPayload()+28)))
	}
	recv, err := account.NewReceiver(server, server, -1, cfg.PRBS)
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	recv.MaxPayload = server.MaxPayload()
	recv.LockedThread = cfg.LowLatency && cfg.RxQueue == 0
	recv.ProcessCPU = true
	return server, recv, nil
}

// serveRun is one Serve call's state between opening and closing.
type serveRun struct {
	cfg    ServeConfig
	server *udp.Server
	recv   *account.Receiver
	rev    *reverseRunner
	rep    *ServerReport

	intervalsStop, intervalsDone chan struct{} // nil until the first datagram
}

// loop waits for the events of the run until one of its stop conditions.
// --time bounds every run: a server that hears nothing stops Time after it
// started; once data flows, Time counts from the first datagram.
func (r *serveRun) loop(ctx context.Context) {
	cfg := r.cfg
	var timeLimit, idleTick, linger <-chan time.Time
	if cfg.IdleExit > 0 {
		t := time.NewTicker(max(cfg.IdleExit/5, 10*time.Millisecond))
		defer t.Stop()
		idleTick = t.C
	}
	var limitTimer *time.Timer
	if cfg.Time > 0 {
		limitTimer = time.NewTimer(cfg.Time)
		defer limitTimer.Stop()
		timeLimit = limitTimer.C
	}
	first := r.recv.First
	for {
		select {
		case <-ctx.Done():
			return
		case <-first:
			first = nil
			r.startIntervals()
			if limitTimer != nil {
				limitTimer.Reset(cfg.Time)
			}
		case <-timeLimit:
			return
		case <-idleTick:
			if last := r.recv.LastNs.Load(); last > 0 && time.Duration(r.recv.Now()-last) >= cfg.IdleExit {
				return
			}
		case sum := <-r.recv.Events:
			r.session(sum)
			if cfg.OneOff && linger == nil && !sum.Omitted {
				linger = time.After(sessionLinger)
			}
		case req := <-r.recv.Reverse:
			r.rev.start(req)
		case sum := <-r.rev.done:
			r.rev.ended(sum)
			if cfg.OneOff && linger == nil {
				linger = time.After(sessionLinger)
			}
		case <-linger:
			return
		}
	}
}

func (r *serveRun) session(sum account.SessionSummary) {
	if r.cfg.OnSession != nil {
		r.cfg.OnSession(sum)
	}
}

// drainSessions reports the sessions that ended during the last moments.
func (r *serveRun) drainSessions() {
	for {
		select {
		case sum := <-r.recv.Events:
			r.session(sum)
		default:
			return
		}
	}
}

// startIntervals starts the interval reports, at the first datagram.
// Idle intervals are skipped, so a short last interval is reported on
// its own rather than folded into a record that may not precede it.
func (r *serveRun) startIntervals() {
	r.intervalsStop, r.intervalsDone = make(chan struct{}), make(chan struct{})
	m := account.NewMeter(time.Now(), false)
	go account.ReportIntervals(r.cfg.Interval, r.intervalsStop, r.intervalsDone, func(bool) {
		iv := m.Next(time.Now(), r.recv.Snapshot(), 0)
		if iv.Packets == 0 && iv.KernelDrops == 0 && iv.RingDrops == 0 && iv.LostPackets == 0 {
			return // idle: nothing to say
		}
		r.rep.Intervals = append(r.rep.Intervals, report.NewIntervalRecord(iv))
		if r.cfg.OnInterval != nil {
			r.cfg.OnInterval(iv)
		}
	})
}

// stopIntervals ends the interval reports, if they started, and waits for
// the last.
func (r *serveRun) stopIntervals() {
	if r.intervalsStop != nil {
		close(r.intervalsStop)
		<-r.intervalsDone
	}
}

// serverEnd totals what a server received, once the server is closed and
// its delivery goroutine has ended.
func serverEnd(recv *account.Receiver, st udp.Stats, proc cpu.Usage) ServerEnd {
	recv.PublishCounts()
	end := ServerEnd{Sessions: recv.Sessions(), PingsEchoed: recv.Pings.Load()}
	if end.Sessions == nil {
		end.Sessions = []account.SessionSummary{}
	}
	v := &end.SumReceived
	v.Packets, v.Bytes = recv.Packets.Load(), recv.Bytes.Load()
	if first := recv.FirstNs.Load(); first > 0 {
		v.Start = 0
		v.Seconds = float64(recv.LastNs.Load()-first) / 1e9
		v.End = v.Seconds
	}
	v.SetRates()
	v.SetCPU(proc, "process")
	v.KernelDrops, v.RingDrops, v.PoolExhausted, v.GRO = account.KernelDrops(st), st.RingDrops, st.RxPoolExhausted, st.GRO
	v.XDPMode = st.XDP.Mode
	v.Oversize, v.Invalid = st.RxOversize, recv.Invalid()+st.XDP.RxMalformed
	v.PRBSErrors = recv.PRBSErrors()
	if v.PRBSErrors > 0 {
		v.PRBSFirstError = recv.FirstPRBSError()
	}
	v.OutOfOrder = recv.Late.Load()
	v.Restarts = recv.Restarts.Load()
	// Loss: exact for sessions that ended (sent - received), the gaps in
	// the sequence for traffic still open (PRBS without a session, or a
	// client that never said goodbye).
	for _, s := range end.Sessions {
		v.LostPackets += s.LostPackets
	}
	v.LossKnown = len(end.Sessions) > 0 || (recv.ForcePRBS && recv.Sequenced.Load())
	if open := recv.Missing.Load(); open > recv.LostAtEnds {
		v.LostPackets += open - recv.LostAtEnds
	}
	v.LostPercent = seqtrack.Percent(v.LostPackets, v.LostPackets+v.Packets)
	end.Process = report.ProcessCPUOf(proc)
	return end
}

// String describes the listening configuration for the startup line.
func (cfg ServeConfig) String() string {
	s := fmt.Sprintf("transport %s, batch %d, jumbo %v, prbs %v", cfg.Transport, cfg.Batch, cfg.Jumbo, cfg.PRBS)
	if cfg.LowLatency {
		s += ", low latency"
		if cfg.Spin > 0 {
			s += fmt.Sprintf(" (spin %v)", cfg.Spin)
		}
	}
	return s
}
