package bench

import (
	"context"
	"log/slog"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/zmq"
)

// BridgeConfig configures ServeBridge: the receiving end of Rogue's stream
// TCP bridge (udpperf bridge), fed by a bridge server such as `udpperf
// server --bridge` or a Rogue TcpServer.
type BridgeConfig struct {
	// Host and Port of the bridge server: frames come from Port+1.
	Host string
	Port int
	Counting
	Logger *slog.Logger
}

// Counting is how a source that is not a socket is counted (ServeBridge,
// ServeSource): the receiver's PRBS check and the counting phase's
// intervals, callbacks and stop conditions.
type Counting struct {
	// PRBS checks every data frame as a Rogue PRBS frame (sessions opened
	// with client --prbs are checked anyway).
	PRBS bool
	// Interval, OnInterval, OnSession, Time and IdleExit are as in
	// ServeConfig.
	Interval   time.Duration
	OnInterval func(report.Interval)
	OnSession  func(account.SessionSummary)
	Time       time.Duration
	IdleExit   time.Duration
}

// BridgeReport is udpperf bridge's result: the server report's sections,
// plus the bridge's own counters.
type BridgeReport struct {
	Start     report.Start            `json:"start"`
	Intervals []report.IntervalRecord `json:"intervals"`
	End       ServerEnd               `json:"end"`
	Bridge    zmq.Stats               `json:"bridge"`
}

// bridgeStats shows the bridge's receive drops to the receiver in the
// engine's terms: oversize, pool exhausted and malformed messages.
type bridgeStats struct{ b *zmq.Bridge }

func (s bridgeStats) Stats() udp.Stats {
	st := s.b.Stats()
	return udp.Stats{RxOversize: st.RxOversize, RxPoolExhausted: st.RxPoolExhausted, XDP: udp.XDPStats{RxMalformed: st.RxMalformed}}
}

// ServeBridge connects a bridge client and receives until ctx ends or a
// stop condition of cfg holds. A missing server is not an error: the
// client keeps trying to connect, as Rogue's does.
func ServeBridge(ctx context.Context, cfg BridgeConfig) (BridgeReport, error) {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	var rep BridgeReport
	var opts []zmq.Option
	if cfg.Logger != nil {
		opts = append(opts, zmq.WithLogger(cfg.Logger))
	}
	client, err := zmq.NewTcpClient(cfg.Host, cfg.Port, opts...)
	if err != nil {
		return rep, err
	}
	defer client.Close()
	recv, err := account.NewReceiver(nil, bridgeStats{client}, -1, cfg.PRBS)
	if err != nil {
		return rep, err
	}
	engine.Connect(client, recv)
	rep.Start = report.Start{
		System: report.CollectSystem(), Timestamp: report.TimestampOf(time.Now()),
		Test: report.TestInfo{Transport: "bridge", Rate: "max", Duration: cfg.Time.Seconds(), PRBS: cfg.PRBS,
			Network: "tcp", TxCPU: -1, RxCPU: -1},
	}
	proc := countUntilDone(ctx, cfg.Counting, recv, &rep.Intervals, func() { client.Close() })
	rep.End = serverEnd(recv, bridgeStats{client}.Stats(), proc)
	rep.Bridge = client.Stats()
	return rep, nil
}

// countUntilDone counts what a source feeds recv until waitBridge
// returns: intervals into out while it runs, then, once stop has ended the
// source, the last exact interval and every session summary still queued.
// It returns the process CPU time the run took.
func countUntilDone(ctx context.Context, cfg Counting, recv *account.Receiver, out *[]report.IntervalRecord, stop func()) cpu.Usage {
	procStart, _ := cpu.Process()
	stopIntervals := bridgeIntervals(cfg, recv, out)
	waitBridge(ctx, cfg, recv)
	procEnd, _ := cpu.Process()
	stop()
	recv.PublishCounts() // the source has stopped: the last interval is exact
	stopIntervals()
	for drained := false; !drained; {
		select {
		case sum := <-recv.Events:
			if cfg.OnSession != nil {
				cfg.OnSession(sum)
			}
		default:
			drained = true
		}
	}
	return procEnd.Sub(procStart)
}

// waitBridge returns when ctx ends, Time passes (counted from the first
// frame, or from the start if none arrives) or no frame came for IdleExit.
func waitBridge(ctx context.Context, cfg Counting, recv *account.Receiver) {
	var limit, idle <-chan time.Time
	var limitTimer *time.Timer
	if cfg.Time > 0 {
		limitTimer = time.NewTimer(cfg.Time)
		defer limitTimer.Stop()
		limit = limitTimer.C
	}
	if cfg.IdleExit > 0 {
		t := time.NewTicker(max(cfg.IdleExit/5, 10*time.Millisecond))
		defer t.Stop()
		idle = t.C
	}
	first := recv.First
	for {
		select {
		case <-ctx.Done():
			return
		case <-limit:
			return
		case <-first:
			first = nil
			if limitTimer != nil {
				limitTimer.Reset(cfg.Time)
			}
		case <-idle:
			if last := recv.LastNs.Load(); last > 0 && time.Duration(recv.Now()-last) >= cfg.IdleExit {
				return
			}
		case sum := <-recv.Events:
			if cfg.OnSession != nil {
				cfg.OnSession(sum)
			}
		}
	}
}

// bridgeIntervals reports an interval every cfg.Interval in which frames
// arrived; the returned stop ends it after a last partial interval.
// Idle intervals are skipped, so a short last interval is reported on
// its own rather than folded into a record that may not precede it.
func bridgeIntervals(cfg Counting, recv *account.Receiver, out *[]report.IntervalRecord) (stop func()) {
	stopCh, done := make(chan struct{}), make(chan struct{})
	m := account.NewMeter(time.Now(), false)
	go account.ReportIntervals(cfg.Interval, stopCh, done, func(bool) {
		iv := m.Next(time.Now(), recv.Snapshot(), 0)
		if iv.Packets == 0 && iv.LostPackets == 0 {
			return
		}
		*out = append(*out, report.IntervalRecord{Sum: iv})
		if cfg.OnInterval != nil {
			cfg.OnInterval(iv)
		}
	})
	return func() {
		close(stopCh)
		<-done
	}
}
