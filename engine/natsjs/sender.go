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

// window is the sender's list of messages not yet settled, oldest first:
// items[head:sent] were published and await their acks, items[sent:] wait
// for their first publish. callErrs counts published items whose last
// publish call failed.
type window struct {
	items    []*batch
	head     int
	sent     int
	callErrs int
}

func (w *window) len() int         { return len(w.items) - w.head }
func (w *window) inFlight() int    { return w.sent - w.head }
func (w *window) first() *batch    { return w.items[w.head] }
func (w *window) flying() []*batch { return w.items[w.head:w.sent] }

func (w *window) pop() {
	if w.items[w.head].sendError != nil {
		w.callErrs--
	}
	w.items[w.head] = nil
	w.head++
	if w.head == len(w.items) || w.head >= 4096 {
		n := copy(w.items, w.items[w.head:])
		clear(w.items[n:])
		w.sent -= w.head
		w.items, w.head = w.items[:n], 0
	}
}

// sender publishes queued batches in order and settles their acks in
// order; it is the only goroutine that publishes. It never blocks on
// Publisher.mu (see reserve).
//
// Order in the stream follows the batches' order as long as the server
// stores what one connection sends in order: a batch is published for the
// first time only while the window is healthy (no failed publish call, no
// failure of the oldest batch, no connection lost since it was sent).
// Otherwise the sender waits for the oldest batch's ack or error, and on
// an error sends every published batch again, in order, before any new
// one; the server drops the copies it already holds (same message id).
func (p *Publisher) sender() {
	defer close(p.done)
	tick := time.NewTicker(max(p.opts.Linger/2, time.Millisecond))
	defer tick.Stop()
	var w window
	var msgSeq uint64
	stop := p.stop
	var deadline <-chan time.Time
	for {
		w.items = p.queue.take(w.items)
		for ; w.sent < len(w.items) && p.healthy(&w); w.sent++ {
			msgSeq++
			p.publishFirst(&w, w.items[w.sent], msgSeq)
		}
		if stop == nil && w.len() == 0 {
			return
		}
		var okc <-chan *jetstream.PubAck
		var errc <-chan error
		if w.inFlight() > 0 {
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

// healthy reports whether a new batch may be published now (see sender).
func (p *Publisher) healthy(w *window) bool {
	if w.inFlight() == 0 {
		return true
	}
	b := w.first()
	return w.callErrs == 0 && b.failedAt.IsZero() && b.epoch == p.epoch.Load()
}

// publishFirst sends b for the first time, with a message id made of the
// run and the message's number.
func (p *Publisher) publishFirst(w *window, b *batch, msgSeq uint64) {
	// A new message each time, not the recycled batch's: the client
	// library may still hold the old one (a superseded attempt it retries
	// after a "no responders" answer), and must send it with its old id,
	// which the server then drops as a duplicate.
	b.msg = &nats.Msg{
		Subject: p.subjects[b.channel],
		Data:    b.buf,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{p.runID + strconv.FormatUint(msgSeq, 10)}},
	}
	b.sent = time.Now()
	p.c.messages.Add(1)
	p.c.published.Add(uint64(b.frames))
	p.attempt(w, b)
}

// attempt publishes b once and keeps the window's count of failed calls.
func (p *Publisher) attempt(w *window, b *batch) {
	if b.sendError != nil {
		w.callErrs--
	}
	b.ack = nil
	b.epoch = p.epoch.Load()
	b.fut, b.sendError = p.js.PublishMsgAsync(b.msg)
	if b.sendError != nil {
		w.callErrs++
	}
}

// settleHead settles the oldest message: acknowledged, or failed with err.
// A failed message is resent, with every published message after it,
// after a pause; once RetryFor has passed since its first failure it is
// given up.
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
	for _, r := range w.flying() {
		p.resend(w, r)
	}
}

// resend publishes b again, unless an ack for its last attempt has come.
func (p *Publisher) resend(w *window, b *batch) {
	if b.fut != nil {
		select {
		case a := <-b.fut.Ok():
			b.ack = a
			return
		default:
		}
	}
	p.c.resent.Add(1)
	p.attempt(w, b)
}

// pause waits retryPause before a resend, or a tenth of it once Close is
// waiting.
func (p *Publisher) pause() {
	d := retryPause
	select {
	case <-p.stop:
		d /= 10
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
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
	w.sent = len(w.items)
	for w.len() > 0 {
		b := w.first()
		w.pop()
		p.giveUp(b)
	}
}

// release returns b's bytes to the bound and wakes a waiting AcceptFrame
// if the pending bytes fell to the low-water mark.
func (p *Publisher) release(b *batch) {
	if p.c.pendingBytes.Add(-int64(len(b.buf))) <= p.lowWater {
		select {
		case p.room <- struct{}{}:
		default:
		}
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
