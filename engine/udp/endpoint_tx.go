package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
)

// maxIovPerMsg is the kernel's limit on buffers in one message (UIO_MAXIOV).
const maxIovPerMsg = 1024

// minBatchWait is the least a batched send waits for socket buffer space:
// a batch's deadline is armed before the kernel is tried, so a zero
// timeout would fail it without an attempt.
const minBatchWait = time.Millisecond

// txState is the transmit scratch space, guarded by endpoint.txMu and
// reused for every send so the path does not allocate.
type txState struct {
	one   mmsg.Message // the message of a single send
	uc    *net.UDPConn
	mc    *mmsg.Conn
	armed bool // a write deadline is set on the socket

	bufs  [][]byte // one frame's buffers
	flat  [][]byte // every message's buffers, end to end
	msgs  []mmsg.Message
	first []int // per message: index of its first frame in the batch
	count []int // per message: frames it carries
	bytes []int // per message: payload bytes
}

func (t *txState) init(e *endpoint, s *udpSocket) {
	t.uc, t.mc = s.uc, s.mc
	t.alloc(e.cfg.batch)
}

// alloc sizes the scratch space for batches of b messages.
func (t *txState) alloc(b int) {
	t.bufs = make([][]byte, 0, 8)
	t.flat = make([][]byte, 0, 2*b)
	t.msgs = make([]mmsg.Message, b)
	t.first = make([]int, b)
	t.count = make([]int, b)
	t.bytes = make([]int, b)
}

// markFailed sets the transmit error code on a frame that did not go out,
// keeping an error code it already had.
func markFailed(f engine.Frame) {
	if f.Error() == 0 {
		f.SetError(TxErrorCode)
	}
}

// checkFrame validates f for transmission, counting and logging a refusal.
// It returns the payload size.
func (e *endpoint) checkFrame(f engine.Frame) (int, error) {
	if !f.Valid() {
		e.tx.errors.Add(1)
		return 0, fmt.Errorf("udp: transmit: %w", engine.ErrReleased)
	}
	if code := f.Error(); code != 0 {
		e.tx.errored.Add(1)
		if e.log.allow(logTxErrored) {
			e.log.l.Warn("udp: not transmitting a frame with its error set", "error", code,
				"suppressed", e.log.takeSuppressed(logTxErrored))
		}
		return 0, fmt.Errorf("%w (error %#02x)", ErrFrameErrored, code)
	}
	n := f.Payload()
	if n > e.maxPayload {
		e.tx.oversize.Add(1)
		if e.log.allow(logTxOversize) {
			e.log.l.Warn("udp: not transmitting a frame larger than MaxPayload (frames are never split)",
				"payload", n, "maxPayload", e.maxPayload, "suppressed", e.log.takeSuppressed(logTxOversize))
		}
		return 0, fmt.Errorf("%w: payload of %d bytes exceeds MaxPayload %d; frames are never split", engine.ErrFrameSize, n, e.maxPayload)
	}
	return n, nil
}

// destination is where frames go: the connected server for a client (the
// zero address: the socket knows), the last peer heard from for a server.
func (e *endpoint) destination(frames int) (netip.AddrPort, error) {
	if e.client {
		return netip.AddrPort{}, nil
	}
	p := e.peer.load()
	if !p.IsValid() {
		e.tx.noPeer.Add(uint64(frames))
		if e.log.allow(logTxNoPeer) {
			e.log.l.Warn("udp: server has no peer yet, frame not sent", "suppressed", e.log.takeSuppressed(logTxNoPeer))
		}
		return p, ErrNoPeer
	}
	return p, nil
}

// txFailed counts frames that a kernel or socket error kept from going out
// and returns the error to report.
func (e *endpoint) txFailed(err error, frames int) error {
	n := uint64(frames)
	switch {
	case errors.Is(err, net.ErrClosed):
		e.tx.errors.Add(n)
		return engine.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		e.tx.timeouts.Add(n)
		timeout := time.Duration(e.timeout.Load())
		if e.log.allow(logTxTimeout) {
			e.log.l.Warn("udp: transmit timed out, socket buffer full", "timeout", timeout, "frames", frames,
				"suppressed", e.log.takeSuppressed(logTxTimeout))
		}
		return fmt.Errorf("%w after %v: %w", ErrTxTimeout, timeout, err)
	}
	e.tx.errors.Add(n)
	if e.log.allow(logTxError) {
		e.log.l.Warn("udp: transmit failed", "err", err, "frames", frames, "suppressed", e.log.takeSuppressed(logTxError))
	}
	if errors.Is(err, errnoMsgSize) {
		return fmt.Errorf("udp: transmit: the kernel refused the datagram as too large: %w: %w", engine.ErrFrameSize, err)
	}
	return fmt.Errorf("udp: transmit: %w", err)
}

// send transmits one frame as one datagram, synchronously.
func (e *endpoint) send(f engine.Frame) error {
	if e.closed.Load() {
		e.tx.errors.Add(1)
		return engine.ErrClosed
	}
	dest, err := e.destination(1)
	if err != nil {
		return err
	}
	return e.tp.send(f, dest)
}

// sendChecked validates f and sends it to dest with one sendmsg.
func (e *endpoint) sendChecked(f engine.Frame, dest netip.AddrPort) error {
	n, err := e.checkFrame(f)
	if err != nil {
		return err
	}
	e.txMu.Lock()
	err = e.sendOneLocked(f, dest)
	e.txMu.Unlock()
	if err != nil {
		return e.txFailed(err, 1)
	}
	e.tx.frames.Add(1)
	e.tx.bytes.Add(uint64(n))
	return nil
}

// sendOneLocked gathers f's buffers into one datagram. It tries once
// without waiting; only a full socket buffer arms the deadline and waits.
// (Batches arm it before their first call: they rarely find the buffer
// empty enough for a whole batch.)
func (e *endpoint) sendOneLocked(f engine.Frame, dest netip.AddrPort) error {
	t := &e.txs
	bufs, err := f.AppendBuffers(t.bufs[:0])
	t.bufs = bufs[:0]
	if err != nil {
		return err
	}
	defer clear(bufs)
	m := &t.one
	*m = mmsg.Message{Buffers: bufs, Addr: dest}
	defer func() { m.Buffers = nil }()
	if t.armed {
		t.uc.SetWriteDeadline(time.Time{})
		t.armed = false
	}
	refused := false
	for {
		err := t.mc.TryWriteOne(m)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errnoAgain):
			e.armDeadline(0)
			err = t.mc.WriteOne(m)
			t.uc.SetWriteDeadline(time.Time{})
			t.armed = false
			return err
		case errors.Is(err, errnoConnRefused) && !refused:
			// An ICMP error for an earlier datagram; this one may go.
			refused = true
			e.tx.refused.Add(1)
			continue
		}
		return err
	}
}

// armDeadline sets the socket's write deadline one transmit timeout (at
// least floor) from now, or sooner when Close has set a limit.
func (e *endpoint) armDeadline(floor time.Duration) {
	d := time.Now().Add(max(time.Duration(e.timeout.Load()), floor))
	if by := e.closeBy.Load(); by != 0 && by < d.UnixNano() {
		d = time.Unix(0, by)
	}
	e.txs.uc.SetWriteDeadline(d)
	e.txs.armed = true
}

// sendBatch transmits frames with as few system calls as the transport
// allows; see Server.SendBatch.
func (e *endpoint) sendBatch(fs []engine.Frame) (int, error) {
	if e.closed.Load() {
		e.tx.errors.Add(uint64(len(fs)))
		return 0, engine.ErrClosed
	}
	return e.transmit(fs, false)
}

// txResult is the outcome of one transmission: how many frames went out
// and the first error. With mark (the AcceptFrame contract) every frame
// recorded as failed also gets the transmit error code.
type txResult struct {
	mark  bool
	sent  int
	first error
}

// fail records that fs did not go out because of err. Counting them is
// the caller's part: the counter depends on the reason.
func (r *txResult) fail(err error, fs ...engine.Frame) {
	if r.first == nil {
		r.first = err
	}
	if r.mark {
		for _, f := range fs {
			markFailed(f)
		}
	}
}

// transmit sends fs, counting every frame that does not go out; with mark
// it also sets their error code (the AcceptFrame contract).
func (e *endpoint) transmit(fs []engine.Frame, mark bool) (int, error) {
	if len(fs) == 0 {
		return 0, nil
	}
	dest, err := e.destination(len(fs))
	if err != nil {
		r := txResult{mark: mark}
		r.fail(err, fs...)
		return 0, r.first
	}
	r := e.tp.transmit(fs, dest, mark)
	return r.sent, r.first
}

// transmitSockets is transmit on the socket path.
func (e *endpoint) transmitSockets(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult {
	r := txResult{mark: mark}
	if e.cfg.transport == TransportNaive {
		for _, f := range fs {
			if err := e.sendChecked(f, dest); err != nil {
				r.fail(err, f)
				continue
			}
			r.sent++
		}
		return r
	}
	e.txMu.Lock()
	defer e.txMu.Unlock()
	gso := e.cfg.transport == TransportGRO && e.txs.mc.GSOEnabled()
	maxBytes := mmsg.MaxPayloadIPv6
	if a := e.remote.Addr(); (e.client && a.Unmap().Is4()) || dest.Addr().Unmap().Is4() {
		maxBytes = mmsg.MaxPayloadIPv4
	}
	for i := 0; i < len(fs); {
		k, next := e.plan(fs, i, dest, gso, maxBytes, &r)
		if stop := e.writePlanned(fs, k, &r); stop != nil {
			// The socket is gone or stuck: the rest cannot go.
			rest := fs[next:]
			e.txFailed(stop, len(rest))
			r.fail(stop, rest...)
			break
		}
		i = next
	}
	// Drop the slab references the scratch space holds, so that it does
	// not keep a caller's memory reachable after the call.
	clear(e.txs.flat[:cap(e.txs.flat)])
	return r
}

// plan fills up to a batch of messages from fs[i:] and returns how many,
// and the index of the first frame left for the next round. With gso each
// message carries a run of equal-size frames (the last may be shorter; see
// mmsg.GSOSend) as one buffer list the kernel cuts at the frame size;
// otherwise a message is one frame. A frame of several buffers is one
// datagram either way, and frames that lie back to back in a slab share
// one iovec (joinWindow).
//
// Each frame is checked in the same visit that gathers its buffers
// (txWindow), so its state is read once. A refused frame is counted by
// checkFrame, recorded in r, and ends the message being built, so that
// every message's frames are contiguous in fs.
func (e *endpoint) plan(fs []engine.Frame, i int, dest netip.AddrPort, gso bool, maxBytes int, r *txResult) (int, int) {
	t := &e.txs
	t.flat = t.flat[:0]
	k := 0
	for k < len(t.msgs) && i < len(fs) {
		start, from := len(t.flat), i
		run, seg, bytes := 0, 0, 0
		var g mmsg.GSOSend
		for i < len(fs) {
			n, w, ok := px.TxWindow(fs[i], e.maxPayload)
			if !ok {
				var err error
				if n, err = e.checkFrame(fs[i]); err != nil {
					r.fail(err, fs[i])
					i++
					if run == 0 {
						from = i
						continue
					}
					break
				}
			}
			if run == 0 {
				seg = n
				g.Start(n, maxBytes, mmsg.MaxGSOSegments)
			} else if !gso || !g.Add(n) {
				break
			}
			before := len(t.flat)
			if w != nil {
				t.flat = joinWindow(t.flat, start, w)
			} else {
				// Checked live a moment ago, so the error cannot occur.
				t.flat, _ = fs[i].AppendBuffers(t.flat)
			}
			if run > 0 && len(t.flat)-start > maxIovPerMsg {
				t.flat = t.flat[:before]
				break
			}
			run++
			bytes += n
			i++
			if n < seg {
				break // a short datagram ends a GSO run
			}
		}
		if run == 0 {
			continue // every frame left was refused
		}
		t.fillMessage(k, start, dest, from, run, seg, bytes)
		k++
	}
	return k, i
}

// fillMessage makes message k of the run of frames planned from fs[from]:
// its buffers are t.flat[start:], cut at seg bytes when it holds several.
func (t *txState) fillMessage(k, start int, dest netip.AddrPort, from, run, seg, bytes int) {
	m := &t.msgs[k]
	m.Buffers = t.flat[start:len(t.flat):len(t.flat)]
	m.Addr = dest
	m.SegmentSize = 0
	if run > 1 {
		m.SegmentSize = seg
	}
	t.first[k], t.count[k], t.bytes[k] = from, run, bytes
}

// writePlanned sends the k planned messages, recording in r the frames
// that went out and those that failed. A message the kernel refuses is
// counted and skipped; closing and timing out end the call and are
// returned, the messages after the failed one counted as failed too.
func (e *endpoint) writePlanned(fs []engine.Frame, k int, r *txResult) (stop error) {
	t := &e.txs
	refused := false
	e.armDeadline(minBatchWait)
	for done := 0; done < k; {
		n, err := t.mc.WriteBatch(t.msgs[done:k])
		for q := done; q < done+n; q++ {
			if t.msgs[q].SegmentSize > 0 {
				e.tx.gsoMsgs.Add(1)
			}
			r.sent += t.count[q]
			e.tx.frames.Add(uint64(t.count[q]))
			e.tx.bytes.Add(uint64(t.bytes[q]))
		}
		done += n
		if err == nil {
			break
		}
		if errors.Is(err, errnoConnRefused) && !refused {
			refused = true
			e.tx.refused.Add(1)
			continue
		}
		failed := fs[t.first[done] : t.first[done]+t.count[done]]
		ferr := e.txFailed(err, len(failed))
		r.fail(ferr, failed...)
		if errors.Is(ferr, engine.ErrClosed) || errors.Is(ferr, ErrTxTimeout) {
			for q := done + 1; q < k; q++ {
				rest := fs[t.first[q] : t.first[q]+t.count[q]]
				e.txFailed(err, len(rest))
				r.fail(ferr, rest...)
			}
			return ferr
		}
		done++
	}
	return nil
}

// acceptFrame is the Slave side: transmit f (or queue it), and on failure
// count, log and mark it instead of returning an error.
func (e *endpoint) acceptFrame(f engine.Frame) {
	e.slave.AcceptFrame(f)
	if e.txq == nil {
		if err := e.send(f); err != nil {
			markFailed(f)
		}
		return
	}
	if e.closed.Load() || f.Retain() != nil {
		e.tx.errors.Add(1)
		markFailed(f)
		return
	}
	if err := e.txq.PushWait(f); err != nil {
		e.tx.errors.Add(1)
		markFailed(f)
		f.Release()
	}
}

// txLoop drains the transmit queue in batches until Close.
func (e *endpoint) txLoop() {
	defer e.txWG.Done()
	buf := make([]engine.Frame, e.cfg.batch)
	for {
		n, err := e.txq.PopWait(buf)
		if n > 0 {
			e.transmit(buf[:n], true)
			for i := range n {
				buf[i].Release()
				buf[i] = engine.Frame{}
			}
		}
		if err != nil {
			return
		}
	}
}
