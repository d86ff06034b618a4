package iperf3

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// converse follows the server's states to the end of the test.
func (c *client) converse(ctx context.Context) error {
	cookie := NewCookie()
	if _, err := c.conn.Write(cookie[:]); err != nil {
		return err
	}
	for {
		st, err := c.readState(c.cfg.ControlTimeout)
		if err != nil {
			return err
		}
		switch st {
		case ParamExchange:
			err = WriteJSON(c.conn, &c.res.Params)
		case CreateStreams:
			err = c.createStreams()
		case TestStart:
			c.started, c.cpu = time.Now(), markCPU()
		case TestRunning:
			err = c.runTest(ctx)
		case ExchangeResults:
			err = c.exchangeResults()
		case DisplayResults:
			return WriteState(c.conn, IperfDone)
		default:
			return c.abnormal(st)
		}
		if err != nil {
			return err
		}
	}
}

// abnormal turns a state that ends the test into its error.
func (c *client) abnormal(st State) error {
	switch st {
	case AccessDenied:
		return ErrBusy
	case ServerError:
		_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.ControlTimeout))
		code, err := ReadServerError(c.conn)
		if err != nil {
			return fmt.Errorf("%w: SERVER_ERROR without its code: %v", ErrServer, err)
		}
		return code
	case ServerTerminate:
		return fmt.Errorf("%w: the server has terminated", ErrServer)
	}
	return protoErr("received an unknown control message %v", st)
}

func (c *client) readState(timeout time.Duration) (State, error) {
	if c.pending {
		return c.stateAfterTest()
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	st, err := ReadState(c.conn)
	if err != nil {
		return 0, fmt.Errorf("iperf3: control connection: %w", err)
	}
	return st, nil
}

// createStreams connects the sending streams, then the receiving ones,
// one handshake at a time.
func (c *client) createStreams() error {
	recv, send := c.res.Params.Streams() // the server's view
	dst := netip.AddrPortFrom(c.server, uint16(c.cfg.Port))
	for i := 0; i < recv+send; i++ {
		if i < recv && c.cfg.Engine && c.cfg.Len <= engineMaxLen {
			e, err := newEngineSender(dst, c.cfg.Len, c.cfg.Counters64, c.cfg.GSO, c.cfg.Bandwidth, c.cfg.ControlTimeout)
			if err != nil {
				return fmt.Errorf("iperf3: stream %d: %w", StreamID(i), err)
			}
			e.prbs = c.cfg.PRBS
			c.streams = append(c.streams, &clientStream{id: StreamID(i), etx: e, local: e.local(), remote: dst})
			continue
		}
		if err := c.createSocketStream(i, recv, dst); err != nil {
			return err
		}
	}
	return nil
}

// createSocketStream opens stream i on a connected socket of its own.
func (c *client) createSocketStream(i, recv int, dst netip.AddrPort) error {
	uc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return fmt.Errorf("iperf3: stream socket: %w", err)
	}
	rxBuf := 0
	if i >= recv {
		rxBuf = DefaultRxBuffer
	}
	s := &clientStream{id: StreamID(i), sock: newDataSock(uc, sendBatch, c.cfg.GRO && i >= recv, rxBuf),
		local: uc.LocalAddr().(*net.UDPAddr).AddrPort(), remote: dst}
	c.streams = append(c.streams, s)
	if err := c.connectStream(uc); err != nil {
		return fmt.Errorf("iperf3: stream %d: %w", s.id, err)
	}
	if i < recv { // the server receives: we send
		s.tx = newSender(s.sock, netip.AddrPort{}, c.cfg.Len, c.cfg.Counters64, c.cfg.Bandwidth, c.cfg.GSO)
		s.tx.prbs = c.cfg.PRBS
	} else {
		s.rx = &rxStream{wide: c.cfg.Counters64, prbs: c.cfg.PRBS}
	}
	return nil
}

// connectStream sends the 4-byte connect datagram and waits for the reply;
// data datagrams that come first (a server already sending) are skipped.
func (c *client) connectStream(uc *net.UDPConn) error {
	if _, err := uc.Write(ConnectMsg[:]); err != nil {
		return err
	}
	_ = uc.SetReadDeadline(time.Now().Add(c.cfg.ControlTimeout))
	defer uc.SetReadDeadline(time.Time{})
	buf := make([]byte, 65536)
	for tries := 0; tries < 1024; tries++ {
		n, err := uc.Read(buf)
		if err != nil {
			return fmt.Errorf("no connect reply: %w", err)
		}
		if n == 4 {
			if IsConnectReply(buf[:4]) {
				return nil
			}
			return protoErr("bad connect reply % x", buf[:4])
		}
	}
	return protoErr("no connect reply among 1024 datagrams")
}
