// Package traffic generates the benchmark's datagrams: [Sender] streams
// sequence-numbered or PRBS frames through an engine client in batches,
// without allocating per batch, and counts what it sent.
package traffic

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"udpstream.dev/bench/internal/rate"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
	"udpstream.dev/mmsg"
)

// Transmitter is what the sender needs of an udp.Client.
type Transmitter interface {
	SendBatch(fs []engine.Frame) (int, error)
	Send(f engine.Frame) error
	AcceptReq(size int, zeroCopy bool) (engine.Frame, error)
}

// Sender streams sequence-numbered (or PRBS) datagrams through an
// udp.Client. With the socket transports it allocates one batch of
// Frames from the client's pool up front and rewrites their headers for
// every batch, so the loop does not allocate: SendBatch sends synchronously
// and leaves the frames to the caller. With AF_XDP the engine keeps a sent
// buffer until the kernel has transmitted it, so the sender takes fresh
// Frames from the pool (the UMEM) for every batch and releases them after
// SendBatch; the pool recycles them without allocating.
type Sender struct {
	tx      Transmitter
	payload int
	prbs    bool
	Stamp   bool // write the send time after the sequence number
	fresh   bool // new frames for every batch
	Frames  []engine.Frame
	Mem     [][]byte // each frame's memory; nil for a frame split over buffers
	scratch []byte   // a split frame's contents, written with WriteAt
	seq     uint64

	// Published for interval reports.
	Sent, SentBytes, Errs atomic.Uint64
	poolWaits             atomic.Uint64 // batches delayed by an empty pool
	firstErr              atomic.Pointer[error]
}

// MaxFramesPerCall bounds the frames a sender hands to one SendBatch:
// wire.MaxBurst, which receivers rely on.
const MaxFramesPerCall = wire.MaxBurst

// FramesPerCall is how many datagrams one SendBatch should carry so that
// the engine fills a whole batch of batch messages: one datagram per
// message, or with UDP GSO as many as one GSO message takes (44 of 1472
// bytes, 7 of 8972), as the C reference sender does.
func FramesPerCall(t udp.Transport, payload, batch int) int {
	n := batch
	if t == udp.TransportGRO {
		n *= max(1, mmsg.GSOSegments(payload, mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments))
	}
	return min(n, MaxFramesPerCall)
}

// NewSender prepares to send frames datagrams of payload bytes per
// SendBatch; fresh takes new frames for every batch (AF_XDP).
func NewSender(tx Transmitter, payload, frames int, prbsOn, fresh bool) (*Sender, error) {
	s := &Sender{tx: tx, payload: payload, prbs: prbsOn, fresh: fresh,
		Frames: make([]engine.Frame, 0, frames), Mem: make([][]byte, 0, frames), scratch: make([]byte, payload)}
	for i := range s.scratch {
		s.scratch[i] = byte(i)
	}
	if fresh {
		return s, nil
	}
	if err := s.acquire(frames); err != nil {
		s.Release()
		return nil, fmt.Errorf("allocating send frames: %w", err)
	}
	if len(s.Frames) < frames {
		s.Release()
		return nil, fmt.Errorf("allocating send frames: the client's pool holds fewer than %d", frames)
	}
	for i, mem := range s.Mem {
		if mem != nil {
			copy(mem, s.scratch)
		} else if _, err := s.Frames[i].WriteAt(s.scratch, 0); err != nil {
			s.Release()
			return nil, err
		}
	}
	return s, nil
}

// acquire takes up to n frames from the client's pool. An empty pool ends
// it early without an error: the caller sends what it got.
func (s *Sender) acquire(n int) error {
	for range n {
		f, err := s.tx.AcceptReq(s.payload, true)
		if errors.Is(err, engine.ErrPoolExhausted) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f.SetPayload(s.payload); err != nil {
			f.Release()
			return err
		}
		mem, err := f.Bytes()
		if err != nil && !errors.Is(err, engine.ErrNotContiguous) {
			f.Release()
			return err
		}
		s.Frames = append(s.Frames, f)
		s.Mem = append(s.Mem, mem)
	}
	return nil
}

// Release returns the frames to the client's pool.
func (s *Sender) Release() {
	for _, f := range s.Frames {
		f.Release()
	}
	clear(s.Frames)
	s.Frames, s.Mem = s.Frames[:0], s.Mem[:0]
}

// Fill writes the next n sequence numbers, and with stamp the send time
// now (ns since the Unix epoch, one clock read per batch), into the first
// n frames.
func (s *Sender) Fill(n int, now int64) error {
	for i := range n {
		mem := s.Mem[i]
		if mem == nil {
			mem = s.scratch
		}
		if s.prbs {
			if err := prbs.Fill(mem, uint32(s.seq), report.PRBSWidth); err != nil {
				return err
			}
		} else {
			wire.PutSeq(mem, s.seq)
		}
		if s.Stamp {
			wire.PutSendTime(mem, now)
		}
		if s.Mem[i] == nil {
			// A split frame: copy in what changed.
			part := mem[:min(len(mem), wire.StampedLen)]
			if s.prbs {
				part = mem
			}
			if _, err := s.Frames[i].WriteAt(part, 0); err != nil {
				return err
			}
		}
		s.seq++
	}
	return nil
}

// Run sends for d (until ctx ends if d is 0) at the pacer's rate and
// returns the time spent. Send errors are counted, not fatal: the kernel
// refusing a datagram is part of what is measured.
func (s *Sender) Run(ctx context.Context, d time.Duration, perSecond float64) (time.Duration, error) {
	start := time.Now()
	pacer := rate.NewPacer(start, perSecond)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := ctx.Done()
	batch := cap(s.Frames)
	for {
		now := time.Now()
		if d > 0 && now.Sub(start) >= d {
			return now.Sub(start), nil
		}
		select {
		case <-done:
			return time.Since(start), nil
		default:
		}
		n, wait := pacer.Next(now, s.Sent.Load()+s.Errs.Load(), batch)
		if n == 0 {
			if d > 0 {
				wait = min(wait, d-now.Sub(start))
			}
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-done:
				return time.Since(start), nil
			}
			continue
		}
		if s.fresh {
			if err := s.acquire(n); err != nil {
				return time.Since(start), err
			}
			if n = len(s.Frames); n == 0 {
				// Every buffer is in flight: let the engine reap.
				s.poolWaits.Add(1)
				runtime.Gosched()
				continue
			}
		}
		if err := s.Fill(n, now.UnixNano()); err != nil {
			return time.Since(start), err
		}
		sent, err := s.tx.SendBatch(s.Frames[:n])
		if s.fresh {
			s.Release()
		}
		s.Sent.Add(uint64(sent))
		s.SentBytes.Add(uint64(sent * s.payload))
		if err != nil {
			if errors.Is(err, engine.ErrClosed) {
				return time.Since(start), err
			}
			s.Errs.Add(uint64(n - sent))
			s.noteError(err)
		}
	}
}

// noteError keeps the first send error. It is a function of its own so
// that only a failing send moves an error to the heap, not every batch.
func (s *Sender) noteError(err error) {
	if s.firstErr.Load() == nil {
		s.firstErr.CompareAndSwap(nil, &err)
	}
}

// FirstError is the first send error seen, or nil.
func (s *Sender) FirstError() error {
	if p := s.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Control sends one control message through the client.
func Control(tx Transmitter, m wire.Message) error {
	size := wire.HeaderLen + len(m.Body)
	f, err := tx.AcceptReq(size, true)
	if err != nil {
		return err
	}
	defer f.Release()
	if _, err := f.WriteAt(wire.Encode(make([]byte, 0, size), m), 0); err != nil {
		return err
	}
	return tx.Send(f)
}
