package udp

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/mmsg"
)

// Transmitting on the socket path follows one policy for single and batch
// sends alike (write): a send first tries the kernel without waiting, and
// only when the socket send buffer is full (EAGAIN) arms the write
// deadline, one transmit timeout from then (sooner once Close has set a
// limit), waits in the netpoller for the rest, and clears the deadline
// again. A send that finds room costs its system calls and nothing more;
// one that cannot finish in time fails with an error wrapping
// os.ErrDeadlineExceeded (ErrTxTimeout), its frames counted in
// TxTimeouts. A message that must be cut into datagrams in software (the
// kernel refused GSO) is never started without the deadline armed.

// maxIovPerMsg is the kernel's limit on buffers in one message (UIO_MAXIOV).
const maxIovPerMsg = 1024

// txState is the transmit scratch space of the socket path, guarded by
// txRules.txMu and reused for every send so the path does not allocate.
type txState struct {
	one  [1]mmsg.Message // the message of a single send
	uc   *net.UDPConn    // the socket transmits go out on
	mc   *mmsg.Conn
	arms uint64 // write deadlines armed: sends that found the socket full

	bufs  [][]byte // one frame's buffers
	flat  [][]byte // every message's buffers, end to end
	msgs  []mmsg.Message
	first []int // per message: index of its first frame in the batch
	count []int // per message: frames it carries
	bytes []int // per message: payload bytes
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

// write sends msgs under the transmit policy: the first message alone
// with sendmsg when one is set, else sendmmsg batches. It returns how many
// messages went out. The caller holds txMu.
func (p *socketPath) write(msgs []mmsg.Message, one bool) (int, error) {
	t := &p.txs
	n, err := t.try(msgs, one, true)
	if err == nil || !errors.Is(err, errnoAgain) {
		return n, err
	}
	t.arms++
	t.uc.SetWriteDeadline(p.txr.deadline(0))
	m, err := t.try(msgs[n:], one, false)
	t.uc.SetWriteDeadline(time.Time{})
	return n + m, err
}

// try is one attempt at msgs, without waiting (noWait) or parked in the
// netpoller until the deadline.
func (t *txState) try(msgs []mmsg.Message, one, noWait bool) (int, error) {
	if !one && noWait {
		return t.mc.TryWriteBatch(msgs)
	}
	if !one {
		return t.mc.WriteBatch(msgs)
	}
	var err error
	if noWait {
		err = t.mc.TryWriteOne(&msgs[0])
	} else {
		err = t.mc.WriteOne(&msgs[0])
	}
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// send validates f and sends it to dest as one datagram.
func (p *socketPath) send(f engine.Frame, dest netip.AddrPort) error {
	r := p.txr
	n, err := r.checkFrame(f)
	if err != nil {
		return err
	}
	r.txMu.Lock()
	err = p.sendOneLocked(f, dest)
	r.txMu.Unlock()
	if err != nil {
		return r.txFailed(err, 1)
	}
	r.tx.frames.Add(1)
	r.tx.bytes.Add(uint64(n))
	return nil
}

// sendOneLocked gathers f's buffers into one datagram and writes it.
func (p *socketPath) sendOneLocked(f engine.Frame, dest netip.AddrPort) error {
	t := &p.txs
	bufs, err := f.AppendBuffers(t.bufs[:0])
	t.bufs = bufs[:0]
	if err != nil {
		return err
	}
	defer clear(bufs)
	t.one[0] = mmsg.Message{Buffers: bufs, Addr: dest}
	defer func() { t.one[0].Buffers = nil }()
	refused := false
	for {
		_, err := p.write(t.one[:], true)
		if errors.Is(err, errnoConnRefused) && !refused {
			// An ICMP error for an earlier datagram; this one may go.
			refused = true
			p.txr.tx.refused.Add(1)
			continue
		}
		return err
	}
}

// transmit sends fs to dest: frame by frame for TransportNaive, else in
// planned batches of messages (GSO runs with TransportGRO while the
// kernel segments them).
func (p *socketPath) transmit(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult {
	r := txResult{mark: mark}
	if p.naive {
		for _, f := range fs {
			if err := p.send(f, dest); err != nil {
				r.fail(err, f)
				continue
			}
			r.sent++
		}
		return r
	}
	p.txr.txMu.Lock()
	defer p.txr.txMu.Unlock()
	gso := p.gro && p.txs.mc.GSOEnabled()
	maxBytes := mmsg.MaxPayloadIPv6
	if a := p.rx.remote.Addr(); (p.rx.client && a.Is4()) || dest.Addr().Unmap().Is4() {
		maxBytes = mmsg.MaxPayloadIPv4
	}
	for i := 0; i < len(fs); {
		k, next := p.plan(fs, i, dest, gso, maxBytes, &r)
		if stop := p.writePlanned(fs, k, &r); stop != nil {
			// The socket is gone or stuck: the rest cannot go.
			rest := fs[next:]
			p.txr.txFailed(stop, len(rest))
			r.fail(stop, rest...)
			break
		}
		i = next
	}
	// Drop the slab references the scratch space holds, so that it does
	// not keep a caller's memory reachable after the call.
	clear(p.txs.flat[:cap(p.txs.flat)])
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
func (p *socketPath) plan(fs []engine.Frame, i int, dest netip.AddrPort, gso bool, maxBytes int, r *txResult) (int, int) {
	t := &p.txs
	t.flat = t.flat[:0]
	k := 0
	for k < len(t.msgs) && i < len(fs) {
		start, from := len(t.flat), i
		run, seg, bytes := 0, 0, 0
		var g mmsg.GSOSend
		for i < len(fs) {
			n, w, ok := px.TxWindow(fs[i], p.txr.maxPayload)
			if !ok {
				var err error
				if n, err = p.txr.checkFrame(fs[i]); err != nil {
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
func (p *socketPath) writePlanned(fs []engine.Frame, k int, r *txResult) (stop error) {
	t, c := &p.txs, &p.txr.tx
	refused := false
	for done := 0; done < k; {
		n, err := p.write(t.msgs[done:k], false)
		for q := done; q < done+n; q++ {
			if t.msgs[q].SegmentSize > 0 {
				c.gsoMsgs.Add(1)
			}
			r.sent += t.count[q]
			c.frames.Add(uint64(t.count[q]))
			c.bytes.Add(uint64(t.bytes[q]))
		}
		done += n
		if err == nil {
			break
		}
		if errors.Is(err, errnoConnRefused) && !refused {
			refused = true
			c.refused.Add(1)
			continue
		}
		failed := fs[t.first[done] : t.first[done]+t.count[done]]
		ferr := p.txr.txFailed(err, len(failed))
		r.fail(ferr, failed...)
		if errors.Is(ferr, engine.ErrClosed) || errors.Is(ferr, ErrTxTimeout) {
			for q := done + 1; q < k; q++ {
				rest := fs[t.first[q] : t.first[q]+t.count[q]]
				p.txr.txFailed(err, len(rest))
				r.fail(ferr, rest...)
			}
			return ferr
		}
		done++
	}
	return nil
}
