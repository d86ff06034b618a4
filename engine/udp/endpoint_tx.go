package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"udpstream.dev/engine"
)

// markFailed sets the transmit error code on a frame that did not go out,
// keeping an error code it already had.
func markFailed(f engine.Frame) {
	if f.Error() == 0 {
		f.SetError(TxErrorCode)
	}
}

// checkFrame validates f for transmission, counting and logging a refusal.
// It returns the payload size.
func (r *txRules) checkFrame(f engine.Frame) (int, error) {
	if !f.Valid() {
		r.tx.errors.Add(1)
		return 0, fmt.Errorf("udp: transmit: %w", engine.ErrReleased)
	}
	if code := f.Error(); code != 0 {
		r.tx.errored.Add(1)
		if r.log.allow(logTxErrored) {
			r.log.l.Warn("udp: not transmitting a frame with its error set", "error", code,
				"suppressed", r.log.takeSuppressed(logTxErrored))
		}
		return 0, fmt.Errorf("%w (error %#02x)", ErrFrameErrored, code)
	}
	n := f.Payload()
	if n > r.maxPayload {
		r.tx.oversize.Add(1)
		if r.log.allow(logTxOversize) {
			r.log.l.Warn("udp: not transmitting a frame larger than MaxPayload (frames are never split)",
				"payload", n, "maxPayload", r.maxPayload, "suppressed", r.log.takeSuppressed(logTxOversize))
		}
		return 0, fmt.Errorf("%w: payload of %d bytes exceeds MaxPayload %d; frames are never split", engine.ErrFrameSize, n, r.maxPayload)
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

// deadline is when a transmit wait that starts now ends: one transmit
// timeout (at least floor) from now, or sooner once Close has set a limit.
func (r *txRules) deadline(floor time.Duration) time.Time {
	d := time.Now().Add(max(time.Duration(r.timeout.Load()), floor))
	if by := r.closeBy.Load(); by != 0 && by < d.UnixNano() {
		d = time.Unix(0, by)
	}
	return d
}

// txFailed counts frames that a kernel or socket error kept from going out
// and returns the error to report.
func (r *txRules) txFailed(err error, frames int) error {
	n := uint64(frames)
	switch {
	case errors.Is(err, net.ErrClosed):
		r.tx.errors.Add(n)
		return engine.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		r.tx.timeouts.Add(n)
		timeout := time.Duration(r.timeout.Load())
		if r.log.allow(logTxTimeout) {
			r.log.l.Warn("udp: transmit timed out, socket buffer full", "timeout", timeout, "frames", frames,
				"suppressed", r.log.takeSuppressed(logTxTimeout))
		}
		return fmt.Errorf("%w after %v: %w", ErrTxTimeout, timeout, err)
	}
	r.tx.errors.Add(n)
	if r.log.allow(logTxError) {
		r.log.l.Warn("udp: transmit failed", "err", err, "frames", frames, "suppressed", r.log.takeSuppressed(logTxError))
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
