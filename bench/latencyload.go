package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"udpstream.dev/bench/internal/rate"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// loader measures latency under load, as sockperf's under-load mode: it
// streams lc.MPS messages per second through the client without waiting
// for answers; every lc.ReplyEvery-th message is a ping, which the server
// echoes, the others plain data datagrams. The client's delivery
// goroutine records the round trip of every echo.
type loader struct {
	client  *udp.Client
	lc      LatencyCase
	base    time.Time
	session uint64

	ping, data       engine.Frame
	pingBuf, dataBuf []byte

	sent, pings, echoes atomic.Uint64
	samples, sendErrs   atomic.Uint64
	firstErr            atomic.Pointer[error]
	stopped             atomic.Bool
	elapsed             time.Duration // sending time, set by run

	rec *recorder // written by the delivery goroutine only
}

// loadFrame takes one frame of size bytes from the client's pool.
func loadFrame(client *udp.Client, size int) (engine.Frame, []byte, error) {
	f, err := client.AcceptReq(size, true)
	if err != nil {
		return engine.Frame{}, nil, err
	}
	if err := f.SetPayload(size); err != nil {
		f.Release()
		return engine.Frame{}, nil, err
	}
	buf, err := f.Bytes()
	if err != nil {
		f.Release()
		return engine.Frame{}, nil, err
	}
	clear(buf)
	return f, buf, nil
}

func newLoader(client *udp.Client, lc LatencyCase) (*loader, error) {
	ping, pingBuf, err := loadFrame(client, lc.Payload)
	if err != nil {
		return nil, err
	}
	data, dataBuf, err := loadFrame(client, lc.Payload)
	if err != nil {
		ping.Release()
		return nil, err
	}
	return &loader{client: client, lc: lc, session: uint64(time.Now().UnixNano()),
		ping: ping, pingBuf: pingBuf, data: data, dataBuf: dataBuf,
		rec: newRecorder(lc.Warmup, lc.HalfRTT)}, nil
}

// AcceptFrame records the round trip of an echoed ping.
func (l *loader) AcceptFrame(f engine.Frame) {
	now := time.Since(l.base)
	data, err := f.Bytes()
	if err != nil || l.stopped.Load() {
		return
	}
	m, err := wire.Decode(data)
	if err != nil || m.Type != wire.TypePing || m.Session != l.session {
		return
	}
	l.echoes.Add(1)
	if l.rec.record(time.Duration(m.B), now) {
		l.samples.Add(1)
	}
}

// sendOne sends the next message: a ping every ReplyEvery-th, else data.
func (l *loader) sendOne() {
	seq := l.sent.Add(1) - 1
	var err error
	if seq%uint64(l.lc.ReplyEvery) == 0 {
		wire.Put(l.pingBuf, wire.Message{Type: wire.TypePing, Session: l.session, A: seq, B: uint64(time.Since(l.base))})
		if err = l.client.Send(l.ping); err == nil {
			l.pings.Add(1)
		}
	} else {
		wire.PutSeq(l.dataBuf, seq)
		err = l.client.Send(l.data)
	}
	if err != nil {
		l.noteError(err)
	}
}

// noteError counts a failed send and keeps the first error. It is a
// function of its own so that only a failure moves an error to the heap.
func (l *loader) noteError(err error) {
	l.sendErrs.Add(1)
	if l.firstErr.Load() == nil {
		l.firstErr.CompareAndSwap(nil, &err)
	}
}

// run sends at the target rate for the warm-up and the duration (or
// until Count samples or ctx ends), then waits up to the timeout for the
// echoes still in flight.
func (l *loader) run(ctx context.Context) error {
	l.base = time.Now()
	total := l.lc.Warmup + l.lc.Duration
	pacer := rate.NewPacer(l.base, l.lc.MPS)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil && (l.lc.Count == 0 || l.samples.Load() < uint64(l.lc.Count)) {
		now := time.Now()
		left := total - now.Sub(l.base)
		if left <= 0 {
			break
		}
		n, wait := pacer.Next(now, l.sent.Load(), 64)
		if n == 0 {
			timer.Reset(min(wait, left))
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
			continue
		}
		for range n {
			l.sendOne()
		}
	}
	l.elapsed = time.Since(l.base)
	deadline := time.Now().Add(l.lc.Timeout)
	for l.echoes.Load() < l.pings.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	l.stopped.Store(true)
	if p := l.firstErr.Load(); p != nil && l.echoes.Load() == 0 {
		return fmt.Errorf("sending: %w", *p)
	}
	return nil
}

// fill copies the figures into res; the client must be closed first.
func (l *loader) fill(res *LatencyResult) {
	l.ping.Release()
	l.data.Release()
	pings, echoes := l.pings.Load(), l.echoes.Load()
	res.Lost = pings - min(echoes, pings)
	res.Messages, res.SendErrors = l.sent.Load(), l.sendErrs.Load()
	if l.elapsed > 0 {
		res.MessagesPerSecond = float64(res.Messages) / l.elapsed.Seconds()
	}
	l.rec.fill(res, l.base)
}
