package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/xdp"
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
	// RxBuffer is the receive socket buffer in bytes (default 64 MiB).
	RxBuffer int
	// Bind is the local address (default: every address).
	Bind     netip.Addr
	BusyPoll int
	// XDP names the interface and queue of the xdp transport.
	XDP XDP
	// Interval, with OnInterval, reports progress; intervals without
	// traffic are not reported.
	Interval   time.Duration
	OnInterval func(Interval)
	// OnSession is called when a client's test ends.
	OnSession func(SessionSummary)
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
	// listens.
	Ready  func(port int)
	Logger *slog.Logger
}

// ServerReport is udpperf server's result.
type ServerReport struct {
	Start     Start            `json:"start"`
	Intervals []IntervalRecord `json:"intervals"`
	End       ServerEnd        `json:"end"`
}

// ServerEnd is the "end" section of a server report.
type ServerEnd struct {
	// SumReceived covers everything received while the server ran; its
	// CPU figures are the whole process's.
	SumReceived ReceivedSummary `json:"sum_received"`
	// Sessions lists each client test that ended, as reported to its
	// client.
	Sessions []SessionSummary `json:"sessions"`
	Process  ProcessCPU       `json:"process_cpu"`
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
	if err := CheckTransport(cfg.Transport); err != nil {
		return rep, err
	}
	if cfg.Transport == udp.TransportXDP && cfg.XDP.Iface == "" {
		return rep, ErrXDPNeedsInterface
	}
	rep.Start = serveStart(cfg)
	server, recv, err := openServer(cfg)
	if err != nil {
		return rep, err
	}
	defer server.Close()
	if cfg.Ready != nil {
		cfg.Ready(server.Port())
	}
	procStart, _ := cpu.Process()
	var iv serveIntervals
	serveLoop(ctx, cfg, recv, func() { iv.start(cfg, recv, &rep) })
	procEnd, _ := cpu.Process()
	server.Close()
	iv.end()
	// Sessions that ended during the last moments.
	for {
		select {
		case sum := <-recv.events:
			if cfg.OnSession != nil {
				cfg.OnSession(sum)
			}
			continue
		default:
		}
		break
	}
	rep.End = serverEnd(recv, server.Stats(), procEnd.Sub(procStart))
	return rep, nil
}

// withDefaults fills in the settings left zero.
func (cfg ServeConfig) withDefaults() ServeConfig {
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Transport == udp.TransportNaive {
		cfg.Batch = 1
	}
	if cfg.RxBuffer == 0 {
		cfg.RxBuffer = DefaultRxBuffer
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	return cfg
}

// serveStart is the start record of a server's report.
func serveStart(cfg ServeConfig) Start {
	maxPayload := udp.MaxPayloadStandard
	if cfg.Jumbo {
		maxPayload = udp.MaxPayloadJumbo
	}
	return Start{
		System:    CollectSystem(),
		Timestamp: timestamp(time.Now()),
		Test: TestInfo{
			Transport: cfg.Transport.String(), Batch: cfg.Batch, Payload: maxPayload,
			MTU: maxPayload + 28, Rate: "max", Duration: cfg.Time.Seconds(), PRBS: cfg.PRBS,
			Network: "udp", RxQueue: cfg.RxQueue, TxCPU: -1, RxCPU: -1,
		},
	}
}

// openServer opens the server with cfg's options and attaches the
// receiver that counts and checks what arrives.
func openServer(cfg ServeConfig) (*udp.Server, *receiver, error) {
	opts := []udp.Option{
		udp.WithTransport(cfg.Transport),
		udp.WithBatch(cfg.Batch),
		udp.WithLockOSThread(),
	}
	if cfg.RxQueue > 0 {
		opts = append(opts, udp.WithRxQueue(cfg.RxQueue))
	}
	if cfg.Bind.IsValid() {
		opts = append(opts, udp.WithBindAddress(cfg.Bind))
	}
	if cfg.BusyPoll > 0 {
		opts = append(opts, udp.WithBusyPoll(cfg.BusyPoll))
	}
	if cfg.Logger != nil {
		opts = append(opts, udp.WithLogger(cfg.Logger))
	}
	if cfg.Transport == udp.TransportXDP {
		opts = append(opts, udp.WithXDP(cfg.XDP.Iface, cfg.XDP.Queue, xdp.ModeAuto))
	}
	server, err := udp.NewServer(cfg.Port, cfg.Jumbo, opts...)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Transport != udp.TransportXDP {
		server.SetRxBufferCount(max(1, cfg.RxBuffer/(server.MaxPayload()+28)))
	}
	recv, err := newReceiver(server, server, -1, cfg.PRBS)
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	recv.maxPayload = server.MaxPayload()
	recv.lockedThread = cfg.RxQueue == 0
	engine.Connect(server, recv)
	return server, recv, nil
}

// serveIntervals reports intervals from the first datagram on.
type serveIntervals struct {
	stop, done chan struct{}
}

// start begins the interval reports into rep.
func (s *serveIntervals) start(cfg ServeConfig, recv *receiver, rep *ServerReport) {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	m := newMeter(time.Now(), false)
	go reportIntervals(cfg.Interval, s.stop, s.done, func(bool) {
		iv := m.next(time.Now(), recv.snapshot(), 0)
		if iv.Packets == 0 && iv.KernelDrops == 0 && iv.RingDrops == 0 && iv.LostPackets == 0 {
			return // idle: nothing to say
		}
		rep.Intervals = append(rep.Intervals, IntervalRecord{Sum: iv})
		if cfg.OnInterval != nil {
			cfg.OnInterval(iv)
		}
	})
}

// end stops the interval reports, if they started, and waits for the
// last one.
func (s *serveIntervals) end() {
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
}

// serveLoop waits for the first stop condition of cfg: ctx ending, the
// time limit, idleness, or the linger after a one-off session. It calls
// started when the first datagram arrives.
func serveLoop(ctx context.Context, cfg ServeConfig, recv *receiver, started func()) {
	var timeLimit, idleTick, linger <-chan time.Time
	if cfg.IdleExit > 0 {
		t := time.NewTicker(max(cfg.IdleExit/5, 10*time.Millisecond))
		defer t.Stop()
		idleTick = t.C
	}
	first := recv.first
	// --time bounds every run: a server that hears nothing stops Time after
	// it started; once data flows, Time counts from the first datagram.
	var limitTimer *time.Timer
	if cfg.Time > 0 {
		limitTimer = time.NewTimer(cfg.Time)
		defer func() { limitTimer.Stop() }()
		timeLimit = limitTimer.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-first:
			first = nil
			started()
			if limitTimer != nil {
				limitTimer.Reset(cfg.Time)
			}
		case <-timeLimit:
			return
		case <-idleTick:
			if last := recv.lastNs.Load(); last > 0 && time.Duration(recv.now()-last) >= cfg.IdleExit {
				return
			}
		case sum := <-recv.events:
			if cfg.OnSession != nil {
				cfg.OnSession(sum)
			}
			if cfg.OneOff && linger == nil {
				linger = time.After(sessionLinger)
			}
		case <-linger:
			return
		}
	}
}

// serverEnd totals what a server received.
func serverEnd(recv *receiver, st udp.Stats, proc cpu.Usage) ServerEnd {
	end := ServerEnd{Sessions: recv.sessions()}
	if end.Sessions == nil {
		end.Sessions = []SessionSummary{}
	}
	v := &end.SumReceived
	v.Packets, v.Bytes = recv.packets.Load(), recv.bytes.Load()
	if first := recv.firstNs.Load(); first > 0 {
		v.Start = 0
		v.Seconds = float64(recv.lastNs.Load()-first) / 1e9
		v.End = v.Seconds
	}
	v.setRates()
	v.setCPU(proc, "process")
	v.KernelDrops, v.RingDrops, v.PoolExhausted, v.GRO = kernelDrops(st), st.RingDrops, st.RxPoolExhausted, st.GRO
	v.Oversize, v.Invalid = st.RxOversize, recv.invalid()+st.XDP.RxMalformed
	v.PRBSErrors = recv.prbsErrors()
	if v.PRBSErrors > 0 {
		v.PRBSFirstError = recv.firstPRBSError()
	}
	v.OutOfOrder = recv.late.Load()
	// Loss: exact for sessions that ended (sent - received), the gaps in
	// the sequence for traffic still open (PRBS without a session, or a
	// client that never said goodbye).
	for _, s := range end.Sessions {
		v.LostPackets += s.LostPackets
	}
	v.LossKnown = len(end.Sessions) > 0 || recv.forcePRBS
	if open := recv.missing.Load(); open > recv.lostAtEnds {
		v.LostPackets += open - recv.lostAtEnds
	}
	v.LostPercent = seqtrack.Percent(v.LostPackets, v.LostPackets+v.Packets)
	end.Process = processCPU(proc)
	return end
}

// String describes the listening configuration for the startup line.
func (cfg ServeConfig) String() string {
	return fmt.Sprintf("transport %s, batch %d, jumbo %v, prbs %v", cfg.Transport, cfg.Batch, cfg.Jumbo, cfg.PRBS)
}
