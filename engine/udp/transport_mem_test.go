package udp

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// memTransport is a transport without sockets: received datagrams are
// injected by the test and judged by the endpoint's rules, sent frames are
// copied into a list. Like the real paths it sees only the rxRules and
// txRules the endpoint gives it, and it has a receive goroutine that start
// launches and shutdown ends. It records the calls the endpoint makes, so
// the endpoint's logic (peer tracking, allow-list, accounting, Close
// order) is tested without the network or root.
type memTransport struct {
	rx   *rxRules
	txr  *txRules
	pool *engine.Pool // receive buffers
	rxs  udpSocket    // receive counters, as the real paths keep them
	pc   peerCache
	stop chan struct{} // closed by shutdown: the receive goroutine ends

	mu      sync.Mutex
	sent    []memDatagram
	calls   []string
	failing error // returned by the next sends, when set
}

type memDatagram struct {
	payload []byte
	dest    netip.AddrPort
}

// newMemEndpoint is an endpoint running over a memTransport; client
// endpoints talk to remote.
func newMemEndpoint(t *testing.T, client bool, remote netip.AddrPort, opts ...Option) (*endpoint, *memTransport, *engine.Master) {
	t.Helper()
	m := &engine.Master{}
	e, err := newEndpoint(m, false, client, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.remote = remote
	mt := &memTransport{rx: &e.rxRules, txr: &e.txRules, stop: make(chan struct{})}
	if mt.pool, err = engine.NewFixedPool(e.maxPayload, e.cfg.poolSize, 0); err != nil {
		t.Fatal(err)
	}
	pool, err := engine.NewFixedPool(e.maxPayload, e.cfg.poolSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.run(mt, pool); err != nil {
		t.Fatal(err)
	}
	m.SetPool(e.txPool)
	t.Cleanup(func() { e.close() })
	return e, mt, m
}

func (m *memTransport) note(call string) {
	m.mu.Lock()
	m.calls = append(m.calls, call)
	m.mu.Unlock()
}

// start launches a receive goroutine that waits for shutdown, as a real
// one waits in the kernel.
func (m *memTransport) start(wg *sync.WaitGroup) {
	m.note("start")
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-m.stop
		m.note("receiver ended")
	}()
}

// inject receives payload from from as the socket path does: into a buffer
// of the receive pool, judged by rxRules.verdict, counted, then delivered.
func (m *memTransport) inject(payload []byte, from netip.AddrPort) rxVerdict {
	r := m.rx
	b, err := px.AllocBuffer(m.pool)
	held := err == nil
	n := len(payload)
	if held {
		n = copy(b.Mem[:r.maxPayload], payload)
	}
	v := r.verdict(held, n < len(payload), n, from)
	var t rxTally
	t.count(v, 1, n)
	r.publish(&m.rxs, &t)
	if v == rxAccepted {
		r.notePeer(&m.pc, from)
		r.accept(&m.rxs, px.FrameOver(m.pool, b, n))
	}
	if held {
		b.Release()
	}
	return v
}

func (m *memTransport) localAddr() netip.AddrPort {
	return netip.MustParseAddrPort("192.0.2.1:4000")
}

func (m *memTransport) setRxBufferCount(n int) bool { return n > 0 }

func (m *memTransport) send(f engine.Frame, dest netip.AddrPort) error {
	n, err := m.txr.checkFrame(f)
	if err != nil {
		return err
	}
	m.mu.Lock()
	failing := m.failing
	m.mu.Unlock()
	if failing != nil {
		return m.txr.txFailed(failing, 1)
	}
	p := make([]byte, n)
	f.ReadAt(p, 0)
	m.mu.Lock()
	m.sent = append(m.sent, memDatagram{p, dest})
	m.calls = append(m.calls, "send")
	m.mu.Unlock()
	m.txr.tx.frames.Add(1)
	m.txr.tx.bytes.Add(uint64(n))
	return nil
}

func (m *memTransport) transmit(fs []engine.Frame, dest netip.AddrPort, mark bool) txResult {
	r := txResult{mark: mark}
	for _, f := range fs {
		if err := m.send(f, dest); err != nil {
			r.fail(err, f)
			continue
		}
		r.sent++
	}
	return r
}

func (m *memTransport) addStats(st Stats) Stats {
	st.addRx(&m.rxs.rx)
	return st
}

func (m *memTransport) shutdown() error {
	m.note("shutdown")
	close(m.stop)
	return nil
}

func (m *memTransport) finish() error { m.note("finish"); return nil }

// payloadFrame is a frame of the endpoint's transmit pool holding p.
func payloadFrame(t *testing.T, e *endpoint, p []byte) engine.Frame {
	t.Helper()
	f, err := e.acceptReq(len(p), true)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(p)
	return f
}

// TestMemServerPeerTracking: a server answers whoever it heard from last,
// and has no one to answer before that.
func TestMemServerPeerTracking(t *testing.T) {
	testutils.Leak(t)
	e, mt, m := newMemEndpoint(t, false, netip.AddrPort{})
	c := newCollector(2, true)
	m.AddSlave(c)
	f := payloadFrame(t, e, []byte("early"))
	defer f.Release()
	if err := e.send(f); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("send before any peer: %v", err)
	}
	a := netip.MustParseAddrPort("198.51.100.7:5000")
	b := netip.MustParseAddrPort("[2001:db8::9]:6000")
	for _, from := range []netip.AddrPort{a, b} {
		if v := mt.inject([]byte("hello"), from); v != rxAccepted {
			t.Fatalf("datagram from %v: verdict %d", from, v)
		}
		if e.peer.load() != from {
			t.Fatalf("peer %v after a datagram from %v", e.peer.load(), from)
		}
		if err := e.send(f); err != nil {
			t.Fatal(err)
		}
	}
	if len(mt.sent) != 2 || mt.sent[0].dest != a || mt.sent[1].dest != b {
		t.Fatalf("sent %+v", mt.sent)
	}
	st := e.stats()
	if st.TxNoPeer != 1 || st.TxFrames != 2 || st.RxFrames != 2 || st.RxBytes != 10 || len(c.got()) != 2 {
		t.Fatalf("stats %+v, %d frames delivered", st, len(c.got()))
	}
}

// TestMemAllowListAndSizes: datagrams from peers outside the allow-list and
// datagrams over MaxPayload are dropped before delivery, counted, and do
// not change the peer.
func TestMemAllowListAndSizes(t *testing.T) {
	testutils.Leak(t)
	ok := netip.MustParseAddrPort("198.51.100.7:5000")
	bad := netip.MustParseAddrPort("198.51.100.8:5000")
	e, mt, m := newMemEndpoint(t, false, netip.AddrPort{}, WithAllowedPeers(ok.Addr()))
	c := newCollector(1, true)
	m.AddSlave(c)
	if v := mt.inject([]byte("x"), bad); v != rxRejected {
		t.Fatalf("outsider: verdict %d", v)
	}
	if v := mt.inject(make([]byte, MaxPayloadStandard+1), ok); v != rxOversize {
		t.Fatalf("oversize: verdict %d", v)
	}
	if e.peer.load().IsValid() {
		t.Fatalf("a dropped datagram set the peer to %v", e.peer.load())
	}
	if v := mt.inject([]byte("in"), ok); v != rxAccepted {
		t.Fatalf("allowed peer: verdict %d", v)
	}
	st := e.stats()
	if st.RxRejected != 1 || st.RxOversize != 1 || st.RxFrames != 1 || len(c.got()) != 1 {
		t.Fatalf("stats %+v, %d frames delivered", st, len(c.got()))
	}
}

// TestMemTransmitAccounting: every frame that does not go out is counted
// once, under its reason, and AcceptFrame marks it.
func TestMemTransmitAccounting(t *testing.T) {
	testutils.Leak(t)
	srv := netip.MustParseAddrPort("203.0.113.5:8192")
	e, mt, _ := newMemEndpoint(t, true, srv)
	good := payloadFrame(t, e, []byte("good"))
	defer good.Release()
	errored := payloadFrame(t, e, []byte("bad"))
	defer errored.Release()
	errored.SetError(0x42)
	big := payloadFrame(t, e, make([]byte, MaxPayloadStandard+1))
	defer big.Release()

	n, err := e.sendBatch([]engine.Frame{good, errored, big, good})
	if n != 2 || !errors.Is(err, ErrFrameErrored) {
		t.Fatalf("sendBatch = %d, %v", n, err)
	}
	mt.mu.Lock()
	mt.failing = os.ErrDeadlineExceeded
	mt.mu.Unlock()
	e.acceptFrame(good)
	if good.Error() != TxErrorCode {
		t.Fatalf("a timed-out frame has error %#x", good.Error())
	}
	st := e.stats()
	if st.TxFrames != 2 || st.TxBytes != 8 || st.TxErrored != 1 || st.TxOversize != 1 || st.TxTimeouts != 1 {
		t.Fatalf("stats %+v", st)
	}
	for _, d := range mt.sent {
		if d.dest != (netip.AddrPort{}) {
			t.Fatalf("a client sent to %v instead of its connected server", d.dest)
		}
	}
}

// TestMemCloseOrder: the endpoint starts its transport once, Close flushes
// the transmit queue before it stops the transport, finishes the transport
// after its receive goroutines have ended, closes the master last, and
// refuses everything afterwards.
func TestMemCloseOrder(t *testing.T) {
	testutils.Leak(t)
	e, mt, m := newMemEndpoint(t, true, netip.MustParseAddrPort("203.0.113.5:8192"), WithTxQueue(16))
	for i := range 8 {
		f := payloadFrame(t, e, []byte{byte(i)})
		e.acceptFrame(f)
		f.Release()
	}
	if err := e.close(); err != nil {
		t.Fatal(err)
	}
	mt.mu.Lock()
	calls := slices.Clone(mt.calls)
	mt.mu.Unlock()
	want := append([]string{"start"}, slices.Repeat([]string{"send"}, 8)...)
	want = append(want, "shutdown", "receiver ended", "finish")
	if !slices.Equal(calls, want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	if _, err := m.ReqFrame(10, true); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("master after Close: %v", err)
	}
	if _, err := e.acceptReq(10, true); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("acceptReq after Close: %v", err)
	}
	if e.txPool.AllocCount() != 0 {
		t.Fatalf("%d transmit buffers still out after Close", e.txPool.AllocCount())
	}
}
