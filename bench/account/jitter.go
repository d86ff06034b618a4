package account

import (
	"math"

	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
)

// jitter is the interarrival jitter of RFC 3550 (section 6.4.1), as iperf3
// reports it: a running mean of |D|, the change in transit time (arrival
// minus send time) from one datagram to the next, with gain 1/16. The
// clocks of sender and receiver need not agree: their offset cancels in D.
type jitter struct {
	prev int64   // transit of the previous sample, ns
	have bool    // prev is set
	ns   float64 // the estimate, ns
}

// observe adds one datagram's transit time (ns).
func (j *jitter) observe(transit int64) {
	if j.have {
		d := float64(transit - j.prev)
		j.ns += (math.Abs(d) - j.ns) / 16
	}
	j.prev, j.have = transit, true
}

// Stampable reports whether a client sending c stamps its datagrams with
// their send time: plain datagrams long enough to carry it (a PRBS frame's
// words are all the generator's).
func Stampable(c report.Case) bool { return !c.PRBS && c.Payload >= wire.StampedLen }

// sampleJitter feeds the send time in head, read against the time of the
// latest stamp, into the session's jitter. It runs when the receiver reads
// the clock (every datagram at low rates, every stride-th at high rates),
// so at high rates the estimate is over a sample of the datagrams.
func (r *Receiver) sampleJitter(head []byte) {
	sent, ok := wire.SendTime(head)
	if !ok {
		return
	}
	r.jit.observe(r.wallBase + r.last - sent)
	r.jitterBits.Store(math.Float64bits(r.jit.ns))
}

// resetJitter starts the estimate of a new session; stamped says whether
// its datagrams carry send times.
func (r *Receiver) resetJitter(stamped bool) {
	r.stamped = stamped
	r.jit = jitter{}
	r.jitterBits.Store(0)
}

// JitterMs is the latest estimate in milliseconds.
func (r *Receiver) JitterMs() float64 {
	return math.Float64frombits(r.jitterBits.Load()) / 1e6
}
