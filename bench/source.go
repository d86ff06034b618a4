package bench

import (
	"context"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// SourceConfig configures ServeSource: the receiving end of any frame
// source that is not a socket, such as a JetStream reader (udpperf
// consume).
type SourceConfig struct {
	// Transport names the source in the report's start section.
	Transport string
	Counting
}

// SourceReport is ServeSource's result: the server report's sections.
type SourceReport struct {
	Start     report.Start            `json:"start"`
	Intervals []report.IntervalRecord `json:"intervals"`
	End       ServerEnd               `json:"end"`
}

// ServeSource counts the frames src sends, as udpperf server counts
// datagrams (sessions, PRBS, intervals), until ctx ends or a stop
// condition of cfg holds; then it calls stop, which must return only once
// src sends no more frames. drops, if not nil, shows the source's own
// drops in the engine's terms for the summary.
func ServeSource(ctx context.Context, cfg SourceConfig, src engine.Source, drops func() udp.Stats, stop func()) (SourceReport, error) {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if drops == nil {
		drops = func() udp.Stats { return udp.Stats{} }
	}
	var rep SourceReport
	recv, err := account.NewReceiver(nil, statsFunc(drops), -1, cfg.PRBS)
	if err != nil {
		return rep, err
	}
	engine.Connect(src, recv)
	rep.Start = report.Start{
		System: report.CollectSystem(), Timestamp: report.TimestampOf(time.Now()),
		Test: report.TestInfo{Transport: cfg.Transport, Rate: "max", Duration: cfg.Time.Seconds(), PRBS: cfg.PRBS,
			Network: "tcp", TxCPU: -1, RxCPU: -1},
	}
	proc := countUntilDone(ctx, cfg.Counting, recv, &rep.Intervals, stop)
	rep.End = serverEnd(recv, drops(), proc)
	return rep, nil
}

// statsFunc lets a function stand for the receiver's drop counters.
type statsFunc func() udp.Stats

func (f statsFunc) Stats() udp.Stats { return f() }
