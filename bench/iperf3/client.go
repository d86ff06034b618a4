package iperf3

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// ClientConfig describes one test a Client runs.
type ClientConfig struct {
	Host string
	Port int
	// Len is the datagram size, MinLen..MaxLen (default DefaultLen).
	Len int
	// Bandwidth is each stream's rate in bit/s; 0 sends as fast as the
	// socket takes datagrams (iperf3's -b 0).
	Bandwidth float64
	// Time is the test's length; 0 runs until the context is done
	// (iperf3's -t 0). Either way the end is a normal TEST_END, so results
	// are exchanged.
	Time time.Duration
	// Parallel is the number of streams per direction, 1..128 (default 1).
	Parallel int
	// Reverse: the server sends. Bidir: both send (Parallel streams each).
	Reverse, Bidir bool
	// Counters64 uses 64-bit datagram counters (--udp-counters-64bit).
	Counters64 bool
	// GetServerOutput asks for the server's own text output.
	GetServerOutput bool
	// GSO sends batches through UDP GSO where the kernel has it; GRO
	// receives through UDP GRO.
	GSO, GRO bool
	// CPUs pins the sending streams' goroutines, stream i to
	// CPUs[i % len(CPUs)] (empty: no pinning); each must be below
	// runtime.NumCPU().
	CPUs []int
	// Engine sends through the engine's udp.Client (its mmsg, or with GSO
	// its GSO transport) instead of a socket of the stream's own, for
	// datagrams up to 8972 bytes.
	Engine bool
	// PRBS sends PRBS payloads and checks those received (udpperf peers
	// only: it implies Udpperf; an iperf3 server does not check them).
	PRBS bool
	// Udpperf adds udpperf's extras to the parameters (a udpperf server
	// then returns its per-cause counters; an iperf3 server ignores them).
	Udpperf bool
	Title   string
	// ControlTimeout bounds connecting and every control read outside the
	// test (default 10 s).
	ControlTimeout time.Duration
	// OnStart, if set, receives the streams (ids, sockets, directions)
	// when the test starts.
	OnStart func([]ClientStream)
	// Interval and OnInterval report figures while the test runs.
	Interval   time.Duration
	OnInterval func(Interval)
}

func (c *ClientConfig) check() error {
	switch {
	case c.Host == "":
		return fmt.Errorf("%w: no host", ErrConfig)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("%w: port %d outside 1..65535", ErrConfig, c.Port)
	case c.Len != 0 && (c.Len < MinLen || c.Len > MaxLen):
		return fmt.Errorf("%w: datagram size %d outside %d..%d", ErrConfig, c.Len, MinLen, MaxLen)
	case c.Parallel < 0 || c.Parallel > MaxParallel:
		return fmt.Errorf("%w: parallel %d outside 1..%d", ErrConfig, c.Parallel, MaxParallel)
	case c.Bandwidth < 0 || c.Time < 0 || c.ControlTimeout < 0 || c.Interval < 0:
		return fmt.Errorf("%w: negative rate, time, timeout or interval", ErrConfig)
	case c.Time > MaxTime*time.Second:
		return fmt.Errorf("%w: time %v beyond %d s", ErrConfig, c.Time, MaxTime)
	}
	for _, cpu := range c.CPUs {
		if cpu < 0 || cpu >= runtime.NumCPU() {
			return fmt.Errorf("%w: CPU %d outside 0..%d", ErrConfig, cpu, runtime.NumCPU()-1)
		}
	}
	if c.Len == 0 {
		c.Len = DefaultLen
	}
	if c.Parallel == 0 {
		c.Parallel = 1
	}
	if c.ControlTimeout == 0 {
		c.ControlTimeout = 10 * time.Second
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	return nil
}

func (c *ClientConfig) params() *Params {
	p := &Params{UDP: true, Time: Num(c.Time / time.Second), Parallel: Num(c.Parallel), Len: Num(c.Len),
		Bandwidth: Num(c.Bandwidth), PacingTimer: 1000, Reverse: c.Reverse && !c.Bidir, Bidirectional: c.Bidir,
		Title: c.Title, ClientVersion: "3.12"}
	if c.Time > 0 && p.Time == 0 {
		p.Time = 1 // the protocol counts whole seconds; the client ends the test itself
	}
	if c.Counters64 {
		p.Counters64 = 1
	}
	if c.GetServerOutput {
		p.GetServerOutput = 1
	}
	if c.Udpperf || c.PRBS {
		p.Udpperf = &Extras{Version: 1, Transport: c.transport(), PRBS: c.PRBS}
	}
	return p
}

func (c *ClientConfig) transport() string {
	t := "mmsg"
	if c.GSO {
		t = "gso"
	}
	if c.Engine && c.Len <= engineMaxLen {
		t = "engine-" + t
	}
	return t
}

// clientStream is one of a client's UDP streams.
type clientStream struct {
	id     int
	sock   *dataSock
	local  netip.AddrPort
	remote netip.AddrPort
	tx     *sender       // sending stream on its own socket
	etx    *engineSender // or through the engine's udp.Client
	rx     *rxStream     // receiving stream
}

// sending reports whether the client sends on s.
func (s *clientStream) sending() bool { return s.tx != nil || s.etx != nil }

// txCounts is a sending stream's counts.
func (s *clientStream) txCounts() TxCounts {
	if s.etx != nil {
		return s.etx.tx.counts()
	}
	return s.tx.tx.counts()
}

func (s *clientStream) close() {
	if s.etx != nil {
		_ = s.etx.close()
		return
	}
	if s.sock != nil {
		_ = s.sock.close()
	}
}

// client is one running test.
type client struct {
	cfg     ClientConfig
	conn    *net.TCPConn
	server  netip.Addr
	streams []*clientStream
	started time.Time
	cpu     cpuMark
	res     ClientResult
	ctrl    chan stateOrErr
	pending bool // a control read started during the test has not been taken
	wg      sync.WaitGroup
}

type stateOrErr struct {
	st  State
	err error
}

// Run runs one test against an iperf3 (or udpperf) server and returns
// both sides' figures. The context ends a test with Time 0, and ends any
// test early (still with a normal TEST_END).
func Run(ctx context.Context, cfg ClientConfig) (*ClientResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: cfg.ControlTimeout}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("iperf3: connect: %w", err)
	}
	c := &client{cfg: cfg, conn: nc.(*net.TCPConn), ctrl: make(chan stateOrErr, 1)}
	c.server = c.conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	defer c.close()
	_ = c.conn.SetNoDelay(true)
	c.res.Params = *cfg.params()
	if err := c.converse(ctx); err != nil {
		return &c.res, err
	}
	return &c.res, nil
}

func (c *client) close() {
	c.conn.Close()
	for _, s := range c.streams {
		s.close()
	}
	c.wg.Wait()
}
