package natsjs

import (
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// sendQueue hands sealed batches from AcceptFrame to the sender.
type sendQueue struct {
	mu     sync.Mutex
	items  []*batch
	notify chan struct{} // capacity 1: something was pushed
}

func (q *sendQueue) push(b *batch) {
	q.mu.Lock()
	q.items = append(q.items, b)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take moves the queued batches onto dst and returns it.
func (q *sendQueue) take(dst []*batch) []*batch {
	q.mu.Lock()
	dst = append(dst, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	q.mu.Unlock()
	return dst
}

// window is the sender's list of messages published and not yet settled,
// oldest first.
type window struct {
	items []*batch
	head  int
}

func (w *window) len() int      { return len(w.items) - w.head }
func (w *window) first() *batch { return w.items[w.head] }
func (w *window) rest() []*batch {
	return w.items[w.head:]
}

func (w *window) pop() {
	w.items[w.head] = nil
	w.head++
	if w.head == len(w.items) || w.head >= 4096 {
		n := copy(w.items, w.items[w.head:])
		clear(w.items[n:])
		w.items, w.head = w.items[:n], 0
	}
}

// sender publishes queued batches in order and settles their acks in
// order; it is the only goroutine that publishes. It never blocks on
// Publisher.mu (see reserve).
func (p *Publisher) sender() {
	defer close(p.done)
	tick := time.NewTicker(max(p.opts.Linger/2, time.Millisecond))
	defer tick.Stop()
	var w window
	var msgSeq uint64
	stop := p.stop
	var deadline <-chan time.Time
	for {
		n := w.len()
		w.items = p.queue.take(w.items)
		for _, b := range w.items[w.head+n:] {
			msgSeq++
			p.publishFirst(b, msgSeq)
		}
		if stop == nil && w.len() == 0 {
			return
		}
		var okc <-chan *jetstream.PubAck
		var errc <-chan error
		if w.len() > 0 {
			b := w.first()
			if b.ack != nil || b.fut == nil {
				p.settleHead(&w, b.ack, b.sendError)
				continue
			}
			okc, errc = b.fut.Ok(), b.fut.Err()
		}
		select {
		case ack := <-okc:
			p.settleHead(&w, ack, nil)
		case err := <-errc:
			p.settleHead(&w, nil, err)
		case <-p.queue.notify:
		case <-tick.C:
			p.lingerFlush()
		case <-stop:
			stop = nil
			t := time.NewTimer(p.opts.CloseTimeout)
			defer t.Stop()
			deadline = t.C
		case <-deadline:
			p.giveUpAll(&w)
			return
		}
	}
}

// publishFirst sends b for the first time, with a message id made of the
// run and the message's number.
func (p *Publisher) publishFirst(b *batch, msgSeq uint64) {
	b.msg = &nats.Msg{
		Subject: p.subjects[b.channel],
		Data:    b.buf,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{p.runID + strconv.FormatUint(msgSeq, 10)}},
	}
	b.sent = time.Now()
	p.c.messages.Add(1)
	p.c.published.Add(uint64(b.frames))
	b.fut, b.sendError = p.js.PublishMsgAsync(b.msg)
}

// settleHead settles the oldest message: acknowledged, or failed with err.
// A failed message is resent, with every message after it, after a pause;
// once RetryFor has passed since its first failure it is given up.
func (p *Publisher) settleHead(w *window, ack *jetstream.PubAck, err error) {
	b := w.first()
	if err == nil && ack != nil {
		p.c.acked.Add(uint64(b.frames))
		p.c.ackedBytes.Add(b.bytes)
		p.c.ackedMessages.Add(1)
		if ack.Duplicate {
			p.c.duplicates.Add(1)
		}
		p.c.noteLatency(time.Since(b.sent))
		w.pop()
		p.release(b)
		return
	}
	p.c.publishErrors.Add(1)
	now := time.Now()
	if b.failedAt.IsZero() {
		b.failedAt = now
	}
	if now.Sub(b.failedAt) >= p.opts.RetryFor {
		w.pop()
		p.giveUp(b)
		return
	}
	p.pause()
	for _, r := range w.rest() {
		p.resend(r)
	}
}

// resend publishes b again, unless an ack for its last attempt has come.
func (p *Publisher) resend(b *batch) {
	if b.fut != nil {
		select {
		case a := <-b.fut.Ok():
			b.ack = a
			return
		default:
		}
	}
	p.c.resent.Add(1)
	b.ack = nil
	b.fut, b.sendError = p.js.PublishMsgAsync(b.msg)
}

// pause waits retryPause before a resend, or less if Close is waiting.
func (p *Publisher) pause() {
	t := time.NewTimer(retryPause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.stop:
		select {
		case <-t.C:
		case <-time.After(retryPause / 10):
		}
	}
}

func (p *Publisher) giveUp(b *batch) {
	p.c.unacked.Add(uint64(b.frames))
	p.c.unackedMessages.Add(1)
	p.release(b)
}

// giveUpAll gives up every message in flight or queued (Close's wait ran
// out).
func (p *Publisher) giveUpAll(w *window) {
	w.items = p.queue.take(w.items)
	for w.len() > 0 {
		b := w.first()
		w.pop()
		p.giveUp(b)
	}
}

// release returns b's bytes to the bound and wakes a waiting AcceptFrame.
func (p *Publisher) release(b *batch) {
	p.c.pendingBytes.Add(-int64(len(b.buf)))
	select {
	case p.room <- struct{}{}:
	default:
	}
	p.recycle(b)
}

// lingerFlush seals batches open for Linger or longer, if it can take the
// lock without waiting (a busy AcceptFrame fills and seals them itself).
func (p *Publisher) lingerFlush() {
	if !p.mu.TryLock() {
		return
	}
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := time.Now()
	for _, b := range p.open {
		if b != nil && b.frames > 0 && now.Sub(b.opened) >= p.opts.Linger {
			p.sealLocked(b, false)
		}
	}
}
