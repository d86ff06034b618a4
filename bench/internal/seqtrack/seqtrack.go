// Package seqtrack turns the sequence numbers of received datagrams into
// loss and reordering counts without keeping per-datagram state.
//
// The tracker remembers the highest sequence number seen. A jump over
// missing numbers counts them as missing; a number at or below the highest
// arrives late (reordered) and fills one missing slot. Missing is therefore
// "highest + 1 - received" for a stream without duplicates, updated as the
// stream goes, so an interval can report the loss it saw. The final loss of
// a test uses the sender's count instead, which also covers datagrams lost
// after the last one received.
//
// A 32-bit (PRBS) stream follows Rogue's rule that sequence 0 restarts it:
// a generator started again counts as a restart, not as a flood of late
// datagrams, and gaps after it are still found.
package seqtrack

// Tracker follows one stream. The zero Tracker expects sequence 0 first.
// It is not safe for concurrent use; publish its figures through a
// snapshot if another goroutine reads them.
type Tracker struct {
	started  bool
	highest  uint64
	received uint64
	missing  uint64
	late     uint64
	excess   uint64
	restarts uint64
	// spanBefore is the Span of the runs before the latest restart.
	spanBefore uint64
}

// wrapWindow is how far from a multiple of 2^32 a 32-bit sequence 0 may
// lie from the highest number seen and still be the stream's own
// wrap-around (next, or late) rather than a restart.
const wrapWindow = 1 << 16

// Observe records one datagram with 64-bit sequence number seq.
func (t *Tracker) Observe(seq uint64) {
	t.received++
	if !t.started {
		t.started = true
		t.highest = seq
		// Numbers below the first one seen were sent before this
		// receiver was listening, or belong to no one: they are not loss.
		return
	}
	switch {
	case seq > t.highest:
		t.missing += seq - t.highest - 1
		t.highest = seq
	case t.missing > 0:
		t.late++
		t.missing--
	default:
		// Late with nothing missing: a duplicate.
		t.late++
		t.excess++
	}
}

// Observe32 records a datagram whose sequence number is 32 bits wide (a
// PRBS frame's word 0) and wraps; it is unwrapped against the highest
// number seen, so a stream may run past 2^32 datagrams. Sequence 0 restarts
// the stream (Rogue's generator starting again) unless it is the stream's
// own wrap-around or a repeat of a run's first datagram 0: the gaps found
// so far stay counted, and tracking starts afresh from 0.
func (t *Tracker) Observe32(seq uint32) {
	if t.isRestart(seq) {
		t.spanBefore += t.highest + 1
		t.restarts++
		t.started = false
	}
	if !t.started {
		t.Observe(uint64(seq))
		return
	}
	delta := int64(int32(seq - uint32(t.highest)))
	next := int64(t.highest) + delta
	if next < 0 {
		// A number from before the start of the stream: treat as late.
		next = 0
	}
	t.Observe(uint64(next))
}

// isRestart reports whether 32-bit sequence seq starts the stream again.
func (t *Tracker) isRestart(seq uint32) bool {
	if !t.started || seq != 0 || t.highest == 0 {
		return false
	}
	d := int64(int32(0 - uint32(t.highest)))
	nearWrap := t.highest >= 1<<32-wrapWindow && d >= -wrapWindow && d <= wrapWindow
	return !nearWrap
}

// Reset forgets the stream, as at the start of a new session.
func (t *Tracker) Reset() { *t = Tracker{} }

// Received is the number of datagrams observed.
func (t *Tracker) Received() uint64 { return t.received }

// Missing is the number of sequence numbers skipped and not (yet) filled by
// a late arrival.
func (t *Tracker) Missing() uint64 { return t.missing }

// Late is the number of datagrams that arrived after a higher-numbered one.
func (t *Tracker) Late() uint64 { return t.late }

// Duplicates is the number of late datagrams that had no gap to fill.
func (t *Tracker) Duplicates() uint64 { return t.excess }

// Highest is the highest sequence number seen since the stream (re)started
// and whether any was seen.
func (t *Tracker) Highest() (uint64, bool) { return t.highest, t.started }

// Restarts is the number of times a 32-bit stream started again at 0.
func (t *Tracker) Restarts() uint64 { return t.restarts }

// Span is the least number of datagrams a sender that numbers each run
// from 0 must have sent to produce what was observed: highest + 1, summed
// over the runs between restarts (0 before any datagram).
func (t *Tracker) Span() uint64 {
	if !t.started {
		return t.spanBefore
	}
	return t.spanBefore + t.highest + 1
}

// Lost returns the loss of a stream of sent datagrams of which received
// arrived: sent - received, or 0 when duplicates make received larger.
func Lost(sent, received uint64) uint64 {
	if received >= sent {
		return 0
	}
	return sent - received
}

// Percent returns part as a percentage of whole, 0 when whole is 0.
func Percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
