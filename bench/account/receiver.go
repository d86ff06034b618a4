// Package account is the receiving side of a benchmark: [Receiver], the
// counting slave on an engine server, follows sequence numbers, checks
// PRBS frames, estimates RFC 3550 jitter from send stamps, answers the
// control messages of package wire, and turns its counters into sessions
// ([SessionSummary]) and intervals.
package account

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
)

// replier sends control replies and ping echoes back to the peer: the
// udp.Server the receiver is attached to.
type replier interface {
	Send(f engine.Frame) error
	AcceptReq(size int, zeroCopy bool) (engine.Frame, error)
}

// Receiver is the counting slave of a test: attached to an udp.Server,
// it counts data datagrams, follows their sequence numbers, checks PRBS
// frames, and answers control messages. AcceptFrame runs on the server's
// delivery goroutine; everything other goroutines read is published
// through atomics or, for the rare control events, under mu.
type Receiver struct {
	base time.Time // origin of the ns stamps
	// wallBase is base in ns since the Unix epoch, for comparing stamps
	// with the send times in datagrams.
	wallBase int64
	Reply    replier     // nil: no replies (the sender is in this process)
	stats    statsSource // the server's counters; nil in unit tests
	pinCPU   int         // CPU to pin the delivery thread to on the first frame; -1: none
	// MaxPayload is the largest datagram the server accepts, told to
	// clients in the welcome (0: not known).
	MaxPayload int
	// LockedThread says the delivery goroutine owns its OS thread, so
	// RUSAGE_THREAD on it measures delivery (false with a receive queue,
	// whose consumer goroutine moves between threads, and for a server
	// in the netpoller mode, whose receive goroutine is not locked).
	LockedThread bool
	// ProcessCPU says the receiver is alone in its process (a server):
	// without LockedThread a session's CPU is then the process's.
	ProcessCPU bool

	// ForcePRBS checks every data datagram as a PRBS frame (server
	// --prbs); otherwise only sessions that ask for it are checked.
	ForcePRBS bool
	prbs      prbsCheck

	// Published counters (written by the delivery goroutine only).
	Packets, Bytes atomic.Uint64
	Missing, Late  atomic.Uint64 // cumulative over sessions
	Restarts       atomic.Uint64 // PRBS streams started again at 0
	Sequenced      atomic.Bool   // some datagram's sequence number was tracked
	Pings          atomic.Uint64 // pings echoed
	FirstNs        atomic.Int64  // first data datagram, ns since base; 0 = none
	LastNs         atomic.Int64  // latest stamped data datagram
	bad            atomic.Uint64 // unusable frames (not one contiguous buffer)
	jitterBits     atomic.Uint64 // the session's jitter estimate, ns, as float64 bits
	warmup         atomic.Bool   // the open session is a warm-up (client -O)
	ControlErrors  atomic.Uint64 // malformed or unanswerable control messages

	// Delivery goroutine state.
	// pendPackets and pendBytes are data datagrams counted but not yet
	// added to packets and bytes: an atomic add costs as much as the
	// rest of AcceptFrame, so they are published with each stamp, at
	// each control message, and at the end (publishCounts).
	pendPackets, pendBytes uint64
	sinceStamp             int
	stride                 int   // datagrams between clock reads, 1..maxStride
	last                   int64 // latest stamp
	fresh                  bool  // the next data datagram is the first of a session
	track                  seqtrack.Tracker
	tracking               bool // sequence numbers mean something (session or PRBS)
	checking               bool // check PRBS
	lostBase               uint64
	Pinned                 bool
	PinErr                 error
	affinity               cpu.Affinity
	threadCPU              cpu.Usage // at the first data datagram of the session
	scratch                []byte
	head                   [wire.StampedLen]byte // the header of a split datagram
	stamped                bool                  // the session's datagrams carry send times
	jit                    jitter

	// Reverse takes a server's reverse tests to bench.Serve (nil: not a
	// server); replies takes the welcome and result messages a peer sends
	// to a server that sends a reverse test (nil: they are errors).
	Reverse     chan ReverseReq
	reverseSeen bool
	reverseLast uint64
	Replies     engine.Slave

	First     chan struct{} // closed at the first data datagram
	firstOnce sync.Once
	Events    chan SessionSummary // session ends, for bench.Serve and bench.Run

	mu         sync.Mutex
	Session    *session
	done       []SessionSummary
	LostAtEnds uint64 // sequence gaps of ended sessions (their loss is exact)
}

// session is one test opened by a hello (or implicitly by bench.Run).
type session struct {
	id           uint64
	params       SessionParams
	startPkts    uint64
	startBytes   uint64
	startNs      int64 // first data datagram of the session, 0 until then
	openNs       int64 // when the session opened
	startDrops   udp.Stats
	startPRBS    uint64
	startSeq     uint64 // Rogue sequence verdicts before the session
	startInvalid uint64
	startProc    cpu.Usage // the process's CPU time at the hello
	startWall    time.Time
	result       []byte // encoded result once ended
	ended        bool
}

// SessionParams is the body of a hello: what the client is about to send.
type SessionParams struct {
	Payload   int     `json:"payload"`
	PRBS      bool    `json:"prbs"`
	Transport string  `json:"transport"`
	Batch     int     `json:"batch"`
	Rate      string  `json:"rate"`
	Duration  float64 `json:"duration"`
	// Stamped says data datagrams carry their send time (wire.StampedLen);
	// Warmup marks the warm-up test of client -O.
	Stamped bool `json:"stamped,omitempty"`
	Warmup  bool `json:"warmup,omitempty"`
	// Reverse asks the server to send the test to the client (-R).
	Reverse bool `json:"reverse,omitempty"`
}

// SessionSummary is the receiver's account of one client's test, as the
// server reports it to the client at the end ("end.sum_received") and
// lists it in its own report ("end.sessions").
type SessionSummary struct {
	ID      report.SessionID `json:"id"`
	Client  string           `json:"client,omitempty"`
	Payload int              `json:"payload"`
	report.ReceivedSummary
	// SentPackets is the client's count from its end message.
	SentPackets uint64 `json:"sent_packets"`
	SentBytes   uint64 `json:"sent_bytes"`
	// SentRejected says why SentPackets was not believed (see
	// implausibleClaim); the loss is then the gaps in the sequence.
	SentRejected string `json:"sent_rejected,omitempty"`
	// PRBSSeqErrors counts Rogue's sequence verdicts (a gap or a late
	// frame); they mirror loss and reordering, not corruption.
	PRBSSeqErrors uint64 `json:"prbs_seq_errors"`
	// Omitted marks the warm-up test of client -O.
	Omitted bool `json:"omitted"`
	// CPU is the server process's CPU use over the session, in percent of
	// one CPU (iperf3's cpu_utilization_percent from the server's side).
	CPU report.HostCPU `json:"cpu_utilization_percent"`
}

// statsSource gives the receiver the server's drop counters.
type statsSource interface{ Stats() udp.Stats }

func NewReceiver(reply replier, stats statsSource, pinCPU int, forcePRBS bool) (*Receiver, error) {
	base := time.Now()
	return &Receiver{
		base:      base,
		wallBase:  base.UnixNano(),
		Reply:     reply,
		stats:     stats,
		stride:    1,
		fresh:     true,
		pinCPU:    pinCPU,
		ForcePRBS: forcePRBS,
		checking:  forcePRBS,
		tracking:  forcePRBS,
		First:     make(chan struct{}),
		Events:    make(chan SessionSummary, 16),
	}, nil
}

// BeginImplicit opens a session without a hello, for bench.Run, where the sender
// is in this process and its parameters are known.
func (r *Receiver) BeginImplicit(p SessionParams) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Session = &session{params: p, openNs: r.Now()}
	r.fresh = true
	r.tracking = true
	r.checking = p.PRBS || r.ForcePRBS
}

func (r *Receiver) Now() int64 { return int64(time.Since(r.base)) }

// AcceptFrame counts one received datagram or handles a control message.
func (r *Receiver) AcceptFrame(f engine.Frame) {
	data, err := f.Bytes()
	head, size := data, len(data)
	if err != nil {
		// A datagram spread over several buffers (a jumbo datagram in
		// 4 KiB AF_XDP chunks): the header is read out of it.
		if !errors.Is(err, engine.ErrNotContiguous) {
			r.bad.Add(1)
			return
		}
		size = f.Payload()
		n, _ := f.ReadAt(r.head[:], 0)
		head = r.head[:n]
	}
	if wire.IsControl(head) {
		if data == nil {
			r.ControlErrors.Add(1) // control messages are small: never split
			return
		}
		r.control(f, data)
		return
	}
	r.sinceStamp++
	if r.sinceStamp >= r.stride || r.fresh {
		r.stamp()
		if r.stamped {
			r.sampleJitter(head)
		}
	}
	r.pendPackets++
	r.pendBytes += uint64(size)
	if r.checking {
		r.checkPRBS(f, data)
	} else if r.tracking {
		seq, _ := wire.Seq(head)
		r.observe(seq, false)
	}
}

// checkPRBS checks a PRBS frame and feeds its sequence word to the tracker
// only when the word can be trusted: the frame passed (allowing for a gap
// before it), or its header is sound and only its payload failed beyond
// the first LFSR word, which is generated from word 0 and so vouches for
// it (a bit flip in the payload is corruption, not loss). Any other
// failing frame (a stray datagram, a fragment of an oversized frame, a
// damaged word 0) is a PRBS error and nothing else.
func (r *Receiver) checkPRBS(f engine.Frame, data []byte) {
	body, seq, v := r.prbs.check(f, data)
	trusted := false
	switch v {
	case prbsPassed, prbsGapSound:
		trusted = true
	case prbsGapBad, prbsCorrupt:
		trusted = seqVouched(body)
	}
	if trusted && r.tracking {
		r.observe(uint64(seq), true)
	}
}

// seqVouched reports whether a PRBS frame's word 2, the first LFSR word,
// is the one its word 0 seeds. It runs only for frames that failed.
func seqVouched(data []byte) bool {
	const n = 3 * prbsWordBytes
	if len(data) < n {
		return false
	}
	var want [n]byte
	if prbs.Fill(want[:], binary.LittleEndian.Uint32(data), report.PRBSWidth) != nil {
		return false
	}
	return [prbsWordBytes]byte(data[2*prbsWordBytes:n]) == [prbsWordBytes]byte(want[2*prbsWordBytes:])
}

// observe feeds one sequence number (32 bits wide for PRBS frames) to the
// tracker and publishes what changed.
func (r *Receiver) observe(seq uint64, prbsSeq bool) {
	missing, late, restarts := r.track.Missing(), r.track.Late(), r.track.Restarts()
	if r.track.Received() == 0 {
		r.Sequenced.Store(true)
	}
	if prbsSeq {
		r.track.Observe32(uint32(seq))
	} else {
		r.track.Observe(seq)
	}
	if m := r.track.Missing(); m != missing || r.track.Late() != late || r.track.Restarts() != restarts {
		r.Missing.Store(r.lostBase + m)
		r.Late.Add(r.track.Late() - late)
		r.Restarts.Add(r.track.Restarts() - restarts)
	}
}

// maxStride bounds the datagrams between two clock reads: at the rates
// where it is reached (stamps less than 50 us apart), 64 datagrams take
// well under 1 ms.
const maxStride = 64

// stamp records the time of the current datagram. A clock read costs as
// much as the rest of AcceptFrame, so at high rates only every stride-th
// datagram is stamped: the stride doubles while stamps come less than
// 50 us apart and falls back to 1 when they are over 1 ms apart, so the
// time of the latest datagram is always known to within about 1 ms.
func (r *Receiver) stamp() {
	r.PublishCounts()
	now := r.Now()
	if r.fresh {
		r.fresh = false
		r.startSession(now)
	} else {
		switch gap := now - r.last; {
		case gap < int64(50*time.Microsecond) && r.stride < maxStride:
			r.stride *= 2
		case gap > int64(time.Millisecond):
			r.stride = 1
		}
	}
	r.sinceStamp = 0
	r.last = now
	r.LastNs.Store(now)
}

// PublishCounts adds the pending datagram counts to the published ones. It
// runs on the delivery goroutine, or once that has ended (the server is
// closed).
func (r *Receiver) PublishCounts() {
	if r.pendPackets != 0 {
		r.Packets.Add(r.pendPackets)
		r.Bytes.Add(r.pendBytes)
		r.pendPackets, r.pendBytes = 0, 0
	}
}

// startSession runs on the delivery thread at the first data datagram of
// a session: it takes the session's CPU baseline and, the first time,
// pins the thread.
func (r *Receiver) startSession(now int64) {
	if r.FirstNs.Load() == 0 {
		r.FirstNs.Store(now)
		if r.pinCPU >= 0 && !r.Pinned && r.LockedThread {
			r.Pinned = true
			r.affinity, r.PinErr = cpu.Pin(0, r.pinCPU)
		}
		r.firstOnce.Do(func() { close(r.First) })
	}
	r.threadCPU, _ = cpu.Thread()
	r.mu.Lock()
	if s := r.Session; s != nil && s.startNs == 0 {
		s.startNs = now
	}
	r.mu.Unlock()
}

// control handles one control message on the delivery goroutine.
func (r *Receiver) control(f engine.Frame, data []byte) {
	r.PublishCounts() // sessions start and end on exact counts
	m, err := wire.Decode(data)
	if err != nil {
		r.ControlErrors.Add(1)
		return
	}
	switch m.Type {
	case wire.TypePing:
		if r.Reply == nil {
			return
		}
		if r.Reply.Send(f) != nil {
			r.ControlErrors.Add(1)
			return
		}
		r.Pings.Add(1)
	case wire.TypeHello:
		r.hello(m)
	case wire.TypeEnd:
		r.end(m)
	case wire.TypeWelcome, wire.TypeResult:
		if r.Replies == nil {
			r.ControlErrors.Add(1)
			return
		}
		r.Replies.AcceptFrame(f)
	default:
		r.ControlErrors.Add(1)
	}
}

// hello opens a session, or repeats the welcome of the open one.
func (r *Receiver) hello(m wire.Message) {
	var p SessionParams
	if err := json.Unmarshal(m.Body, &p); err != nil {
		r.ControlErrors.Add(1)
		return
	}
	if p.Reverse {
		r.reverseHello(m, p)
		return
	}
	r.mu.Lock()
	if r.Session == nil || r.Session.id != m.Session {
		r.lostBase += r.track.Missing()
		r.track.Reset()
		r.tracking = true
		r.checking = p.PRBS || r.ForcePRBS
		r.fresh = true
		r.resetJitter(p.Stamped)
		r.warmup.Store(p.Warmup)
		r.Session = &session{
			startWall:    time.Now(),
			id:           m.Session,
			params:       p,
			openNs:       r.Now(),
			startPkts:    r.Packets.Load(),
			startBytes:   r.Bytes.Load(),
			startPRBS:    r.PRBSErrors(),
			startSeq:     r.prbs.seqErrors.Load(),
			startInvalid: r.Invalid(),
		}
		if r.stats != nil {
			r.Session.startDrops = r.stats.Stats()
		}
		r.Session.startProc, _ = cpu.Process()
	}
	r.mu.Unlock()
	r.send(wire.Message{Type: wire.TypeWelcome, Session: m.Session, A: uint64(r.MaxPayload)}, nil)
}

// end closes the session the message names and answers with its result;
// a repeated end gets the same answer. The result goes out before the
// Session's end is published on events: whoever reads events may close
// the socket at once (a reverse client exits once its receiver has
// summarized the test), and a result sent after that would be lost.
func (r *Receiver) end(m wire.Message) {
	r.mu.Lock()
	s := r.Session
	if s == nil || s.id != m.Session {
		r.mu.Unlock()
		r.ControlErrors.Add(1)
		return
	}
	var sum SessionSummary
	first := !s.ended
	if first {
		sum = r.closeSession(s, m.A, m.B)
	}
	result := s.result
	r.mu.Unlock()
	r.send(wire.Message{Type: wire.TypeResult, Session: m.Session}, result)
	if first {
		select {
		case r.Events <- sum:
		default:
		}
	}
}

// closeSession summarizes s, whose end message claims sent datagrams of
// sentBytes in all, and resets the per-session state; r.mu is held.
func (r *Receiver) closeSession(s *session, sent, sentBytes uint64) SessionSummary {
	sum := r.summarize(s, sent, sentBytes)
	s.ended = true
	s.result, _ = json.Marshal(sum)
	r.done = append(r.done, sum)
	// The session's loss is now known exactly; the running gap count
	// Restarts for whatever comes next.
	r.LostAtEnds += r.track.Missing()
	r.lostBase += r.track.Missing()
	r.track.Reset()
	r.stamped = false
	r.warmup.Store(false)
	r.tracking = r.ForcePRBS
	r.checking = r.ForcePRBS
	return sum
}

// summarize computes a session's result on the delivery goroutine; r.mu
// is held.
func (r *Receiver) summarize(s *session, sent, sentBytes uint64) SessionSummary {
	packets := r.Packets.Load() - s.startPkts
	sum := SessionSummary{ID: report.SessionID(s.id), Payload: s.params.Payload, SentPackets: sent, SentBytes: sentBytes, Omitted: s.params.Warmup}
	sum.CPU = report.SessionCPU(s.startProc, s.startWall)
	v := &sum.ReceivedSummary
	v.Packets = packets
	v.Bytes = r.Bytes.Load() - s.startBytes
	if s.startNs > 0 {
		v.Start = 0
		v.Seconds = float64(max(r.LastNs.Load(), s.startNs)-s.startNs) / 1e9
		v.End = v.Seconds
	}
	v.SetRates()
	v.LossKnown = true
	v.Invalid = r.Invalid() - s.startInvalid
	sum.SentRejected = r.judgeClaim(s, sent)
	if sum.SentRejected == "" {
		v.LostPackets = seqtrack.Lost(sent, packets)
		v.LostPercent = seqtrack.Percent(v.LostPackets, sent)
	} else {
		v.LostPackets = r.track.Missing()
		v.LostPercent = seqtrack.Percent(v.LostPackets, v.LostPackets+packets)
	}
	v.OutOfOrder = r.track.Late()
	v.Restarts = r.track.Restarts()
	if s.params.Stamped {
		v.JitterMs = r.JitterMs()
	}
	v.PRBSErrors = r.PRBSErrors() - s.startPRBS
	if v.PRBSErrors > 0 {
		// Bounded so that the result fits one datagram.
		v.PRBSFirstError = truncate(r.FirstPRBSError(), 300)
	}
	if p, ok := r.Reply.(interface{ Peer() netip.AddrPort }); ok {
		sum.Client = p.Peer().String()
	}
	sum.PRBSSeqErrors = r.prbs.seqErrors.Load() - s.startSeq
	if r.stats != nil {
		st := r.stats.Stats()
		v.KernelDrops = KernelDrops(st) - KernelDrops(s.startDrops)
		v.RingDrops = st.RingDrops - s.startDrops.RingDrops
		v.PoolExhausted = st.RxPoolExhausted - s.startDrops.RxPoolExhausted
		v.Oversize = st.RxOversize - s.startDrops.RxOversize
		v.Invalid += st.XDP.RxMalformed - s.startDrops.XDP.RxMalformed
		v.GRO = st.GRO
	}
	r.sessionCPU(s, &v.Totals)
	return sum
}

// sessionCPU sets a session's CPU time: the delivery thread's since the
// first data datagram when it owns its thread, else, for a receiver alone
// in its process, the process's since the hello.
func (r *Receiver) sessionCPU(s *session, v *report.Totals) {
	switch {
	case s.startNs > 0 && r.LockedThread:
		if t, err := cpu.Thread(); err == nil {
			v.SetCPU(t.Sub(r.threadCPU), "thread")
		}
	case s.startNs > 0 && r.ProcessCPU:
		if p, err := cpu.Process(); err == nil {
			v.SetCPU(p.Sub(s.startProc), "process")
		}
	}
}

// judgeClaim checks a session's sent count against what the receiver saw
// (see implausibleClaim) and says why it is not believed, or "".
func (r *Receiver) judgeClaim(s *session, sent uint64) string {
	now := r.Now()
	var active, tail float64
	if s.startNs > 0 {
		last := max(r.LastNs.Load(), s.startNs)
		active = float64(last-s.startNs) / 1e9
		tail = float64(now-last) / 1e9
	} else {
		tail = float64(now-s.openNs) / 1e9
	}
	return implausibleClaim(sent, r.track.Span(), active, tail)
}

// Bounds of a believable sent count.
const (
	// maxPlausibleRate is datagrams per second no sender exceeds: 800
	// Gbit/s Ethernet carries at most 1.19e9 minimum-size frames a second.
	maxPlausibleRate = 1.5e9
	// rateHeadroom is how much faster than the sequence advanced while
	// datagrams arrived a sender may have sent the tail that did not.
	rateHeadroom = 4
	// minRateSpan is the least arrival span (s) a rate is estimated from.
	minRateSpan = 0.010
	// tailGrace (s) covers the end message's own delay.
	tailGrace = 0.100
	// claimSlack covers a last batch sent just before the end.
	claimSlack = 2 * wire.MaxBurst
)

// implausibleClaim says why a sender's count of claim datagrams cannot be
// true, or returns "". span is the least count the sequence numbers seen
// prove (seqtrack.Span), active the seconds from the first to the last
// datagram received, tail the seconds from then (or from the session's
// start, if nothing arrived) to the end message. A count is believed when
// it is at least span and at most span plus what the sender could have
// sent in tail + tailGrace at rateHeadroom times the rate its sequence
// advanced (at maxPlausibleRate when active is under minRateSpan), plus
// claimSlack.
func implausibleClaim(claim, span uint64, active, tail float64) string {
	if claim < span {
		return fmt.Sprintf("fewer than the %d datagrams its sequence numbers show it sent", span)
	}
	rate := maxPlausibleRate
	if active >= minRateSpan {
		rate = rateHeadroom * float64(span) / active
	}
	limit := float64(span) + rate*(max(tail, 0)+tailGrace) + claimSlack
	if float64(claim) > limit {
		return fmt.Sprintf("more than the at most %.0f that fit the session (%d sequence numbers seen, then %.3f s without data)", limit, span, tail)
	}
	return ""
}

// PRBSErrors is the number of frames that failed the PRBS integrity
// checks: Rogue's error count without its sequence verdicts, which are
// loss and reordering (reported as such), plus failures found on frames
// that followed a gap.
func (r *Receiver) PRBSErrors() uint64 { return r.prbs.errors() }

// FirstPRBSError describes the first integrity failure or, when there was
// none, the first failure of any kind.
func (r *Receiver) FirstPRBSError() string { return r.prbs.firstError() }

// send transmits a control message to the peer, if replies are on.
func (r *Receiver) send(m wire.Message, body []byte) {
	if r.Reply == nil {
		return
	}
	size := wire.HeaderLen + len(body)
	f, err := r.Reply.AcceptReq(size, true)
	if err != nil {
		r.ControlErrors.Add(1)
		return
	}
	defer f.Release()
	m.Body = body
	r.scratch = wire.Encode(r.scratch[:0], m)
	if _, err := f.WriteAt(r.scratch, 0); err != nil || r.Reply.Send(f) != nil {
		r.ControlErrors.Add(1)
	}
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Invalid counts datagrams the receiver could not use.
func (r *Receiver) Invalid() uint64 { return r.bad.Load() + r.ControlErrors.Load() }

// Sessions returns the summaries of the sessions that ended.
func (r *Receiver) Sessions() []SessionSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SessionSummary(nil), r.done...)
}

// RestoreAffinity gives the delivery thread its CPU mask back after the
// server has stopped.
func (r *Receiver) RestoreAffinity() error { return r.affinity.Restore() }

// Counters is a snapshot of the receiver's published counters.
type Counters struct {
	Packets, Bytes, Missing, Late, prbs uint64
	kernelDrops, ringDrops              uint64
	jitterMs                            float64
	warmup                              bool
}

func (r *Receiver) Snapshot() Counters {
	c := Counters{
		Packets:  r.Packets.Load(),
		Bytes:    r.Bytes.Load(),
		Missing:  r.Missing.Load(),
		Late:     r.Late.Load(),
		prbs:     r.PRBSErrors(),
		jitterMs: r.JitterMs(),
		warmup:   r.warmup.Load(),
	}
	if r.stats != nil {
		st := r.stats.Stats()
		c.kernelDrops, c.ringDrops = KernelDrops(st), st.RingDrops
	}
	return c
}

// ReverseReq asks the server to send a reverse test.
type ReverseReq struct {
	Session uint64
	Params  SessionParams
}

// reverseHello handles a hello asking for a reverse test, on the delivery
// goroutine: it welcomes it and, the first time, hands it to bench.Serve.
func (r *Receiver) reverseHello(m wire.Message, p SessionParams) {
	if r.Reverse == nil {
		r.ControlErrors.Add(1) // not a server
		return
	}
	if !r.reverseSeen || r.reverseLast != m.Session {
		r.reverseSeen, r.reverseLast = true, m.Session
		select {
		case r.Reverse <- ReverseReq{Session: m.Session, Params: p}:
		default:
			r.ControlErrors.Add(1)
			return
		}
	}
	r.send(wire.Message{Type: wire.TypeWelcome, Session: m.Session, A: uint64(r.MaxPayload)}, nil)
}

// KernelDrops is what the kernel dropped before the engine saw it: socket
// buffers of the sockets (sk_drops, read through SO_MEMINFO) and, with
// AF_XDP, the packets the socket dropped, each once (an empty fill ring is
// counted twice by the kernel; XDP.DroppedPackets counts it once).
func KernelDrops(st udp.Stats) uint64 {
	return st.KernelDroppedBuffers + st.XDP.DroppedPackets()
}
