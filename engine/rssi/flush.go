package rssi

import "udpstream.dev/engine"

// Datagrams leave outside the lock. emit, called with mu held, only
// queues the datagram in txq; whoever releases mu then sends the queue
// (unlockFlush). One goroutine at a time sends (flushing), in the order
// the datagrams were queued, and it keeps sending until the queue is
// empty, so a datagram queued while another goroutine is in the send
// system call leaves with the next batch: with several senders (many
// transactions in flight) datagrams go out several per system call, and
// reception, delivery and the timers no longer wait for the socket.

// batcher is a transport slave that sends several datagrams in one call
// (udp.Client and udp.Server: sendmmsg).
type batcher interface {
	SendBatch(fs []engine.Frame) (int, error)
}

// AddSlave attaches s. A single slave that sends batches gets the queued
// datagrams in one call; otherwise each goes through SendFrame.
func (t *Transport) AddSlave(s engine.Slave) {
	t.Master.AddSlave(s)
	b, ok := s.(batcher)
	if !ok || t.SlaveCount() != 1 {
		t.batch.Store(nil)
		return
	}
	t.batch.Store(&b)
}

// queue adds a filled datagram to the transmit queue; the queue owns it.
// Called with mu held.
func (c *Controller) queue(out engine.Frame) {
	c.txq = append(c.txq, out)
}

// unlockFlush sends the queued datagrams, unless the application side is
// corked or another goroutine is already sending them, and releases mu.
// Called with mu held.
func (c *Controller) unlockFlush() {
	if c.corks == 0 {
		c.flushLocked()
	}
	c.mu.Unlock()
}

// flushLocked sends the queued datagrams unless another goroutine is
// sending them (it sends these too). Called with mu held; mu is released
// during the sends and held again on return.
func (c *Controller) flushLocked() {
	if c.flushing || len(c.txq) == 0 {
		return
	}
	c.flushing = true
	for len(c.txq) > 0 {
		batch := c.txq
		c.txq = c.txSpare[:0]
		c.mu.Unlock()
		c.transmit(batch)
		c.mu.Lock()
		c.txSpare = batch[:0]
	}
	c.flushing = false
	c.flushed.Broadcast()
}

// Cork holds the segments sent from now on in the transmit queue until
// the matching Uncork (calls nest), so that an application answering a
// burst of requests sends its answers in one system call. A send that
// must wait for window space sends the queue first, and the timers send
// it at their next tick (at most a quarter of the retransmission
// timeout), so a cork never holds a segment for longer.
func (a *Application) Cork() {
	c := a.c
	c.mu.Lock()
	c.corks++
	c.mu.Unlock()
}

// Uncork ends one Cork; the last sends what was held.
func (a *Application) Uncork() {
	c := a.c
	c.mu.Lock()
	if c.corks > 0 {
		c.corks--
	}
	c.unlockFlush()
}

// transmit sends a batch on the transport and releases its frames.
func (c *Controller) transmit(batch []engine.Frame) {
	if b := c.tr.batch.Load(); b != nil && len(batch) > 1 {
		(*b).SendBatch(batch)
	} else {
		for _, f := range batch {
			c.tr.SendFrame(f)
		}
	}
	for i := range batch {
		batch[i].Release()
		batch[i] = engine.Frame{}
	}
}

// waitFlushed waits until no goroutine is sending. Called with mu held.
func (c *Controller) waitFlushed() {
	for c.flushing {
		c.flushed.Wait()
	}
}
