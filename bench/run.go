package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/netns"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// endWait bounds how long the end of a test waits for the receiver to
// acknowledge, and endRetry how often the end message is repeated.
const (
	endWait  = 3 * time.Second
	endRetry = 100 * time.Millisecond
)

// pinPlan picks the sender's and the receiver's CPUs: the first two the
// process may use, or -1 for both when there are fewer or pinning is off.
func pinPlan(noPin bool) (tx, rx int) {
	if noPin {
		return -1, -1
	}
	cpus, err := cpu.Allowed()
	if err != nil || len(cpus) < 2 {
		return -1, -1
	}
	return cpus[0], cpus[1]
}

// endpointOptions are the engine options of both sides of a case.
func endpointOptions(c report.Case) []udp.Option {
	opts := []udp.Option{
		udp.WithTransport(c.Transport),
		udp.WithBatch(c.Batch),
		// Pinning and per-thread CPU accounting need each side on one
		// OS thread for the whole run.
		udp.WithLockOSThread(),
	}
	if c.RxQueue > 0 {
		opts = append(opts, udp.WithRxQueue(c.RxQueue))
	}
	if c.LowLatency {
		opts = append(opts, udp.WithLowLatencySpin(c.Spin))
	}
	if c.Transport == udp.TransportXDP {
		x := c.XDP
		if c.Network != nil && x.Iface == "" {
			x.Iface = netns.IfName
		}
		opts = append(opts, udp.WithXDP(x.Iface, x.Queue, x.Mode))
	}
	return opts
}

// openPair opens the receiving server and the sending client of a case,
// on loopback or in the case's namespaces.
func openPair(c report.Case) (*udp.Server, *udp.Client, error) {
	rxAddr := netip.MustParseAddr("127.0.0.1")
	inRx, inTx := func(f func() error) error { return f() }, func(f func() error) error { return f() }
	if n := c.Network; n != nil {
		if err := n.SetMTU(c.MTU()); err != nil {
			return nil, nil, err
		}
		rxAddr, inRx, inTx = n.RxAddr(), n.InRx, n.InTx
	}
	var server *udp.Server
	err := inRx(func() (err error) {
		server, err = udp.NewServer(0, c.Jumbo(), append(endpointOptions(c), udp.WithBindAddress(rxAddr))...)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if c.RxBuffer > 0 && c.Transport != udp.TransportXDP {
		server.SetRxBufferCount(max(1, c.RxBuffer/(server.MaxPayload()+28)))
	}
	var client *udp.Client
	err = inTx(func() (err error) {
		client, err = udp.NewClient(rxAddr.String(), server.Port(), c.Jumbo(), endpointOptions(c)...)
		return err
	})
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	return server, client, nil
}

// Run measures one case: it opens an udp.Server with a counting slave
// and an udp.Client, sends for c.Duration, closes the test with an end
// message carrying the sent count and returns both sides' figures. The
// error (also in Result.Error) says why a case could not run; a run with
// loss or PRBS errors is not an error (see Result.Failed).
func Run(ctx context.Context, c report.Case) (report.Result, error) {
	c = c.WithDefaults()
	res := report.Result{Test: c.TestInfo()}
	if err := runCase(ctx, c, &res); err != nil {
		res.Error = err.Error()
		return res, err
	}
	return res, nil
}

// caseRun is one case of Run under way: its endpoints, its receiver and
// sender, and the CPUs they are pinned to (-1: none).
type caseRun struct {
	c            report.Case
	server       *udp.Server
	client       *udp.Client
	serverClosed bool
	recv         *account.Receiver
	snd          *traffic.Sender
	txCPU, rxCPU int
}

// runCase checks c, opens its endpoints, receiver and sender, and runs
// it (see measure); what it measured goes in res, also on failure.
func runCase(ctx context.Context, c report.Case, res *report.Result) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := &caseRun{c: c}
	r.txCPU, r.rxCPU = pinPlan(c.NoPin)
	var err error
	if r.server, r.client, err = openPair(c); err != nil {
		return err
	}
	defer r.close()

	if r.recv, err = account.NewReceiver(nil, r.server, r.rxCPU, false); err != nil {
		return err
	}
	r.recv.LockedThread = c.RxQueue == 0
	r.recv.BeginImplicit(account.SessionParams{Payload: c.Payload, PRBS: c.PRBS, Transport: c.Transport.String(), Batch: c.Batch})
	engine.Connect(r.server, r.recv)
	if r.snd, err = traffic.NewSender(r.client, c.Payload, traffic.FramesPerCall(c.Transport, c.Payload, c.Batch), c.PRBS, c.Transport == udp.TransportXDP); err != nil {
		return err
	}
	defer r.snd.Release()
	return r.measure(ctx, res)
}

// close closes both endpoints, the server once only.
func (r *caseRun) close() {
	r.client.Close()
	if !r.serverClosed {
		r.server.Close()
		r.serverClosed = true
	}
}

// measure sends for the case's duration, ends the test, closes both
// endpoints and puts both sides' figures in res (the interval records as
// they come). The error says why the test yielded no figures.
func (r *caseRun) measure(ctx context.Context, res *report.Result) error {
	c, recv, snd := r.c, r.recv, r.snd
	procStart, _ := cpu.Process()
	stopIntervals := account.RecordIntervals(c.Interval, account.NewMeter(time.Now(), false), func() (account.Counters, uint64) {
		return recv.Snapshot(), snd.Sent.Load()
	}, &res.Intervals, c.OnInterval)

	elapsed, usage, pinned, sendErr := sendPinned(ctx, snd, c, r.txCPU)

	sum, ended := awaitEnd(ctx, r.client, recv, 0, snd.Sent.Load(), snd.SentBytes.Load())
	stopIntervals()
	procEnd, _ := cpu.Process()
	txStats, rxMode := r.client.Stats(), r.server.Stats().XDP.Mode
	r.close()
	recv.RestoreAffinity()

	if sendErr != nil {
		return fmt.Errorf("sending: %w", sendErr)
	}
	if !ended {
		return errors.New("the receiver did not acknowledge the end of the test")
	}
	if pinned {
		res.Test.TxCPU = r.txCPU
	}
	if recv.Pinned && recv.PinErr == nil {
		res.Test.RxCPU = r.rxCPU
	}
	res.SumSent = sentSummary(elapsed, snd, usage, txStats)
	res.SumReceived = sum.ReceivedSummary
	res.SumReceived.XDPMode = rxMode
	res.Process = report.ProcessCPUOf(procEnd.Sub(procStart))
	return nil
}

// sentSummary is the sender's side of a finished test.
func sentSummary(elapsed time.Duration, snd *traffic.Sender, u cpu.Usage, st udp.Stats) report.SentSummary {
	s := report.SentSummary{Sender: true, GSO: st.GSO, XDPMode: st.XDP.Mode, Errors: snd.Errs.Load()}
	if err := snd.FirstError(); err != nil {
		s.FirstError = err.Error()
	}
	s.Packets, s.Bytes = snd.Sent.Load(), snd.SentBytes.Load()
	s.Seconds = elapsed.Seconds()
	s.End = s.Seconds
	s.SetRates()
	s.SetCPU(u, "thread")
	return s
}

// awaitEnd sends the end message until the in-process receiver has
// summarised the session, or endWait passes.
func awaitEnd(ctx context.Context, tx traffic.Transmitter, recv *account.Receiver, session, sent, sentBytes uint64) (account.SessionSummary, bool) {
	deadline := time.NewTimer(endWait)
	defer deadline.Stop()
	retry := time.NewTicker(endRetry)
	defer retry.Stop()
	for {
		traffic.Control(tx, wire.Message{Type: wire.TypeEnd, Session: session, A: sent, B: sentBytes})
		select {
		case sum := <-recv.Events:
			return sum, true
		case <-retry.C:
		case <-deadline.C:
			return account.SessionSummary{}, false
		case <-ctx.Done():
			// Still give the receiver its chance: the figures are worth
			// having even when the run was interrupted.
			select {
			case sum := <-recv.Events:
				return sum, true
			case <-time.After(endRetry):
				return account.SessionSummary{}, false
			}
		}
	}
}
