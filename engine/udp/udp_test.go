package udp

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

func TestServerPortZero(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	if s.Port() == 0 {
		t.Fatal("Port() = 0 after binding port 0")
	}
	if got := s.LocalAddr().Port(); int(got) != s.Port() {
		t.Fatalf("LocalAddr port %d != Port %d", got, s.Port())
	}
	if s.Peer().IsValid() {
		t.Fatalf("Peer = %v before any datagram", s.Peer())
	}
}

func TestPortInUse(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	_, err := NewServer(s.Port(), false)
	if err == nil {
		t.Fatal("second server on the same port succeeded")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("error %q does not say the port is in use", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	testutils.Leak(t)
	cases := []struct {
		name string
		make func() error
		want string
	}{
		{"port negative", func() error { _, err := NewServer(-1, false); return err }, "outside 0..65535"},
		{"port too big", func() error { _, err := NewServer(70000, false); return err }, "outside 0..65535"},
		{"batch zero", func() error { _, err := NewServer(0, false, WithBatch(0)); return err }, "batch size 0"},
		{"batch too big", func() error { _, err := NewServer(0, false, WithBatch(5000)); return err }, "batch size 5000"},
		{"pool too small", func() error { _, err := NewServer(0, false, WithPoolSize(10)); return err }, "pool size 10"},
		{"queues", func() error { _, err := NewServer(0, false, WithReusePort(0)); return err }, "queue count 0"},
		{"rx queue", func() error { _, err := NewServer(0, false, WithRxQueue(-1)); return err }, "receive queue depth"},
		{"tx queue", func() error { _, err := NewServer(0, false, WithTxQueue(-5)); return err }, "transmit queue depth"},
		{"busy poll", func() error { _, err := NewServer(0, false, WithBusyPoll(-1)); return err }, "busy-poll"},
		{"xdp", func() error { _, err := NewServer(0, false, WithTransport(TransportXDP)); return err }, "xdp"},
		{"unknown transport", func() error { _, err := NewServer(0, false, WithTransport(Transport(42))); return err }, "unknown transport"},
		{"empty allow", func() error { _, err := NewServer(0, false, WithAllowedPeers()); return err }, "at least one"},
		{"client port 0", func() error { _, err := NewClient("127.0.0.1", 0, false); return err }, "outside 1..65535"},
		{"client empty host", func() error { _, err := NewClient("", 9, false); return err }, "empty host"},
		{"client bad host", func() error { _, err := NewClient("no-such-host.invalid", 9, false); return err }, "cannot resolve host"},
		{"client reuseport", func() error { _, err := NewClient("127.0.0.1", 9, false, WithReusePort(2)); return err }, "servers only"},
		{"bind not local", func() error {
			_, err := NewServer(0, false, WithBindAddress(mustAddr("192.0.2.1")))
			return err
		}, "not one of this host's"},
	}
	for _, c := range cases {
		err := c.make()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
}

func TestParseTransport(t *testing.T) {
	for _, tr := range []Transport{TransportMmsg, TransportNaive, TransportGRO, TransportXDP} {
		got, err := ParseTransport(strings.ToUpper(tr.String()))
		if err != nil || got != tr {
			t.Errorf("ParseTransport(%q) = %v, %v", tr.String(), got, err)
		}
	}
	if got, err := ParseTransport("gso"); err != nil || got != TransportGRO {
		t.Errorf("ParseTransport(gso) = %v, %v", got, err)
	}
	if _, err := ParseTransport("carrier-pigeon"); err == nil {
		t.Error("ParseTransport accepted an unknown name")
	}
	if s := Transport(9).String(); !strings.Contains(s, "9") {
		t.Errorf("String of unknown transport = %q", s)
	}
}

// TestEchoEachTransport sends frames of every size class from a client to
// an echoing server and checks what comes back, for each transport.
func TestEchoEachTransport(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		for _, jumbo := range []bool{false, true} {
			s := mustServer(t, jumbo, WithTransport(tr))
			engine.Connect(s, s) // echo
			c := mustClient(t, "127.0.0.1", s.Port(), jumbo, WithTransport(tr))
			sizes := []int{0, 1, 100, c.MaxPayload() - 1, c.MaxPayload()}
			col := newCollector(len(sizes), true)
			engine.Connect(c, col)
			for i, n := range sizes {
				b := make([]byte, n)
				testutils.FillPattern(b, uint32(i))
				f := frameOf(t, c.ep.txPool, b)
				if err := c.Send(f); err != nil {
					t.Fatalf("%v jumbo=%v: Send(%d bytes): %v", tr, jumbo, n, err)
				}
				f.Release()
				// One at a time keeps the order checkable on every path.
				testutils.Eventually(t, 5*time.Second, "echo", func() bool { return col.n.Load() == int64(i+1) })
			}
			for i, b := range col.got() {
				if len(b) != sizes[i] {
					t.Fatalf("%v jumbo=%v: echo %d has %d bytes, want %d", tr, jumbo, i, len(b), sizes[i])
				}
				want := make([]byte, sizes[i])
				testutils.FillPattern(want, uint32(i))
				if !bytes.Equal(b, want) {
					t.Fatalf("%v jumbo=%v: echo %d differs", tr, jumbo, i)
				}
			}
			st := s.Stats()
			if st.RxFrames != uint64(len(sizes)) || st.TxFrames != uint64(len(sizes)) || st.Transport != tr {
				t.Fatalf("%v: server stats %+v", tr, st)
			}
			if s.FrameCount() != uint64(len(sizes)) {
				t.Fatalf("%v: FrameCount %d", tr, s.FrameCount())
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRogueMethods lists, as method values, every method of Rogue's
// udp.Server under its Go name, on both endpoints: the build fails if one
// is missing. The pool setters Rogue inherits (setFixedSize, setPoolSize)
// are deliberately absent: an endpoint's pool geometry is MaxPayload and
// WithPoolSize, fixed for its life.
func TestRogueMethods(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	c := mustClient(t, "127.0.0.1", s.Port(), false)
	for _, ep := range []interface {
		engine.Slave
		engine.Allocator
		engine.Source
	}{s, c} {
		_ = ep
	}
	_ = []any{
		s.Port, s.MaxPayload, s.SetRxBufferCount, s.SetTimeout, s.AddSlave, s.SlaveCount,
		s.ReqFrame, s.SendFrame, s.Close, s.SetDebug, s.AcceptFrame, s.FrameCount, s.ByteCount,
		s.AllocCount, s.AllocBytes, s.AcceptReq,
		c.Port, c.MaxPayload, c.SetRxBufferCount, c.SetTimeout, c.AddSlave, c.SlaveCount,
		c.ReqFrame, c.SendFrame, c.Close, c.SetDebug, c.AcceptFrame, c.FrameCount, c.ByteCount,
		c.AllocCount, c.AllocBytes, c.AcceptReq,
	}
	// A master attached to the server allocates from the server's pool.
	var m engine.Master
	engine.Connect(&m, s)
	f, err := m.ReqFrame(100, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.AllocCount() != 1 || f.Size() != s.MaxPayload() {
		t.Fatalf("frame of %d bytes, server pool has %d out", f.Size(), s.AllocCount())
	}
	f.Release()
	if p := s.ep.txPool; p.FixedSize() != MaxPayloadStandard || p.PoolSize() != DefaultPoolSize {
		t.Fatalf("transmit pool: fixed %d, pool %d", p.FixedSize(), p.PoolSize())
	}
}

// TestReqFrameIsAcceptReq: a client's ReqFrame lends the frames AcceptReq
// lends, from the same pool and counted by the same counters. A standard
// client asked for 3000 bytes gives a frame of MaxPayload buffers, never
// one 3000-byte buffer from a pool nobody counts, and what it lends comes
// back.
func TestReqFrameIsAcceptReq(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false)
	c := mustClient(t, "127.0.0.1", s.Port(), false)
	for name, req := range map[string]func(int, bool) (engine.Frame, error){
		"ReqFrame": c.ReqFrame, "AcceptReq": c.AcceptReq,
	} {
		f, err := req(3000, true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.BufferCount() != 3 || f.Size() != 3*MaxPayloadStandard {
			t.Fatalf("%s(3000): %d buffers, %d bytes; want 3 buffers of %d", name, f.BufferCount(), f.Size(), MaxPayloadStandard)
		}
		if c.AllocCount() != 3 || c.AllocBytes() < 3*MaxPayloadStandard {
			t.Fatalf("%s(3000): client counts %d buffers, %d bytes out", name, c.AllocCount(), c.AllocBytes())
		}
		f.Release()
		if c.AllocCount() != 0 || c.AllocBytes() != 0 {
			t.Fatalf("%s: %d buffers, %d bytes still counted after release", name, c.AllocCount(), c.AllocBytes())
		}
	}
	var held []engine.Frame
	for range 1000 {
		f, err := c.ReqFrame(100, true)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	if c.AllocCount() != len(held) {
		t.Fatalf("AllocCount %d with %d frames lent by ReqFrame", c.AllocCount(), len(held))
	}
	for _, f := range held {
		f.Release()
	}
	if c.AllocCount() != 0 {
		t.Fatalf("AllocCount %d after every frame came back", c.AllocCount())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReqFrame(100, true); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("ReqFrame after Close: %v", err)
	}
}
