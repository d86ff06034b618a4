package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/engine/udp"
)

// A --bidir test (iperf3's) runs a forward and a reverse test at once
// over the client's one socket: the client sends session `session` and
// the server sends a second session, each with the test's rate and
// payload. The report's sum_sent and sum_received are the forward
// direction's, sum_sent_bidir_reverse and sum_received_bidir_reverse the
// reverse's; each interval has both streams.

// onInterval is the callback recordIntervals gets: OnInterval, then
// OnRecord with the one-stream record.
func (cfg ClientConfig) onInterval() func(report.Interval) {
	if cfg.OnInterval == nil && cfg.OnRecord == nil {
		return nil
	}
	return func(iv report.Interval) {
		if cfg.OnInterval != nil {
			cfg.OnInterval(iv)
		}
		if cfg.OnRecord != nil {
			cfg.OnRecord(report.NewIntervalRecord(iv))
		}
	}
}

// clientStart fills the iperf3 fields of a client's start section and,
// for a reverse test, attaches the receiving side before the hello.
func clientStart(rep *ClientReport, cfg ClientConfig, c report.Case, client *udp.Client, session uint64) (*reverseClient, error) {
	rep.Start.Cookie = report.SessionID(session).String()
	rep.Start.ConnectingTo = &report.Endpoint{Host: cfg.Host, Port: cfg.Port}
	report.FillIperfStart(&rep.Start, cfg.Omit, report.ConnectionOf(client.LocalAddr(), client.Peer()))
	if !cfg.Reverse {
		return nil, nil
	}
	rep.Start.TestStart.Reverse = 1
	return newReverseClient(client, session, c)
}

// otherModes runs, once the test is welcomed, what differs from a plain
// forward test: the start callback, then a reverse or bidirectional test
// (done: the test is over) or the warm-up before the forward one.
func otherModes(ctx context.Context, cfg ClientConfig, c report.Case, client *udp.Client, replies *replySlave, session uint64, rev *reverseClient, rep *ClientReport) (done bool, err error) {
	if cfg.OnStart != nil {
		cfg.OnStart(rep.Start)
	}
	switch {
	case rev != nil:
		return true, rev.run(ctx, cfg, c, rep)
	case cfg.Bidir:
		return true, runBidir(ctx, cfg, c, client, replies, session, rep)
	case cfg.Omit > 0:
		ivs, err := warmUp(ctx, client, replies, session, c, cfg)
		rep.Intervals = append(rep.Intervals, ivs...)
		return false, err
	}
	return false, nil
}

// runBidir runs the test once the forward session is welcomed.
func runBidir(ctx context.Context, cfg ClientConfig, c report.Case, client *udp.Client, replies *replySlave, session uint64, rep *ClientReport) error {
	back := rand.Uint64()
	rev, err := newReverseClient(client, back, c)
	if err != nil {
		return err
	}
	rc := c
	rc.HelloReverse = true
	refused := func() bool { return client.Stats().ConnRefused > 0 }
	if err := hello(ctx, client, replies, back, rc, refused); err != nil {
		return fmt.Errorf("opening the reverse direction: %w", err)
	}
	snd, err := traffic.NewSender(client, c.Payload, traffic.FramesPerCall(c.Transport, c.Payload, c.Batch), c.PRBS, c.Transport == udp.TransportXDP)
	if err != nil {
		return err
	}
	defer snd.Release()
	snd.Stamp = account.Stampable(c)
	type revOut struct {
		sum account.SessionSummary
		err error
	}
	revDone := make(chan revOut, 1)
	go func() {
		sum, err := rev.await(ctx, c.Duration+helloWait+endWait)
		revDone <- revOut{sum, err}
	}()
	procStart, _ := cpu.Process()
	stop := recordBidir(cfg, snd, rev.recv, &rep.Intervals)
	elapsed, usage, pinned, sendErr := sendPinned(ctx, snd, c, cfg.CPU)
	var fwd account.SessionSummary
	var finErr error
	if sendErr == nil {
		fwd, finErr = finish(client, replies, session, snd.Sent.Load(), snd.SentBytes.Load(), connRefused(client))
	}
	back2 := <-revDone
	stop()
	procEnd, _ := cpu.Process()
	if pinned {
		rep.Start.Test.TxCPU = cfg.CPU
	}
	rep.End.SumSent = sentSummary(elapsed, snd, usage, client.Stats())
	rep.End.Process = report.ProcessCPUOf(procEnd.Sub(procStart))
	if err := errors.Join(wrap("sending", sendErr), finErr, back2.err); err != nil {
		return err
	}
	rep.End.SumReceived = &fwd
	rep.End.SumReceivedBidirReverse = &back2.sum
	end, err := rev.serverEnd()
	if err != nil {
		return err
	}
	rep.End.SumSentBidirReverse = &end.Sent
	return nil
}

// wrap prefixes a non-nil err with what failed.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// bidirRecord is one interval of both directions.
func bidirRecord(f, r report.Interval) report.IntervalRecord {
	return report.IntervalRecord{Streams: []report.StreamInterval{{Socket: 1, Interval: f}, {Socket: 2, Interval: r}}, Sum: f, SumBidirReverse: &r}
}

// recordBidir samples both directions every cfg.Interval into one record
// each (stream 1 sending, stream 2 receiving), calling OnInterval with
// each sum and OnRecord with the record. The returned stop ends it after
// a last partial interval.
func recordBidir(cfg ClientConfig, snd *traffic.Sender, recv *account.Receiver, out *[]report.IntervalRecord) (stop func()) {
	if cfg.Interval <= 0 {
		return func() {}
	}
	now := time.Now()
	tx, rx := account.NewMeter(now, true), account.NewMeter(now, false)
	stopCh := make(chan struct{})
	done := make(chan struct{})
	go account.ReportIntervals(cfg.Interval, stopCh, done, func(short bool) {
		t := time.Now()
		sent, got := account.Counters{Bytes: snd.SentBytes.Load()}, recv.Snapshot()
		if short && len(*out) > 0 {
			f, r := tx.Extend(t, sent, snd.Sent.Load()), rx.Extend(t, got, 0)
			(*out)[len(*out)-1] = bidirRecord(f, r)
			return
		}
		f, r := tx.Next(t, sent, snd.Sent.Load()), rx.Next(t, got, 0)
		rec := bidirRecord(f, r)
		*out = append(*out, rec)
		if cfg.OnInterval != nil {
			cfg.OnInterval(f)
			cfg.OnInterval(r)
		}
		if cfg.OnRecord != nil {
			cfg.OnRecord(rec)
		}
	})
	return func() {
		close(stopCh)
		<-done
	}
}
