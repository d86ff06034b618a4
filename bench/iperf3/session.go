package iperf3

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// How a session ended.
const (
	EndDone             = "done"
	EndClientTerminated = "the client has terminated"
	EndClientClosed     = "the client has unexpectedly closed the connection"
	EndTimeout          = "control timeout"
	EndRefused          = "test refused"
	EndError            = "error"
	EndServerClosed     = "server closed"
)

// session is one client's test on a Server.
type session struct {
	srv  *Server
	conn *net.TCPConn
	peer netip.AddrPort
	id   uint64

	abortOnce sync.Once
	aborted   chan struct{}

	params  *Params
	rx      []*rxStream
	tx      []*sender
	addrs   []netip.AddrPort
	started time.Time
	cpu     cpuMark
	text    strings.Builder // iperf3-style text output for --get-server-output
	report  SessionReport
	kernel0 uint64 // the data socket's kernel drops at TEST_RUNNING
	elapsed time.Duration
	cpuUsed CPU
	sent    []vouched // receiving streams' sent counts from the client
}

// abort ends the session from outside (server Close).
func (ss *session) abort() {
	ss.abortOnce.Do(func() { close(ss.aborted) })
	ss.conn.Close()
}

func (ss *session) run() {
	ss.report = SessionReport{ID: ss.id, Client: ss.peer, Start: time.Now()}
	err := ss.converse()
	ss.finish(err)
}

// converse runs the control conversation; it returns nil after IPERF_DONE.
func (ss *session) converse() error {
	if err := ss.handshake(); err != nil {
		return err
	}
	if err := ss.createStreams(); err != nil {
		return err
	}
	if err := ss.runTest(); err != nil {
		return err
	}
	return ss.exchangeResults()
}

// read arms the control timeout and runs f.
func (ss *session) read(f func() error) error {
	_ = ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.ControlTimeout))
	return f()
}

func (ss *session) handshake() error {
	var cookie [CookieLen]byte
	if err := ss.read(func() error { _, err := io.ReadFull(ss.conn, cookie[:]); return err }); err != nil {
		return fmt.Errorf("cookie: %w", err)
	}
	if err := WriteState(ss.conn, ParamExchange); err != nil {
		return err
	}
	var body []byte
	err := ss.read(func() (err error) { body, err = ReadJSONBytes(ss.conn, MaxParamsLen); return err })
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	p, err := ParseParams(body)
	if p != nil {
		ss.report.Params = *p
	}
	switch {
	case err == nil && !p.UDP:
		err = ss.refuse(IEProtocol, "not a UDP test (TCP is not served)")
	case err == nil && p.Omit > 0:
		err = ss.refuse(IEUnimplemented, "omit (-O) is not served")
	case err != nil:
		_ = WriteServerError(ss.conn, IEUnimplemented, 0)
		ss.report.End = EndRefused
	}
	ss.params = p
	return err
}

func (ss *session) refuse(ierrno int32, why string) error {
	ss.report.End = EndRefused
	_ = WriteServerError(ss.conn, ierrno, 0)
	return fmt.Errorf("%w: %s", ErrProtocol, why)
}

// createStreams takes the server's accept turn and accepts the streams.
func (ss *session) createStreams() error {
	nrecv, nsend := ss.params.Streams()
	wide := ss.params.Counters64 != 0
	for i := 0; i < nrecv; i++ {
		ss.rx = append(ss.rx, &rxStream{wide: wide, prbs: ss.prbs()})
	}
	turn := time.NewTimer(2 * ss.srv.cfg.ControlTimeout)
	defer turn.Stop()
	select {
	case ss.srv.accept <- struct{}{}:
	case <-ss.aborted:
		return errAborted
	case <-turn.C:
		return fmt.Errorf("%w: waited too long for the accept turn", os.ErrDeadlineExceeded)
	}
	defer func() { <-ss.srv.accept }()
	w := &acceptWindow{want: nrecv + nsend, recv: nrecv, rx: ss.rx, done: make(chan struct{})}
	ss.srv.dm.open(w)
	if err := WriteState(ss.conn, CreateStreams); err != nil {
		ss.srv.dm.cancel(w)
		return err
	}
	t := time.NewTimer(ss.srv.cfg.ControlTimeout)
	defer t.Stop()
	select {
	case <-w.done:
	case <-ss.aborted:
		ss.srv.dm.cancel(w)
		return errAborted
	case <-t.C:
		ss.srv.dm.cancel(w)
	}
	ss.srv.dm.mu.Lock()
	ss.addrs = append([]netip.AddrPort(nil), w.addrs...)
	ss.srv.dm.mu.Unlock()
	if len(ss.addrs) < w.want {
		return fmt.Errorf("%w: %d of %d streams connected", os.ErrDeadlineExceeded, len(ss.addrs), w.want)
	}
	ss.acceptedText()
	return nil
}

// prbs reports whether the client asked for PRBS payloads.
func (ss *session) prbs() bool { return ss.params.Udpperf != nil && ss.params.Udpperf.PRBS }

var errAborted = errors.New("iperf3: server closed")
