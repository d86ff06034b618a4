package iperf3

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultLen is the datagram size when the parameters name none.
const DefaultLen = 1460

// runTest starts the test, waits for the client's end and stops it.
func (ss *session) runTest() error {
	if _, err := ss.conn.Write([]byte{byte(TestStart), byte(TestRunning)}); err != nil {
		return err
	}
	ss.started, ss.cpu = time.Now(), markCPU()
	ss.kernel0 = ss.srv.dm.sock.kernelDrops()
	for _, r := range ss.rx {
		r.setRunning(true)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	ss.startSenders(stop, &wg)
	wg.Add(1)
	go func() { defer wg.Done(); ss.intervals(stop) }()
	err := ss.waitEnd()
	close(stop)
	wg.Wait()
	ss.srv.dm.drain(200 * time.Millisecond)
	for _, r := range ss.rx {
		r.setRunning(false)
	}
	ss.elapsed = time.Since(ss.started)
	ss.cpuUsed = ss.cpu.since()
	ss.summaryText()
	return err
}

func (ss *session) startSenders(stop chan struct{}, wg *sync.WaitGroup) {
	size := int(ss.params.Len)
	if size == 0 {
		size = DefaultLen
	}
	_, nsend := ss.params.Streams()
	nrecv := len(ss.rx)
	for i := 0; i < nsend; i++ {
		s := newSender(ss.srv.sock, ss.addrs[nrecv+i], size, ss.params.Counters64 != 0, float64(ss.params.Bandwidth), true)
		s.prbs = ss.prbs()
		ss.tx = append(ss.tx, s)
		wg.Add(1)
		go func() { defer wg.Done(); s.run(stop) }()
	}
}

// waitEnd reads the client's next state byte: TEST_END ends the test
// normally. A test with a duration is bounded by it plus slack; one
// without (-t 0, -n, -k) lasts until the client ends it or goes away.
func (ss *session) waitEnd() error {
	var deadline time.Time
	if t := ss.params.Time; t > 0 {
		deadline = time.Now().Add(time.Duration(t)*time.Second + ss.srv.cfg.ControlTimeout + 10*time.Second)
	}
	_ = ss.conn.SetReadDeadline(deadline)
	st, err := ReadState(ss.conn)
	switch {
	case err != nil:
		return err
	case st == TestEnd:
		return nil
	case st == ClientTerminate:
		ss.report.End = EndClientTerminated
		return errClientTerminated
	}
	return protoErr("unexpected %v during the test", st)
}

var errClientTerminated = errors.New("iperf3: " + EndClientTerminated)

// endReason names how a conversation that failed with err ended.
func endReason(err error) string {
	switch {
	case err == nil:
		return EndDone
	case errors.Is(err, errAborted):
		return EndServerClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return EndTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return EndClientClosed
	}
	return EndError
}

// finish stops what runs, forgets the streams' addresses, closes the
// control connection and hands the report on.
func (ss *session) finish(err error) {
	select {
	case <-ss.aborted:
		if err != nil {
			err = fmt.Errorf("%w (%v)", errAborted, err)
		}
	default:
	}
	if ss.report.End == "" {
		ss.report.End = endReason(err)
	}
	ss.report.Err = err
	ss.srv.dm.remove(ss.addrs)
	ss.conn.Close()
	ss.report.Duration = ss.elapsed
	ss.report.Streams = ss.streamReports()
	ss.report.CPU = ss.cpuUsed
	ss.report.Text = ss.text.String()
	ss.report.Port = ss.srv.dm.counters()
	if f := ss.srv.cfg.OnReport; f != nil {
		f(&ss.report)
	}
}
