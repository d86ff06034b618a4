package natsjs

import (
	"sync/atomic"
	"time"
)

// PublisherStats is a snapshot of a Publisher's counters, in frames unless
// a name says bytes or messages. Every frame handed to AcceptFrame is in
// exactly one of Batched and the Dropped counters; every batched frame is
// in exactly one of Acked, Unacked and Pending:
//
//	Frames  = Batched + DroppedInvalid + DroppedClosed + DroppedOversize + DroppedFull
//	Batched = Acked + Unacked + Pending
type PublisherStats struct {
	// Frames and Bytes count what AcceptFrame was given (payload bytes).
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
	// Batched counts frames copied into a message.
	Batched uint64 `json:"batched"`
	// Published counts frames in messages handed to the client library
	// at least once; Messages those messages, Resent the repeated sends.
	Published uint64 `json:"published"`
	Messages  uint64 `json:"messages"`
	Resent    uint64 `json:"resent"`
	// Acked counts frames in messages the server acknowledged as stored;
	// AckedBytes their payload bytes, AckedMessages the messages.
	// Duplicates counts messages the server acknowledged as already held
	// (a resend after a lost ack; stored once).
	Acked         uint64 `json:"acked"`
	AckedBytes    uint64 `json:"acked_bytes"`
	AckedMessages uint64 `json:"acked_messages"`
	Duplicates    uint64 `json:"duplicates"`
	// Pending counts frames batched and not yet settled (in an open batch,
	// queued, or awaiting an ack); PendingBytes the message bytes sealed
	// and not yet settled.
	Pending      uint64 `json:"pending"`
	PendingBytes uint64 `json:"pending_bytes"`
	// Unacked counts frames in messages given up: no ack within RetryFor,
	// or still unacknowledged when Close's wait ran out. The server may
	// or may not hold them. UnackedMessages counts the messages.
	Unacked         uint64 `json:"unacked"`
	UnackedMessages uint64 `json:"unacked_messages"`
	// Dropped frames, by cause, never sent: DroppedInvalid a released or
	// unreadable frame, DroppedClosed a frame after Close,
	// DroppedOversize a frame larger than the server's message limit,
	// DroppedFull a frame that found no room under MaxPendingBytes
	// within MaxWait.
	DroppedInvalid  uint64 `json:"dropped_invalid"`
	DroppedClosed   uint64 `json:"dropped_closed"`
	DroppedOversize uint64 `json:"dropped_oversize"`
	DroppedFull     uint64 `json:"dropped_full"`
	// PublishErrors counts failed publish attempts (each is resent until
	// RetryFor runs out).
	PublishErrors uint64 `json:"publish_errors"`
	// LatencyMean and LatencyMax are the time from a message's first
	// publish to its ack, over acknowledged messages.
	LatencyMean time.Duration `json:"latency_mean_ns"`
	LatencyMax  time.Duration `json:"latency_max_ns"`
}

// NotAcked is the number of frames given to AcceptFrame that the server
// has not acknowledged: dropped, given up or still pending.
func (s PublisherStats) NotAcked() uint64 { return s.Frames - s.Acked }

// Dropped is the sum of the Dropped counters.
func (s PublisherStats) Dropped() uint64 {
	return s.DroppedInvalid + s.DroppedClosed + s.DroppedOversize + s.DroppedFull
}

type pubCounters struct {
	frames, bytes, batched, published, messages, resent         atomic.Uint64
	acked, ackedBytes, ackedMessages, duplicates                atomic.Uint64
	unacked, unackedMessages, publishErrors                     atomic.Uint64
	droppedInvalid, droppedClosed, droppedOversize, droppedFull atomic.Uint64
	latencySum, latencyMax                                      atomic.Int64
	pendingBytes                                                atomic.Int64
}

func (c *pubCounters) snapshot() PublisherStats {
	s := PublisherStats{
		Frames: c.frames.Load(), Bytes: c.bytes.Load(), Batched: c.batched.Load(),
		Published: c.published.Load(), Messages: c.messages.Load(), Resent: c.resent.Load(),
		AckedBytes: c.ackedBytes.Load(), AckedMessages: c.ackedMessages.Load(),
		Duplicates: c.duplicates.Load(), UnackedMessages: c.unackedMessages.Load(),
		PublishErrors:  c.publishErrors.Load(),
		DroppedInvalid: c.droppedInvalid.Load(), DroppedClosed: c.droppedClosed.Load(),
		DroppedOversize: c.droppedOversize.Load(), DroppedFull: c.droppedFull.Load(),
		PendingBytes: uint64(max(c.pendingBytes.Load(), 0)),
		LatencyMax:   time.Duration(c.latencyMax.Load()),
	}
	// settled counters are read after batched so Pending never underflows
	s.Acked, s.Unacked = c.acked.Load(), c.unacked.Load()
	if s.Batched > s.Acked+s.Unacked {
		s.Pending = s.Batched - s.Acked - s.Unacked
	}
	if s.AckedMessages > 0 {
		s.LatencyMean = time.Duration(c.latencySum.Load() / int64(s.AckedMessages))
	}
	return s
}

func (c *pubCounters) noteLatency(d time.Duration) {
	c.latencySum.Add(int64(d))
	for {
		m := c.latencyMax.Load()
		if int64(d) <= m || c.latencyMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// ReaderStats is a snapshot of a Reader's counters.
type ReaderStats struct {
	// Messages counts messages received; Frames and Bytes the frames
	// handed to the slaves and their payload bytes.
	Messages uint64 `json:"messages"`
	Frames   uint64 `json:"frames"`
	Bytes    uint64 `json:"bytes"`
	// Malformed counts messages dropped whole for their format
	//.
	Malformed uint64 `json:"malformed"`
	// PoolExhausted counts records dropped because the pool refused a
	// frame.
	PoolExhausted uint64 `json:"pool_exhausted"`
	// Gaps counts frames missing by sequence (per publisher run and
	// channel: a jump forward by k counts k-1). Backward counts records
	// whose sequence was not above the last seen (a resend out of order
	// or a repeat); they are still delivered.
	Gaps     uint64 `json:"gaps"`
	Backward uint64 `json:"backward"`
	// Runs counts changes of publisher run seen (a new publisher).
	Runs uint64 `json:"runs"`
	// PullErrors counts failed pulls (the reader waits and pulls again).
	PullErrors uint64 `json:"pull_errors"`
	// LastStreamSeq is the stream sequence of the last message received.
	LastStreamSeq uint64 `json:"last_stream_seq"`
}

type readCounters struct {
	messages, frames, bytes, malformed, poolExhausted atomic.Uint64
	gaps, backward, runs, lastSeq, errors             atomic.Uint64
}

func (c *readCounters) snapshot() ReaderStats {
	return ReaderStats{
		Messages: c.messages.Load(), Frames: c.frames.Load(), Bytes: c.bytes.Load(),
		Malformed: c.malformed.Load(), PoolExhausted: c.poolExhausted.Load(),
		Gaps: c.gaps.Load(), Backward: c.backward.Load(), Runs: c.runs.Load(),
		LastStreamSeq: c.lastSeq.Load(), PullErrors: c.errors.Load(),
	}
}
