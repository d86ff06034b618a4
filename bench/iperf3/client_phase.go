package iperf3

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runTest sends and receives until the test's time is up or ctx is
// done, then writes TEST_END. A state the server sends meanwhile
// (SERVER_TERMINATE, an error) ends the test at once.
func (c *client) runTest(ctx context.Context) error {
	if c.started.IsZero() {
		c.started, c.cpu = time.Now(), markCPU()
	}
	if c.cfg.OnStart != nil {
		c.cfg.OnStart(c.streamResults(&Results{}))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	c.startStreams(stop, &wg)
	_ = c.conn.SetReadDeadline(time.Time{})
	c.wg.Add(1)
	go func() { defer c.wg.Done(); st, err := ReadState(c.conn); c.ctrl <- stateOrErr{st, err} }()
	c.pending = true
	var timer <-chan time.Time
	if c.cfg.Time > 0 {
		t := time.NewTimer(c.cfg.Time - time.Since(c.started))
		defer t.Stop()
		timer = t.C
	}
	var early *stateOrErr
	select {
	case <-timer:
	case <-ctx.Done():
	case se := <-c.ctrl:
		early = &se
	}
	close(stop)
	wg.Wait()
	c.stopCounting()
	if early != nil {
		c.pending = false
		if early.err != nil {
			return fmt.Errorf("iperf3: control connection during the test: %w", early.err)
		}
		return c.abnormal(early.st)
	}
	return WriteState(c.conn, TestEnd)
}

// startStreams starts the receivers (they run until their sockets
// close), the senders and the interval reports (until stop closes).
func (c *client) startStreams(stop chan struct{}, wg *sync.WaitGroup) {
	n := 0
	for _, s := range c.streams {
		if s.rx != nil {
			s.rx.setRunning(true)
			c.wg.Add(1)
			go func() { defer c.wg.Done(); receive(s.sock, s.rx) }()
			continue
		}
		cpu := -1
		if len(c.cfg.CPUs) > 0 {
			cpu = c.cfg.CPUs[n%len(c.cfg.CPUs)]
		}
		n++
		wg.Add(1)
		go func() {
			defer wg.Done()
			if unpin, err := pin(cpu); err == nil { // checked in the configuration; a refusal sends unpinned
				defer unpin()
			}
			if s.etx != nil {
				s.etx.run(stop)
				return
			}
			s.tx.run(stop)
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); c.intervals(stop) }()
}

// stopCounting takes the test's length and CPU, and ends the receivers'
// counting: what arrives later is counted as outside the test.
func (c *client) stopCounting() {
	c.res.Duration = time.Since(c.started)
	c.res.CPU = c.cpu.since()
	c.res.Transport = c.cfg.transport()
	for _, s := range c.streams {
		if s.rx != nil {
			s.rx.setRunning(false)
			c.res.KernelDrops += s.sock.kernelDrops()
		}
	}
}

// exchangeResults writes the client's results and reads the server's.
func (c *client) exchangeResults() error {
	if err := WriteJSON(c.conn, c.results()); err != nil {
		return err
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.ControlTimeout))
	body, err := ReadJSONBytes(c.conn, MaxResultsLen)
	if err != nil {
		return fmt.Errorf("iperf3: server results: %w", err)
	}
	srv, err := ParseResults(body)
	if err != nil {
		return err
	}
	c.res.Server = srv
	c.res.Streams = c.streamResults(srv)
	return nil
}

// stateAfterTest returns the state the test's control reader read: the
// server's answer to TEST_END.
func (c *client) stateAfterTest() (State, error) {
	c.pending = false
	t := time.NewTimer(c.cfg.ControlTimeout)
	defer t.Stop()
	select {
	case se := <-c.ctrl:
		if se.err != nil {
			return 0, fmt.Errorf("iperf3: control connection: %w", se.err)
		}
		return se.st, nil
	case <-t.C:
		c.conn.Close()
		return 0, fmt.Errorf("iperf3: no answer to TEST_END within %v", c.cfg.ControlTimeout)
	}
}
