package iperf3

import (
	"net/netip"
	"time"
)

// SessionReport is what a server saw of one client's test.
type SessionReport struct {
	ID     uint64
	Client netip.AddrPort // the control connection's source
	Params Params
	Start  time.Time
	// Duration of the test from TEST_RUNNING to the client's end.
	Duration time.Duration
	Streams  []StreamReport
	// End says how the session ended (EndDone, EndClientClosed, ...);
	// Err is the error behind any end but EndDone.
	End string
	Err error
	// Peer is the client's results message (nil if none came).
	Peer *Results
	CPU  CPU
	// Text is the server's iperf3-style text output of this test (what
	// --get-server-output returns), intervals and final lines included.
	Text string
	// Port is the server's data socket counters when the session ended
	// (shared by every session on the port).
	Port PortCounters
}

// Bidir reports whether the server both received and sent.
func (r *SessionReport) Bidir() bool { return r.Params.Bidirectional }

// SummaryLines are the server's final lines for the session: per stream
// the received figures (with the client's sent count applied when it
// vouched for it) or the sent ones.
func (r *SessionReport) SummaryLines() []string {
	secs := r.Duration.Seconds()
	out := []string{Separator, HeaderReceiver}
	for _, s := range r.Streams {
		role := ""
		if r.Bidir() {
			role = "[RX-S]"
			if s.Sender {
				role = "[TX-S]"
			}
		}
		if s.Sender {
			out = append(out, LineReceiver(s.ID, role, 0, secs, s.Tx.Bytes, 0, s.Tx.Packets, 0, "sender"))
			continue
		}
		out = append(out, LineReceiver(s.ID, role, 0, secs, s.Rx.Bytes, s.Rx.Lost, s.Rx.Packets, s.Rx.Jitter, "receiver"))
	}
	return out
}

// ServerIntervalLines renders one interval of a server's session.
func ServerIntervalLines(iv Interval, bidir bool) []string {
	var out []string
	for _, s := range iv.Streams {
		role := ""
		if bidir {
			role = "[RX-S]"
			if s.Sender {
				role = "[TX-S]"
			}
		}
		out = append(out, intervalLine(s.ID, role, iv, s))
	}
	return out
}

// StreamReport is one stream of a session, from the server's side.
type StreamReport struct {
	ID     int
	Sender bool           // the server sent on this stream (-R, --bidir)
	Client netip.AddrPort // the stream's client address
	Rx     RxCounts       // for a receiving stream
	// Sent is the client's own sent count for a receiving stream, from its
	// results (Vouched false when it sent none); Rx.Lost is then
	// Sent - Rx.Received.
	// Without it Rx.Lost is 0 and Gaps holds what iperf3's rule would
	// have called lost (counter gaps less late arrivals), which forged or
	// stray counters can make any size.
	Sent    uint64
	Vouched bool
	Gaps    uint64
	Tx      TxCounts // for a sending stream
}

// Interval is one interval's figures of a running session, seconds from
// the test's start.
type Interval struct {
	Start, End float64
	Streams    []IntervalStream
}

// IntervalStream is one stream's share of an interval.
type IntervalStream struct {
	ID      int
	Sender  bool
	Bytes   uint64
	Packets uint64 // sent, or counters advanced (highest seen) for a receiver
	Lost    uint64
	Jitter  float64 // seconds, at the interval's end
}

func (ss *session) streamReports() []StreamReport {
	var out []StreamReport
	for i, r := range ss.rx {
		c, sent, ok := ss.rxFinal(r)
		sr := StreamReport{ID: StreamID(i), Rx: c, Sent: sent, Vouched: ok}
		if !ok {
			sr.Gaps, sr.Rx.Lost = c.Lost, 0
		}
		if i < len(ss.addrs) {
			sr.Client = ss.addrs[i]
		}
		out = append(out, sr)
	}
	for j, s := range ss.tx {
		k := len(ss.rx) + j
		out = append(out, StreamReport{ID: StreamID(k), Sender: true, Client: ss.addrs[k], Tx: s.tx.counts()})
	}
	return out
}
