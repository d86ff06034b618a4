package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// ClientConfig configures Transmit: the sending half of a test, run as its
// own program (udpperf client).
type ClientConfig struct {
	Host string
	Port int
	// Payload is the UDP payload per datagram (default 1472); above 1472
	// the client is a jumbo endpoint.
	Payload   int
	Transport udp.Transport
	Batch     int
	Rate      report.Rate
	// Duration is how long to send (default 10 s, as iperf3).
	Duration time.Duration
	PRBS     bool
	// Raw sends data only: no session is opened or closed, so any UDP
	// receiver will do, and the receiver's figures are not available.
	Raw bool
	// Bind is the local address (default: chosen by the system).
	Bind     netip.Addr
	BusyPoll int
	// XDP names the interface and queue of the xdp transport.
	XDP report.XDP
	// CPU pins the sending thread to this CPU; -1 (or NoPin) leaves it.
	CPU int
	// Omit warms up this long before the test (iperf3 -O): a test of its
	// own, whose intervals are marked omitted and which the totals leave
	// out.
	Omit time.Duration
	// Reverse has the server send and this client receive (iperf3 -R);
	// Bidir sends and receives at once (iperf3 --bidir).
	Reverse, Bidir bool
	Interval       time.Duration
	OnInterval     func(report.Interval)
	// OnRecord, if set, is called with each "intervals[]" entry, after
	// OnInterval has been called with each of its sums.
	OnRecord func(report.IntervalRecord)
	// OnStart, if set, is called with the report's start section once the
	// server has welcomed the test, before the first datagram is sent.
	OnStart func(report.Start)
	// Logger takes the engine's warnings while the client is set up
	// (default slog.Default()); from the hello on, the client reports
	// send errors and a vanished peer in its own summary and error, and
	// the engine's warnings are dropped.
	Logger *slog.Logger
}

// DefaultClientDuration is how long udpperf client sends by default.
const DefaultClientDuration = 10 * time.Second

// ClientReport is udpperf client's result.
type ClientReport struct {
	Start     report.Start            `json:"start"`
	Intervals []report.IntervalRecord `json:"intervals"`
	End       ClientEnd               `json:"end"`
	// Error says why the test failed after sending had begun, if it did;
	// the figures are then those gathered up to the failure.
	Error string `json:"error,omitempty"`
}

// ClientEnd is the "end" section of a client report.
type ClientEnd struct {
	SumSent report.SentSummary `json:"sum_sent"`
	// SumReceived is the server's account of this test; absent with Raw.
	SumReceived *account.SessionSummary `json:"sum_received,omitempty"`
	Process     report.ProcessCPU       `json:"process_cpu"`
	// Sum, Streams and CPU are iperf3's summary of the test.
	Sum     report.UDPSum         `json:"sum"`
	Streams []report.EndStream    `json:"streams"`
	CPU     report.CPUUtilization `json:"cpu_utilization_percent"`

	// SumSentBidirReverse and SumReceivedBidirReverse are the reverse
	// direction of a --bidir test: what the server sent, what this client
	// received.
	SumSentBidirReverse     *report.SentSummary     `json:"sum_sent_bidir_reverse,omitempty"`
	SumReceivedBidirReverse *account.SessionSummary `json:"sum_received_bidir_reverse,omitempty"`

	// hostWall is the span Process covers when it is not the sending
	// time (a reverse test); remoteCPU the server's CPU use when its
	// result does not carry it (a reverse test).
	hostWall  time.Duration
	remoteCPU *report.HostCPU
}

// helloWait bounds the wait for a server's welcome, helloRetry spaces the
// hellos.
const (
	helloWait  = 3 * time.Second
	helloRetry = 250 * time.Millisecond
)

// ErrNoServer is returned when no udpperf server answers the hello.
var ErrNoServer = errors.New("no udpperf server answered")

// ErrPeerGone is returned when the peer stopped receiving during the test.
var ErrPeerGone = errors.New("the peer stopped receiving")

// A vanished peer shows as ICMP port-unreachable reports on the client's
// connected socket (Stats.ConnRefused): nothing listens at the port any
// more. Sending stops at refusedLimit reports, or refusedWait after the
// first, whichever comes first; the count is polled every refusedPoll.
const (
	refusedLimit = 3
	refusedWait  = 100 * time.Millisecond
	refusedPoll  = 10 * time.Millisecond
)

// ErrPayloadTooLarge is returned when the server cannot receive datagrams
// as large as the client's.
var ErrPayloadTooLarge = errors.New("datagrams too large for the server")

// Transmit sends one test to a udpperf server (or, with Raw, to any UDP
// receiver) and returns both sides' figures.
func Transmit(ctx context.Context, cfg ClientConfig) (ClientReport, error) {
	rep, err := transmit(ctx, cfg)
	rep.finishIperf()
	return rep, err
}

// transmit is Transmit without the report's iperf3 sections: it opens the
// client, starts the test (hello, or a reverse or bidirectional test) and
// sends (see sendTest).
func transmit(ctx context.Context, cfg ClientConfig) (ClientReport, error) {
	c := cfg.testCase()
	var rep ClientReport
	rep.Start = report.Start{System: report.CollectSystem(), Timestamp: report.TimestampOf(time.Now()), Test: c.TestInfo()}
	rep.Start.Test.Network = fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	client, quiet, err := openClient(cfg, c)
	if err != nil {
		return rep, err
	}
	defer client.Close()
	replies := newReplySlave()
	engine.Connect(client, replies)

	session := rand.Uint64()
	rev, err := clientStart(&rep, cfg, c, client, session)
	if err != nil {
		return rep, err
	}
	// From here on the client reports what goes wrong itself.
	quiet.Store(true)
	if !cfg.Raw {
		if err := openSession(ctx, client, replies, session, c); err != nil {
			return rep, err
		}
	}
	if done, err := otherModes(ctx, cfg, c, client, replies, session, rev, &rep); done || err != nil {
		return rep, err
	}
	err = sendTest(ctx, cfg, c, client, replies, session, &rep)
	return rep, err
}

// testCase is the test cfg asks for, with the defaults filled in.
func (cfg ClientConfig) testCase() report.Case {
	c := report.Case{Transport: cfg.Transport, Payload: cfg.Payload, Batch: cfg.Batch, Duration: cfg.Duration, Rate: cfg.Rate, PRBS: cfg.PRBS}
	if c.Duration == 0 {
		c.Duration = DefaultClientDuration
	}
	c = c.WithDefaults()
	c.XDP = cfg.XDP
	c.HelloReverse = cfg.Reverse
	return c
}

// openClient checks c and opens the client of its test with cfg's
// options. The client logs its warnings until quiet is set.
func openClient(cfg ClientConfig, c report.Case) (client *udp.Client, quiet *atomic.Bool, err error) {
	if err := c.ValidateSide(); err != nil {
		return nil, nil, err
	}
	if c.Transport == udp.TransportXDP && c.XDP.Iface == "" {
		return nil, nil, report.ErrXDPNeedsInterface
	}
	opts := endpointOptions(c)
	if cfg.Bind.IsValid() {
		opts = append(opts, udp.WithBindAddress(cfg.Bind))
	}
	if cfg.BusyPoll > 0 {
		opts = append(opts, udp.WithBusyPoll(cfg.BusyPoll))
	}
	logger, quiet := newGate(cfg.Logger)
	opts = append(opts, udp.WithLogger(logger))
	client, err = udp.NewClient(cfg.Host, cfg.Port, c.Jumbo(), opts...)
	return client, quiet, err
}

// sendTest sends the data of a test started on client and, unless
// cfg.Raw, ends its session and puts the server's figures in rep.
func sendTest(ctx context.Context, cfg ClientConfig, c report.Case, client *udp.Client, replies *replySlave, session uint64, rep *ClientReport) error {
	snd, err := traffic.NewSender(client, c.Payload, traffic.FramesPerCall(c.Transport, c.Payload, c.Batch), c.PRBS, c.Transport == udp.TransportXDP)
	if err != nil {
		return err
	}
	defer snd.Release()
	snd.Stamp = account.Stampable(c)
	if err := sendPhase(ctx, cfg, c, client, snd, rep); err != nil {
		return err
	}
	if cfg.Raw {
		return nil
	}
	sum, err := finish(client, replies, session, snd.Sent.Load(), snd.SentBytes.Load(), connRefused(client))
	if err != nil {
		return err
	}
	rep.End.SumReceived = &sum
	return nil
}

// connRefused reads the client's count of ICMP port-unreachable reports.
func connRefused(client *udp.Client) func() uint64 {
	return func() uint64 { return client.Stats().ConnRefused }
}

// watchPeer polls refusals (a cumulative count) from now on and calls
// cancel once they show the peer is gone (see refusedLimit). stop ends
// the watch and returns what was seen, or nil.
func watchPeer(refusals func() uint64, cancel context.CancelFunc) (stop func() error) {
	base := refusals()
	done := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		t := time.NewTicker(refusedPoll)
		defer t.Stop()
		var first time.Time
		for {
			select {
			case <-done:
				result <- nil
				return
			case now := <-t.C:
				n := refusals() - base
				if n == 0 {
					continue
				}
				if first.IsZero() {
					first = now
				}
				if n >= refusedLimit || now.Sub(first) >= refusedWait {
					cancel()
					result <- fmt.Errorf("%d ICMP port-unreachable reports (nothing listens at its port any more)", n)
					return
				}
			}
		}
	}()
	return func() error {
		close(done)
		return <-result
	}
}

// openSession says hello and turns a failure into an error that says
// what to do about it.
func openSession(ctx context.Context, client *udp.Client, replies *replySlave, session uint64, c report.Case) error {
	err := hello(ctx, client, replies, session, c, func() bool { return client.Stats().ConnRefused > 0 })
	switch {
	case err == nil || errors.Is(err, ErrPayloadTooLarge):
		return err
	case errors.Is(err, errRefused):
		return fmt.Errorf("%w at %v: the port is closed (ICMP port unreachable)", ErrNoServer, client.Peer())
	}
	return fmt.Errorf("%w at %v within %v (is `udpperf server` running there? use --raw for other receivers): %v",
		ErrNoServer, client.Peer(), helloWait, err)
}

// sendPhase streams the test's data, with interval reports, until its time
// is up, ctx ends or the peer is gone (see watchPeer), and fills in the
// sender's figures.
func sendPhase(ctx context.Context, cfg ClientConfig, c report.Case, client *udp.Client, snd *traffic.Sender, rep *ClientReport) error {
	procStart, _ := cpu.Process()
	stopIntervals := account.RecordIntervals(cfg.Interval, account.NewMeter(time.Now(), true), func() (account.Counters, uint64) {
		return account.Counters{Bytes: snd.SentBytes.Load()}, snd.Sent.Load()
	}, &rep.Intervals, cfg.onInterval())
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	stopWatch := watchPeer(connRefused(client), cancelSend)
	elapsed, usage, pinned, sendErr := sendPinned(sendCtx, snd, c, cfg.CPU)
	gone := stopWatch()
	stopIntervals()
	procEnd, _ := cpu.Process()
	if pinned {
		rep.Start.Test.TxCPU = cfg.CPU
	}
	rep.End.SumSent = sentSummary(elapsed, snd, usage, client.Stats())
	rep.End.Process = report.ProcessCPUOf(procEnd.Sub(procStart))
	if sendErr != nil {
		return fmt.Errorf("sending: %w", sendErr)
	}
	if gone != nil {
		return fmt.Errorf("%w: %v answered with %v after %.2f s of sending", ErrPeerGone, client.Peer(), gone, elapsed.Seconds())
	}
	return nil
}

// sendPinned runs the sender on a locked (and, for cpu >= 0, pinned) OS
// thread and measures that thread's CPU time.
func sendPinned(ctx context.Context, snd *traffic.Sender, c report.Case, cpuID int) (time.Duration, cpu.Usage, bool, error) {
	type out struct {
		elapsed time.Duration
		usage   cpu.Usage
		pinned  bool
		err     error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var o out
		if cpuID >= 0 {
			if aff, err := cpu.Pin(0, cpuID); err == nil {
				o.pinned = true
				defer aff.Restore()
			}
		}
		before, _ := cpu.Thread()
		o.elapsed, o.err = snd.Run(ctx, c.Duration, c.Rate.PerSecond(c.Payload))
		after, _ := cpu.Thread()
		o.usage = after.Sub(before)
		ch <- o
	}()
	o := <-ch
	return o.elapsed, o.usage, o.pinned, o.err
}

// errRefused reports an ICMP port-unreachable answer to the hello.
var errRefused = errors.New("port unreachable")

// hello opens the session and waits for the server's welcome; refused
// reports whether the kernel saw an ICMP port-unreachable.
func hello(ctx context.Context, tx traffic.Transmitter, replies *replySlave, session uint64, c report.Case, refused func() bool) error {
	body, err := json.Marshal(account.SessionParams{Payload: c.Payload, PRBS: c.PRBS, Transport: c.Transport.String(), Batch: c.Batch, Rate: c.Rate.String(), Duration: c.Duration.Seconds(),
		Stamped: account.Stampable(c), Warmup: c.HelloWarmup, Reverse: c.HelloReverse})
	if err != nil {
		return err
	}
	deadline := time.NewTimer(helloWait)
	defer deadline.Stop()
	retry := time.NewTicker(helloRetry)
	defer retry.Stop()
	var lastErr error
	for {
		if err := traffic.Control(tx, wire.Message{Type: wire.TypeHello, Session: session, Body: body}); err != nil {
			lastErr = err
		}
		for {
			select {
			case w := <-replies.welcome:
				if w.session != session {
					continue
				}
				if w.maxPayload > 0 && c.Payload > w.maxPayload {
					return fmt.Errorf("%w: the server accepts datagrams of at most %d bytes, this client sends %d (start the server with --jumbo)",
						ErrPayloadTooLarge, w.maxPayload, c.Payload)
				}
				return nil
			case <-retry.C:
				if refused() {
					return errRefused
				}
			case <-deadline.C:
				if lastErr == nil {
					lastErr = errors.New("no reply")
				}
				return lastErr
			case <-ctx.Done():
				return ctx.Err()
			}
			break
		}
	}
}

// finish sends the end message until the server's result arrives, endWait
// passes, or refusals (a cumulative count) grow: the server is gone.
func finish(tx traffic.Transmitter, replies *replySlave, session, sent, sentBytes uint64, refusals func() uint64) (account.SessionSummary, error) {
	base := refusals()
	deadline := time.NewTimer(endWait)
	defer deadline.Stop()
	retry := time.NewTicker(endRetry)
	defer retry.Stop()
	for {
		traffic.Control(tx, wire.Message{Type: wire.TypeEnd, Session: session, A: sent, B: sentBytes})
		for {
			select {
			case r := <-replies.result:
				if r.session != session {
					continue
				}
				var sum account.SessionSummary
				if err := json.Unmarshal(r.body, &sum); err != nil {
					return sum, fmt.Errorf("the server's result is unreadable: %w", err)
				}
				return sum, nil
			case <-retry.C:
				if n := refusals() - base; n > 0 {
					return account.SessionSummary{}, fmt.Errorf("%w: %d ICMP port-unreachable reports to the end of the test (nothing listens at the server's port any more)", ErrPeerGone, n)
				}
			case <-deadline.C:
				return account.SessionSummary{}, fmt.Errorf("the server did not report its figures within %v", endWait)
			}
			break
		}
	}
}

// replySlave receives the server's control replies on the client.
type replySlave struct {
	welcome chan welcome
	result  chan reply
}

type welcome struct {
	session    uint64
	maxPayload int
}

type reply struct {
	session uint64
	body    []byte
}

func newReplySlave() *replySlave {
	return &replySlave{welcome: make(chan welcome, 4), result: make(chan reply, 4)}
}

// AcceptFrame sorts replies; anything else is ignored.
func (s *replySlave) AcceptFrame(f engine.Frame) {
	data, err := f.Bytes()
	if err != nil {
		return
	}
	m, err := wire.Decode(data)
	if err != nil {
		return
	}
	switch m.Type {
	case wire.TypeWelcome:
		select {
		case s.welcome <- welcome{session: m.Session, maxPayload: int(min(m.A, 1<<20))}:
		default:
		}
	case wire.TypeResult:
		select {
		case s.result <- reply{session: m.Session, body: append([]byte(nil), m.Body...)}:
		default:
		}
	}
}
