package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/internal/seqtrack"
	"udpstream.dev/bench/internal/wire"
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

// receiver is the counting slave of a test: attached to an udp.Server,
// it counts data datagrams, follows their sequence numbers, checks PRBS
// frames, and answers control messages. AcceptFrame runs on the server's
// delivery goroutine; everything other goroutines read is published
// through atomics or, for the rare control events, under mu.
type receiver struct {
	base   time.Time   // origin of the ns stamps
	reply  replier     // nil: no replies (the sender is in this process)
	stats  statsSource // the server's counters; nil in unit tests
	pinCPU int         // CPU to pin the delivery thread to on the first frame; -1: none
	// maxPayload is the largest datagram the server accepts, told to
	// clients in the welcome (0: not known).
	maxPayload int
	// lockedThread says the delivery goroutine owns its OS thread, so
	// RUSAGE_THREAD on it measures delivery (false with a receive queue,
	// whose consumer goroutine moves between threads).
	lockedThread bool

	// forcePRBS checks every data datagram as a PRBS frame (server
	// --prbs); otherwise only sessions that ask for it are checked.
	forcePRBS bool
	checker   *prbs.Checker

	// Published counters (written by the delivery goroutine only).
	packets, bytes atomic.Uint64
	missing, late  atomic.Uint64 // cumulative over sessions
	gapErrors      atomic.Uint64 // PRBS failures found on frames after a gap
	firstNs        atomic.Int64  // first data datagram, ns since base; 0 = none
	lastNs         atomic.Int64  // latest stamped data datagram
	bad            atomic.Uint64 // unusable frames (not one contiguous buffer)
	controlErrors  atomic.Uint64 // malformed or unanswerable control messages

	// Delivery goroutine state.
	sinceStamp int
	stride     int   // datagrams between clock reads, 1..maxStride
	last       int64 // latest stamp
	fresh      bool  // the next data datagram is the first of a session
	track      seqtrack.Tracker
	tracking   bool // sequence numbers mean something (session or PRBS)
	checking   bool // check PRBS
	lostBase   uint64
	firstErr   error
	pinned     bool
	pinErr     error
	affinity   cpu.Affinity
	threadCPU  cpu.Usage // at the first data datagram of the session
	scratch    []byte
	head       [wire.SeqLen]byte // the header of a split datagram

	first     chan struct{} // closed at the first data datagram
	firstOnce sync.Once
	events    chan SessionSummary // session ends, for Serve and Run

	mu         sync.Mutex
	session    *session
	done       []SessionSummary
	lostAtEnds uint64 // sequence gaps of ended sessions (their loss is exact)
}

// session is one test opened by a hello (or implicitly by Run).
type session struct {
	id           uint64
	params       sessionParams
	startPkts    uint64
	startBytes   uint64
	startNs      int64 // first data datagram of the session, 0 until then
	startDrops   udp.Stats
	startPRBS    uint64
	startSeq     uint64 // Rogue sequence verdicts before the session
	startInvalid uint64
	result       []byte // encoded result once ended
	ended        bool
}

// sessionParams is the body of a hello: what the client is about to send.
type sessionParams struct {
	Payload   int     `json:"payload"`
	PRBS      bool    `json:"prbs"`
	Transport string  `json:"transport"`
	Batch     int     `json:"batch"`
	Rate      string  `json:"rate"`
	Duration  float64 `json:"duration"`
}

// SessionSummary is the receiver's account of one client's test, as the
// server reports it to the client at the end ("end.sum_received") and
// lists it in its own report ("end.sessions").
type SessionSummary struct {
	ID      uint64 `json:"id"`
	Client  string `json:"client,omitempty"`
	Payload int    `json:"payload"`
	ReceivedSummary
	// SentPackets is the client's count from its end message.
	SentPackets uint64 `json:"sent_packets"`
	SentBytes   uint64 `json:"sent_bytes"`
	// PRBSSeqErrors counts Rogue's sequence verdicts (a gap or a late
	// frame); they mirror loss and reordering, not corruption.
	PRBSSeqErrors uint64 `json:"prbs_seq_errors"`
}

// statsSource gives the receiver the server's drop counters.
type statsSource interface{ Stats() udp.Stats }

func newReceiver(reply replier, stats statsSource, pinCPU int, forcePRBS bool) (*receiver, error) {
	ck, err := prbs.NewChecker(PRBSWidth)
	if err != nil {
		return nil, err
	}
	return &receiver{
		base:      time.Now(),
		reply:     reply,
		stats:     stats,
		stride:    1,
		fresh:     true,
		pinCPU:    pinCPU,
		forcePRBS: forcePRBS,
		checking:  forcePRBS,
		tracking:  forcePRBS,
		checker:   ck,
		first:     make(chan struct{}),
		events:    make(chan SessionSummary, 16),
	}, nil
}

// beginImplicit opens a session without a hello, for Run, where the sender
// is in this process and its parameters are known.
func (r *receiver) beginImplicit(p sessionParams) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.session = &session{params: p}
	r.fresh = true
	r.tracking = true
	r.checking = p.PRBS || r.forcePRBS
}

func (r *receiver) now() int64 { return int64(time.Since(r.base)) }

// AcceptFrame counts one received datagram or handles a control message.
func (r *receiver) AcceptFrame(f engine.Frame) {
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
			r.controlErrors.Add(1) // control messages are small: never split
			return
		}
		r.control(f, data)
		return
	}
	r.sinceStamp++
	if r.sinceStamp >= r.stride || r.fresh {
		r.stamp()
	}
	r.packets.Add(1)
	r.bytes.Add(uint64(size))
	if r.tracking {
		missing, late := r.track.Missing(), r.track.Late()
		if r.checking {
			seq, _ := wire.PRBSSeq(head)
			r.track.Observe32(seq)
		} else {
			seq, _ := wire.Seq(head)
			r.track.Observe(seq)
		}
		if m := r.track.Missing(); m != missing || r.track.Late() != late {
			r.missing.Store(r.lostBase + m)
			r.late.Add(r.track.Late() - late)
		}
	}
	if r.checking {
		seqErrors := r.checker.Stats().SeqErrors
		r.checker.AcceptFrame(f)
		if r.checker.Stats().SeqErrors != seqErrors {
			r.checkAfterGap(f, data)
		}
	}
}

// maxStride bounds the datagrams between two clock reads.
const maxStride = 16

// stamp records the time of the current datagram. A clock read costs as
// much as the rest of AcceptFrame, so at high rates only every stride-th
// datagram is stamped: the stride doubles while stamps come less than
// 50 us apart and falls back to 1 when they are over 1 ms apart, so the
// time of the latest datagram is always known to within about 1 ms.
func (r *receiver) stamp() {
	now := r.now()
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
	r.lastNs.Store(now)
}

// checkAfterGap verifies the payload of a frame that Rogue's checker
// rejected for its sequence number alone (after a gap or a late frame),
// so that no frame goes unchecked. data is nil for a split frame, which is
// copied out first (this happens once per gap, not per datagram).
func (r *receiver) checkAfterGap(f engine.Frame, data []byte) {
	if data == nil {
		if cap(r.scratch) < f.Payload() {
			r.scratch = make([]byte, f.Payload())
		}
		n, _ := f.ReadAt(r.scratch[:f.Payload()], 0)
		data = r.scratch[:n]
	}
	if _, err := prbs.Verify(data, PRBSWidth); err != nil {
		r.gapErrors.Add(1)
		if r.firstErr == nil {
			r.firstErr = err
		}
	}
}

// startSession runs on the delivery thread at the first data datagram of
// a session: it takes the session's CPU baseline and, the first time,
// pins the thread.
func (r *receiver) startSession(now int64) {
	if r.firstNs.Load() == 0 {
		r.firstNs.Store(now)
		if r.pinCPU >= 0 && !r.pinned && r.lockedThread {
			r.pinned = true
			r.affinity, r.pinErr = cpu.Pin(0, r.pinCPU)
		}
		r.firstOnce.Do(func() { close(r.first) })
	}
	r.threadCPU, _ = cpu.Thread()
	r.mu.Lock()
	if s := r.session; s != nil && s.startNs == 0 {
		s.startNs = now
	}
	r.mu.Unlock()
}

// control handles one control message on the delivery goroutine.
func (r *receiver) control(f engine.Frame, data []byte) {
	m, err := wire.Decode(data)
	if err != nil {
		r.controlErrors.Add(1)
		return
	}
	switch m.Type {
	case wire.TypePing:
		if r.reply != nil && r.reply.Send(f) != nil {
			r.controlErrors.Add(1)
		}
	case wire.TypeHello:
		r.hello(m)
	case wire.TypeEnd:
		r.end(m)
	default:
		r.controlErrors.Add(1)
	}
}

// hello opens a session, or repeats the welcome of the open one.
func (r *receiver) hello(m wire.Message) {
	var p sessionParams
	if err := json.Unmarshal(m.Body, &p); err != nil {
		r.controlErrors.Add(1)
		return
	}
	r.mu.Lock()
	if r.session == nil || r.session.id != m.Session {
		r.lostBase += r.track.Missing()
		r.track.Reset()
		r.tracking = true
		r.checking = p.PRBS || r.forcePRBS
		r.fresh = true
		r.session = &session{
			id:           m.Session,
			params:       p,
			startPkts:    r.packets.Load(),
			startBytes:   r.bytes.Load(),
			startPRBS:    r.prbsErrors(),
			startSeq:     r.checker.Stats().SeqErrors,
			startInvalid: r.invalid(),
		}
		if r.stats != nil {
			r.session.startDrops = r.stats.Stats()
		}
	}
	r.mu.Unlock()
	r.send(wire.Message{Type: wire.TypeWelcome, Session: m.Session, A: uint64(r.maxPayload)}, nil)
}

// end closes the session the message names and answers with its result;
// a repeated end gets the same answer.
func (r *receiver) end(m wire.Message) {
	r.mu.Lock()
	s := r.session
	if s == nil || s.id != m.Session {
		r.mu.Unlock()
		r.controlErrors.Add(1)
		return
	}
	if !s.ended {
		sum := r.summarize(s, m.A, m.B)
		s.ended = true
		s.result, _ = json.Marshal(sum)
		r.done = append(r.done, sum)
		// The session's loss is now known exactly; the running gap count
		// restarts for whatever comes next.
		r.lostAtEnds += r.track.Missing()
		r.lostBase += r.track.Missing()
		r.track.Reset()
		r.tracking = r.forcePRBS
		r.checking = r.forcePRBS
		select {
		case r.events <- sum:
		default:
		}
	}
	result := s.result
	r.mu.Unlock()
	r.send(wire.Message{Type: wire.TypeResult, Session: m.Session}, result)
}

// summarize computes a session's result on the delivery goroutine; r.mu
// is held.
func (r *receiver) summarize(s *session, sent, sentBytes uint64) SessionSummary {
	packets := r.packets.Load() - s.startPkts
	sum := SessionSummary{ID: s.id, Payload: s.params.Payload, SentPackets: sent, SentBytes: sentBytes}
	v := &sum.ReceivedSummary
	v.Packets = packets
	v.Bytes = r.bytes.Load() - s.startBytes
	if s.startNs > 0 {
		v.Start = 0
		v.Seconds = float64(max(r.lastNs.Load(), s.startNs)-s.startNs) / 1e9
		v.End = v.Seconds
	}
	v.setRates()
	v.LossKnown = true
	v.Invalid = r.invalid() - s.startInvalid
	v.LostPackets = seqtrack.Lost(sent, packets)
	v.LostPercent = seqtrack.Percent(v.LostPackets, sent)
	v.OutOfOrder = r.track.Late()
	v.PRBSErrors = r.prbsErrors() - s.startPRBS
	if v.PRBSErrors > 0 {
		// Bounded so that the result fits one datagram.
		v.PRBSFirstError = truncate(r.firstPRBSError(), 300)
	}
	if p, ok := r.reply.(interface{ Peer() netip.AddrPort }); ok {
		sum.Client = p.Peer().String()
	}
	sum.PRBSSeqErrors = r.checker.Stats().SeqErrors - s.startSeq
	if r.stats != nil {
		st := r.stats.Stats()
		v.KernelDrops = kernelDrops(st) - kernelDrops(s.startDrops)
		v.RingDrops = st.RingDrops - s.startDrops.RingDrops
		v.PoolExhausted = st.RxPoolExhausted - s.startDrops.RxPoolExhausted
		v.Oversize = st.RxOversize - s.startDrops.RxOversize
		v.Invalid += st.XDP.RxMalformed - s.startDrops.XDP.RxMalformed
		v.GRO = st.GRO
	}
	if s.startNs > 0 && r.lockedThread {
		if t, err := cpu.Thread(); err == nil {
			u := t.Sub(r.threadCPU)
			v.setCPU(u, "thread")
		}
	}
	return sum
}

// prbsErrors is the number of frames that failed the PRBS integrity
// checks: Rogue's error count without its sequence verdicts, which are
// loss and reordering (reported as such), plus failures found on frames
// that followed a gap.
func (r *receiver) prbsErrors() uint64 {
	st := r.checker.Stats()
	return st.PayloadErrors + st.SizeErrors + st.FrameErrors + r.gapErrors.Load()
}

// firstPRBSError describes the first integrity failure.
func (r *receiver) firstPRBSError() string {
	if err := r.checker.FirstError(); err != nil && (errors.Is(err, prbs.ErrPayload) || errors.Is(err, prbs.ErrSize)) {
		return err.Error()
	}
	if r.firstErr != nil {
		return r.firstErr.Error()
	}
	if err := r.checker.FirstError(); err != nil {
		return fmt.Sprintf("see counters; first failure of any kind: %v", err)
	}
	return ""
}

// send transmits a control message to the peer, if replies are on.
func (r *receiver) send(m wire.Message, body []byte) {
	if r.reply == nil {
		return
	}
	size := wire.HeaderLen + len(body)
	f, err := r.reply.AcceptReq(size, true)
	if err != nil {
		r.controlErrors.Add(1)
		return
	}
	defer f.Release()
	m.Body = body
	r.scratch = wire.Encode(r.scratch[:0], m)
	if _, err := f.WriteAt(r.scratch, 0); err != nil || r.reply.Send(f) != nil {
		r.controlErrors.Add(1)
	}
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// invalid counts datagrams the receiver could not use.
func (r *receiver) invalid() uint64 { return r.bad.Load() + r.controlErrors.Load() }

// sessions returns the summaries of the sessions that ended.
func (r *receiver) sessions() []SessionSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SessionSummary(nil), r.done...)
}

// restoreAffinity gives the delivery thread its CPU mask back after the
// server has stopped.
func (r *receiver) restoreAffinity() error { return r.affinity.Restore() }

// counters is a snapshot of the receiver's published counters.
type counters struct {
	packets, bytes, missing, late, prbs uint64
	kernelDrops, ringDrops              uint64
}

func (r *receiver) snapshot() counters {
	c := counters{
		packets: r.packets.Load(),
		bytes:   r.bytes.Load(),
		missing: r.missing.Load(),
		late:    r.late.Load(),
		prbs:    r.prbsErrors(),
	}
	if r.stats != nil {
		st := r.stats.Stats()
		c.kernelDrops, c.ringDrops = kernelDrops(st), st.RingDrops
	}
	return c
}
