package udp

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/engine"
)

// collector is a slave that counts frames and keeps copies of their
// payloads (when keep is set), and signals when it has seen want frames.
type collector struct {
	mu     sync.Mutex
	frames [][]byte
	keep   bool
	n      atomic.Int64
	want   int64
	done   chan struct{}
	once   sync.Once
	each   func(f engine.Frame)
}

func newCollector(want int, keep bool) *collector {
	return &collector{want: int64(want), keep: keep, done: make(chan struct{})}
}

func (c *collector) AcceptFrame(f engine.Frame) {
	if c.each != nil {
		c.each(f)
	}
	if c.keep {
		b := make([]byte, f.Payload())
		f.ReadAt(b, 0)
		c.mu.Lock()
		c.frames = append(c.frames, b)
		c.mu.Unlock()
	}
	if c.n.Add(1) == c.want {
		c.once.Do(func() { close(c.done) })
	}
}

func (c *collector) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("received %d of %d frames within %v", c.n.Load(), c.want, d)
	}
}

func (c *collector) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// frameOf allocates a frame from p holding data.
func frameOf(t testing.TB, p *engine.Pool, data []byte) engine.Frame {
	t.Helper()
	f, err := p.AcceptReq(len(data), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// mustServer starts a server on an OS-chosen port and closes it at the
// end of the test.
func mustServer(t testing.TB, jumbo bool, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(0, jumbo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustClient(t testing.TB, host string, port int, jumbo bool, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(host, port, jumbo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawUDP opens a plain socket on loopback for sending arbitrary datagrams.
func rawUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func loopback(port int) *net.UDPAddr {
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
}

var allTransports = []Transport{TransportNaive, TransportMmsg, TransportGRO}

// shortTransports is allTransports, or in short mode only the default
// (mmsg): the slow per-transport sweeps then run one representative case.
func shortTransports() []Transport {
	if testing.Short() {
		return []Transport{TransportMmsg}
	}
	return allTransports
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func errorsIsClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

func mustFrame(t *testing.T, p *engine.Pool, size int) engine.Frame {
	t.Helper()
	f, err := p.AcceptReq(size, true)
	if err != nil {
		t.Fatalf("AcceptReq(%d): %v", size, err)
	}
	return f
}

// socketsOf is the transport of an endpoint running over sockets.
func socketsOf(e *endpoint) *socketPath { return e.tp.(*socketPath) }

// planPath is a socket path without sockets or pools, for testing how it
// plans batches of datagrams of up to maxPayload bytes.
func planPath(maxPayload int) *socketPath {
	p := &socketPath{txr: &txRules{maxPayload: maxPayload, log: newRateLog(slog.New(slog.DiscardHandler))}}
	p.txs.alloc(8)
	return p
}

// unopenedPath is the socket path e would open, with its pools but
// without sockets, for testing its receive code directly.
func unopenedPath(tb testing.TB, e *endpoint) *socketPath {
	tb.Helper()
	p, err := newSocketPath(e.cfg, &e.rxRules, &e.txRules, e.mtu)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
