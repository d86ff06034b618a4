package zmq

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// pair starts a server on a free port pair and a client connected to it,
// and waits until each can send to the other.
func pair(t *testing.T, opts ...Option) (srv, cli *Bridge) {
	t.Helper()
	srv, err := NewTcpServer("127.0.0.1", 0, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cli, err = NewTcpClient("127.0.0.1", srv.Port(), opts...)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { mustClose(t, cli); mustClose(t, srv) })
	waitUntil(t, 5*time.Second, "both connections", func() bool {
		return srv.Stats().Peers == 1 && cli.Stats().Peers == 1 && srv.Stats().Connects == 2
	})
	return srv, cli
}

// sendPRBS sends n PRBS frames of size bytes from a to b's recorder with
// metadata varied per frame, and checks what arrives.
func sendPRBS(t *testing.T, from *Bridge, to *recorder, n, size int) {
	t.Helper()
	gen, err := prbs.NewGenerator(32)
	if err != nil {
		t.Fatal(err)
	}
	pool := engine.NewPool()
	base := to.count()
	for i := range n {
		f, err := pool.AcceptReq(size, true)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPayload(size)
		if err := gen.FillFrame(f); err != nil {
			t.Fatal(err)
		}
		f.SetFlags(uint16(0x8100 + i))
		f.SetChannel(uint8(i % 7))
		f.SetError(uint8(i % 3))
		if err := from.Send(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		f.Release()
	}
	to.waitCount(t, base+n, 10*time.Second)
	chk, err := prbs.NewChecker(32)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range to.all()[base:] {
		if g.flags != uint16(0x8100+i) || g.channel != uint8(i%7) || g.error != uint8(i%3) {
			t.Fatalf("frame %d: flags %#x channel %d error %d", i, g.flags, g.channel, g.error)
		}
		if _, err := prbs.Verify(g.data, 32); err != nil || len(g.data) != size {
			t.Fatalf("frame %d (%d bytes): %v", i, len(g.data), err)
		}
	}
	_ = chk
}

func TestServerClientBothWays(t *testing.T) {
	leakCheck(t)
	srv, cli := pair(t)
	atSrv, atCli := newRecorder(), newRecorder()
	srv.AddSlave(atSrv)
	cli.AddSlave(atCli)
	sendPRBS(t, cli, atSrv, 150, 1472)
	sendPRBS(t, srv, atCli, 150, 8972)
	if s := srv.Stats(); s.RxFrames != 150 || s.TxFrames != 150 || s.RxBytes != 150*1472 {
		t.Fatalf("server stats %+v", s)
	}
}

func TestZeroLengthPayloadThenMore(t *testing.T) {
	leakCheck(t)
	srv, cli := pair(t)
	atSrv := newRecorder()
	srv.AddSlave(atSrv)
	for i, data := range [][]byte{{}, []byte("after"), {}, {}} {
		f := makeFrame(t, data, 0xbeef, uint8(i), 0)
		if err := cli.Send(f); err != nil {
			t.Fatal(err)
		}
		f.Release()
	}
	atSrv.waitCount(t, 4, 5*time.Second)
	fs := atSrv.all()
	if len(fs[0].data) != 0 || string(fs[1].data) != "after" || len(fs[3].data) != 0 || fs[3].channel != 3 {
		t.Fatalf("got %+v", fs)
	}
}

func TestFrameOfSeveralBuffers(t *testing.T) {
	leakCheck(t)
	srv, cli := pair(t)
	atCli := newRecorder()
	cli.AddSlave(atCli)
	pool, err := engine.NewFixedPool(1000, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pool.AcceptReq(5000, true)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("0123456789"), 450)
	f.Write(want)
	if f.BufferCount() < 5 {
		t.Fatalf("frame has %d buffers", f.BufferCount())
	}
	if err := srv.Send(f); err != nil {
		t.Fatal(err)
	}
	f.Release()
	atCli.waitCount(t, 1, 5*time.Second)
	if !bytes.Equal(atCli.all()[0].data, want) {
		t.Fatal("payload differs")
	}
}

func TestMalformedMessagesCountedAndLogged(t *testing.T) {
	leakCheck(t)
	logs := &logRecorder{}
	srv, err := NewTcpServer("127.0.0.1", 0, WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	rec := newRecorder()
	srv.AddSlave(rec)
	p := dialRaw(t, srv.Port(), "PUSH", "PULL")
	fl, ch, er := []byte{1, 2}, []byte{3}, []byte{4}
	p.send(t, fl, ch, er)                           // 3 parts
	p.send(t, fl, ch, er, []byte("x"), []byte("y")) // 5 parts
	p.send(t, []byte{1}, ch, er, []byte("x"))       // 1-byte flags
	p.send(t, []byte{1, 2, 3}, ch, er, []byte("x")) // 3-byte flags
	p.send(t, fl, []byte{1, 2}, er, []byte("x"))    // 2-byte channel
	p.send(t, fl, ch, []byte{}, []byte("x"))        // empty error part
	p.send(t, []byte("payload only"))               // 1 part
	p.send(t, fl, ch, er, []byte("good"))
	rec.waitCount(t, 1, 5*time.Second)
	s := srv.Stats()
	if s.RxMalformed != 7 || s.RxFrames != 1 || s.ProtocolErrors != 0 {
		t.Fatalf("stats %+v", s)
	}
	g := rec.all()[0]
	if string(g.data) != "good" || g.flags != 0x0201 || g.channel != 3 || g.error != 4 {
		t.Fatalf("got %+v", g)
	}
	if m := logs.messages(); len(m) == 0 {
		t.Fatal("nothing logged for malformed messages")
	}
}

func TestOversizeSkipped(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0, WithMaxPayload(100))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	rec := newRecorder()
	srv.AddSlave(rec)
	p := dialRaw(t, srv.Port(), "PUSH", "PULL")
	p.send(t, []byte{0, 0}, []byte{0}, []byte{0}, make([]byte, 5000))
	p.send(t, []byte{0, 0}, []byte{0}, []byte{0}, []byte("ok"))
	rec.waitCount(t, 1, 5*time.Second)
	if s := srv.Stats(); s.RxOversize != 1 || s.RxMalformed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWireLayoutOfSentFrame(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	p := dialRaw(t, srv.Port()+1, "PULL", "PUSH")
	waitUntil(t, 5*time.Second, "the peer", func() bool { return srv.Stats().Peers == 1 })
	f := makeFrame(t, make([]byte, 300), 0x8103, 1, 0x49)
	if err := srv.Send(f); err != nil {
		t.Fatal(err)
	}
	f.Release()
	parts := p.recv(t)
	if len(parts) != 4 || !bytes.Equal(parts[0], []byte{0x03, 0x81}) || !bytes.Equal(parts[1], []byte{1}) ||
		!bytes.Equal(parts[2], []byte{0x49}) || len(parts[3]) != 300 {
		t.Fatalf("parts %x", parts[:3])
	}
}

func TestNoPeerDropsOrWaits(t *testing.T) {
	leakCheck(t)
	for _, tc := range []struct {
		timeout time.Duration
		atLeast time.Duration
	}{{0, 0}, {50 * time.Millisecond, 50 * time.Millisecond}} {
		srv, err := NewTcpServer("127.0.0.1", 0, WithSendTimeout(tc.timeout))
		if err != nil {
			t.Fatal(err)
		}
		f := makeFrame(t, []byte("x"), 0, 0, 0)
		start := time.Now()
		err = srv.Send(f)
		el := time.Since(start)
		f.Release()
		if !errors.Is(err, ErrNoPeer) || el < tc.atLeast || el > tc.atLeast+time.Second {
			t.Fatalf("timeout %v: Send returned %v after %v", tc.timeout, err, el)
		}
		if s := srv.Stats(); s.TxNoPeer != 1 {
			t.Fatalf("stats %+v", s)
		}
		mustClose(t, srv)
	}
}

func TestCloseEndsBlockedSend(t *testing.T) {
	leakCheck(t)
	cli, err := NewTcpClient("127.0.0.1", 1, WithSendTimeout(-1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f := makeFrame(t, []byte("x"), 0, 0, 0)
		done <- cli.Send(f)
		f.Release()
	}()
	time.Sleep(100 * time.Millisecond)
	mustClose(t, cli)
	select {
	case err := <-done:
		if !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("Send returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Send still blocked after Close")
	}
	if s := cli.Stats(); s.TxErrors != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSlowPeerTimesOutAndIsCounted(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0, WithSendTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	dialRaw(t, srv.Port()+1, "PULL", "PUSH") // handshakes, then never reads
	waitUntil(t, 5*time.Second, "the peer", func() bool { return srv.Stats().Peers == 1 })
	f := makeFrame(t, make([]byte, 8972), 0, 0, 0)
	defer f.Release()
	deadline := time.Now().Add(10 * time.Second)
	var sent uint64

	for time.Now().Before(deadline) {
		if err = srv.Send(f); err != nil {
			break
		}
		sent++
	}
	if !errors.Is(err, ErrSendTimeout) {
		t.Fatalf("after %d frames Send returned %v", sent, err)
	}
	s := srv.Stats()
	if s.TxTimeouts != 1 || s.TxFrames != sent || sent == 0 {
		t.Fatalf("sent %d, stats %+v", sent, s)
	}
	// A frame cut off mid-message breaks the stream: the connection is
	// dropped. One stopped at a message boundary keeps it.
	if s.Peers == 0 && s.Disconnects == 0 {
		waitUntil(t, 5*time.Second, "the disconnect", func() bool { return srv.Stats().Disconnects == 1 })
	}
}

func TestClientReconnectsToNewServer(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	cli, err := NewTcpClient("127.0.0.1", port, WithReconnectInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, cli)
	waitUntil(t, 5*time.Second, "both connections", func() bool {
		return cli.Stats().Connects == 2 && srv.Stats().Connects == 2
	})
	mustClose(t, srv)
	waitUntil(t, 5*time.Second, "disconnect", func() bool { return cli.Stats().Peers == 0 })
	srv2, err := NewTcpServer("127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv2)
	rec := newRecorder()
	srv2.AddSlave(rec)
	sendPRBS(t, cli, rec, 10, 1472)
	// Both connections were lost and both come back.
	waitUntil(t, 5*time.Second, "both reconnections", func() bool {
		s := cli.Stats()
		return s.Connects >= 4 && s.Disconnects >= 2
	})
}

func TestServerAcceptsNewClient(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	rec := newRecorder()
	srv.AddSlave(rec)
	for round := range 2 {
		cli, err := NewTcpClient("127.0.0.1", srv.Port())
		if err != nil {
			t.Fatal(err)
		}
		sendPRBS(t, cli, rec, 5, 1472)
		// The frames came over one of the client's two connections; the
		// server may still be finishing the other's handshake, and a
		// connection closed during it counts as a handshake error, not
		// a disconnect.
		waitUntil(t, 5*time.Second, "both connections", func() bool { return srv.Stats().Connects == uint64(2*(round+1)) })
		mustClose(t, cli)
		waitUntil(t, 5*time.Second, "disconnect", func() bool { return srv.Stats().Disconnects == uint64(2*(round+1)) })
	}
}

func TestBadArguments(t *testing.T) {
	for _, f := range []func() (*Bridge, error){
		func() (*Bridge, error) { return NewTcpServer("127.0.0.1", 65535) },
		func() (*Bridge, error) { return NewTcpClient("127.0.0.1", 0) },
		func() (*Bridge, error) { return NewTcpClient("", 5000) },
		func() (*Bridge, error) { return NewTcpClient("127.0.0.1", 5000, WithReconnectInterval(0)) },
		func() (*Bridge, error) { return NewTcpServer("127.0.0.1", 0, WithMaxPayload(-1)) },
	} {
		if b, err := f(); err == nil {
			b.Close()
			t.Fatal("accepted bad arguments")
		}
	}
}

func TestServerPortInUse(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	if b, err := NewTcpServer("127.0.0.1", srv.Port()); err == nil {
		b.Close()
		t.Fatal("second server bound the same ports")
	}
}

func TestSendAfterCloseCounted(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, srv)
	f := makeFrame(t, []byte("x"), 0, 0, 0)
	defer f.Release()
	if err := srv.Send(f); !errors.Is(err, engine.ErrClosed) || srv.Stats().TxErrors != 1 {
		t.Fatalf("Send after Close: %v, %+v", err, srv.Stats())
	}
}

// holder keeps every frame it gets until told to let go.
type holder struct {
	mu     sync.Mutex
	frames []engine.Frame
}

func (h *holder) AcceptFrame(f engine.Frame) {
	f.Retain()
	h.mu.Lock()
	h.frames = append(h.frames, f)
	h.mu.Unlock()
}

func (h *holder) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.frames {
		f.Release()
	}
	h.frames = nil
}

func TestReceivedFramesComeFromBridgePool(t *testing.T) {
	leakCheck(t)
	pool, err := engine.NewFixedPool(2048, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	pool.SetAllocLimit(2)
	srv, err := NewTcpServer("127.0.0.1", 0, WithPool(pool))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	if srv.Pool() != pool {
		t.Fatal("Pool is not the pool given")
	}
	h := &holder{}
	defer h.release()
	srv.AddSlave(h)
	p := dialRaw(t, srv.Port(), "PUSH", "PULL")
	meta := [][]byte{{0, 0}, {0}, {0}}
	for range 3 {
		p.send(t, append(meta, make([]byte, 1000))...)
	}
	waitUntil(t, 5*time.Second, "the refused frame", func() bool { return srv.Stats().RxPoolExhausted == 1 })
	if s := srv.Stats(); s.RxFrames != 2 || pool.AllocCount() != 2 {
		t.Fatalf("stats %+v, pool holds %d", s, pool.AllocCount())
	}
	h.release()
	p.send(t, append(meta, make([]byte, 1000))...)
	waitUntil(t, 5*time.Second, "the next frame", func() bool { return srv.Stats().RxFrames == 3 })
}
