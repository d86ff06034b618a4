package rssi

import "time"

// timerLoop runs the connection timers: SYN retries, retransmissions, the
// cumulative ACK and the keep-alive. Its tick follows the current link's
// negotiated timeouts (a server adopts the client's, which may be shorter
// than its own options): open signals retick.
func (c *Controller) timerLoop() {
	defer c.wg.Done()
	tick := c.tickPeriod()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.retick:
			if next := c.tickPeriod(); next != tick {
				tick = next
				t.Reset(tick)
			}
		case <-t.C:
		}
		c.mu.Lock()
		if !c.closed {
			c.poll(time.Now())
			c.flushLocked() // corked or not: a cork lasts one tick at most
		}
		c.mu.Unlock()
	}
}

func (c *Controller) tickPeriod() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lk.tick()
}

// tick is the timer period that serves l's timeouts.
func (l *link) tick() time.Duration {
	return max(time.Millisecond, min(l.cumAck/2, l.retran/4))
}

// poll does what the timers ask for at now. Called with mu held.
func (c *Controller) poll(now time.Time) {
	switch c.st {
	case StateClosed, StateWaitSyn:
		if !c.server && c.tr.SlaveCount() > 0 && now.Sub(c.synAt) >= c.opts.TryPeriod {
			c.sendSyn(now)
		}
	case StateOpen:
		c.retransmit(now)
		if c.st != StateOpen {
			return
		}
		busy := len(c.rxq) >= c.opts.BusyThreshold
		if (c.delivered != c.lastAckTx || busy) && now.Sub(c.lastTx) >= c.lk.cumAck {
			c.sendAck()
		}
		if now.Sub(c.lastTx) >= c.lk.null/3 && c.outstand < c.lk.window {
			c.sendNul(now)
		}
	}
}

// deliverLoop hands in-order segments to the application side, one at a
// time, and acknowledges them.
func (c *Controller) deliverLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case it := <-c.rxq:
			c.deliver(it)
		}
	}
}

func (c *Controller) deliver(it rxItem) {
	c.mu.Lock()
	live := it.epoch == c.epoch && !c.closed
	if !live {
		c.stats.Flushed++
	} else {
		c.delivered = it.seq
		if !it.nul {
			c.stats.RxSegments++
		}
	}
	c.mu.Unlock()
	if it.f.Valid() {
		if live {
			c.app.SendFrame(it.f)
		}
		it.f.Release()
	}
	c.mu.Lock()
	if c.st == StateOpen && !c.closed && int(c.delivered-c.lastAckTx) >= c.lk.maxCum && len(c.rxq) < c.opts.BusyThreshold {
		c.sendAck()
	}
	c.unlockFlush()
}
