package natsrun

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/engine/natsjs"
	"udpstream.dev/engine/udp"
)

// ConsumeReport is udpperf consume's JSON document: the server report's
// sections and the reader's counters as "jetstream".
type ConsumeReport struct {
	bench.SourceReport
	JetStream natsjs.ReaderStats `json:"jetstream"`
}

// Consume counts what r reads (sessions, PRBS, intervals) until ctx ends
// or a stop condition of cfg holds, then closes r. The reader's pool
// exhaustion and malformed messages show as the engine's drops.
func Consume(ctx context.Context, r *natsjs.Reader, cfg bench.SourceConfig) (ConsumeReport, error) {
	drops := func() udp.Stats {
		s := r.Stats()
		return udp.Stats{RxPoolExhausted: s.PoolExhausted, XDP: udp.XDPStats{RxMalformed: s.Malformed}}
	}
	rep, err := bench.ServeSource(ctx, cfg, r, drops, func() { r.Close() })
	if err != nil {
		return ConsumeReport{}, err
	}
	return ConsumeReport{rep, r.Stats()}, nil
}

// FormatConsume is the summary line of a reader's counters.
func FormatConsume(s natsjs.ReaderStats) string {
	return fmt.Sprintf("jetstream read %d frames (%d bytes) in %d messages (last stream sequence %d); missing by sequence %d, out of order %d, malformed messages %d, pool exhausted %d, publisher runs %d",
		s.Frames, s.Bytes, s.Messages, s.LastStreamSeq, s.Gaps, s.Backward, s.Malformed, s.PoolExhausted, s.Runs)
}

// FormatPublish is the summary line of a publisher's counters.
func FormatPublish(s natsjs.PublisherStats) string {
	return fmt.Sprintf("publish  %d frames (%d bytes): acknowledged %d in %d messages, not acknowledged %d (dropped: full %d, oversize %d, invalid %d, closed %d; given up %d; pending %d); resent %d messages; ack latency mean %v max %v",
		s.Frames, s.Bytes, s.Acked, s.AckedMessages, s.NotAcked(), s.DroppedFull, s.DroppedOversize, s.DroppedInvalid,
		s.DroppedClosed, s.Unacked, s.Pending, s.Resent, s.LatencyMean.Round(time.Microsecond), s.LatencyMax.Round(time.Microsecond))
}

// WithPublish adds the publisher's counters to a server report's JSON
// document as "publish"; doc unchanged when s is nil or doc is not a JSON
// object.
func WithPublish(doc any, s *natsjs.PublisherStats) any {
	if s == nil {
		return doc
	}
	b, err := json.Marshal(doc)
	var m map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return doc
	}
	if m["publish"], err = json.Marshal(s); err != nil {
		return doc
	}
	return m
}
