//go:build linux

package xdp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"udpstream.dev/internal/testutils"
)

// TestCloseDetaches: Close wakes a blocked ReceiveWait, removes the program
// from the interface, is idempotent, and later calls fail with ErrClosed.
func TestCloseDetaches(t *testing.T) {
	r := newRig(t, 1500, Config{Port: 47006})
	id, err := r.p.B.XDPProgID()
	if err != nil {
		t.Fatal(err)
	}
	if id == 0 {
		t.Fatal("no XDP program on the interface after Open")
	}

	done := make(chan error, 1)
	go func() {
		_, err := r.s.ReceiveWait(make([]Desc, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it park
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("ReceiveWait after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake ReceiveWait")
	}
	if err := r.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if id, err := r.p.B.XDPProgID(); err != nil || id != 0 {
		t.Fatalf("program %d still attached after Close (%v)", id, err)
	}
	if _, err := r.s.tryReceive(make([]Desc, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close: %v", err)
	}
	if _, err := r.s.Fill([]uint64{0}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Fill after Close: %v", err)
	}
	if _, err := r.s.Transmit([]Desc{{Addr: 0, Len: 60}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transmit after Close: %v", err)
	}
	if _, err := r.s.Complete(make([]uint64, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Complete after Close: %v", err)
	}
	if _, err := r.s.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	// The UMEM stays the caller's and mapped.
	r.umem[0] = 1
}

// TestReceiveDeadline: ReceiveWait returns at the deadline when idle.
func TestReceiveDeadline(t *testing.T) {
	r := newRig(t, 1500, Config{Port: 47007})
	if err := r.s.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := r.s.ReceiveWait(make([]Desc, 4))
	if n != 0 || err == nil || !errors.Is(err, errDeadline) {
		t.Fatalf("ReceiveWait = %d, %v", n, err)
	}
	if el := time.Since(start); el < 40*time.Millisecond || el > time.Second {
		t.Fatalf("returned after %v", el)
	}
}

// TestModes: generic mode can be forced and receives; zero-copy cannot be
// had on veth and says why.
func TestModes(t *testing.T) {
	t.Run("generic", func(t *testing.T) {
		const port = 47008
		r := newRig(t, 1500, Config{Port: port, Mode: ModeGenericCopy})
		if r.s.Mode() != ModeGenericCopy || r.s.zeroCopy() || r.s.steering().Native() {
			t.Fatalf("mode %v zerocopy %v", r.s.Mode(), r.s.zeroCopy())
		}
		h, err := netlink.NewHandleAt(r.p.B.NS)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		l, err := h.LinkByIndex(r.p.B.Index)
		if err != nil {
			t.Fatal(err)
		}
		if x := l.Attrs().Xdp; x == nil || x.AttachMode != nl.XDP_ATTACHED_SKB {
			t.Fatalf("attach mode %+v, want generic", x)
		}
		src := udpIn(t, &r.p.A, netip.AddrPortFrom(r.p.A.Addr4, 0))
		for range 10 {
			if _, err := src.WriteToUDPAddrPort([]byte("generic"), netip.AddrPortFrom(r.p.B.Addr4, port)); err != nil {
				t.Fatal(err)
			}
		}
		if got := r.recvPackets(t, 10, 3*time.Second, func([]Desc) bool { return false }); got != 10 {
			t.Fatalf("received %d of 10", got)
		}
	})
	t.Run("auto", func(t *testing.T) {
		r := newRig(t, 1500, Config{Port: 47009})
		if r.s.Mode() != ModeNativeCopy || r.s.zeroCopy() {
			t.Fatalf("veth gave %v (zerocopy %v), want native copy", r.s.Mode(), r.s.zeroCopy())
		}
	})
	t.Run("zerocopy", func(t *testing.T) {
		testutils.RequireRoot(t)
		p := testutils.New(t, 1500)
		umem, err := MapUMEM(64 * 4096)
		if err != nil {
			t.Fatal(err)
		}
		defer UnmapUMEM(umem)
		err = p.B.Do(func() error {
			s, err := Open(Config{IfIndex: p.B.Index, UMEM: umem, Port: 1, Mode: ModeNativeZeroCopy})
			if err == nil {
				s.Close()
			}
			return err
		})
		if !errors.Is(err, unix.EOPNOTSUPP) {
			t.Fatalf("zero-copy on veth: %v, want EOPNOTSUPP", err)
		}
		if id, _ := p.B.XDPProgID(); id != 0 {
			t.Fatal("failed Open left a program attached")
		}
	})
}

// TestSharedProgram: a Program attached by the caller serves a socket;
// closing the socket leaves it attached, closing the program detaches it.
func TestSharedProgram(t *testing.T) {
	testutils.RequireRoot(t)
	const port = 47010
	p := testutils.New(t, 1500)
	umem, err := MapUMEM(64 * 2048)
	if err != nil {
		t.Fatal(err)
	}
	defer UnmapUMEM(umem)
	var prog *program
	var s *Socket
	fill := make([]uint64, 32)
	for i := range fill {
		fill[i] = uint64(i * 2048)
	}
	if err := p.B.Do(func() error {
		var err error
		if prog, err = newProgram(programConfig{Port: port, Addr: p.B.Addr4, Queues: 4}); err != nil {
			return err
		}
		if err := prog.Attach(p.B.Index, ModeAuto); err != nil {
			return err
		}
		s, err = Open(Config{Interface: p.B.Link, UMEM: umem, ChunkSize: 2048, program: prog, Fill: fill})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	var src *net.UDPConn
	if err := p.A.Do(func() error {
		var err error
		src, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.WriteToUDPAddrPort([]byte("shared"), netip.AddrPortFrom(p.B.Addr4, port)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	descs := make([]Desc, 4)
	if n, err := s.ReceiveWait(descs); err != nil || n != 1 {
		t.Fatalf("ReceiveWait = %d, %v", n, err)
	}
	if d := descs[0]; d.Addr%2048 != uint64(s.rxOffset()) {
		t.Fatalf("frame at chunk offset %d, want %d", d.Addr%2048, s.rxOffset())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if id, _ := p.B.XDPProgID(); id == 0 {
		t.Fatal("closing the socket detached the shared program")
	}
	if err := prog.Close(); err != nil {
		t.Fatal(err)
	}
	if id, _ := p.B.XDPProgID(); id != 0 {
		t.Fatal("program still attached after Program.Close")
	}
}

// TestOpenValidation: bad configurations fail before touching the kernel.
func TestOpenValidation(t *testing.T) {
	testutils.RequireRoot(t)
	umem, err := MapUMEM(16 * 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer UnmapUMEM(umem)
	cases := map[string]Config{
		"chunk":     {IfIndex: 1, UMEM: umem, Port: 1, ChunkSize: 1024},
		"headroom":  {IfIndex: 1, UMEM: umem, Port: 1, Headroom: 4096 - 256},
		"umem":      {IfIndex: 1, UMEM: umem[:5000], Port: 1},
		"aligned":   {IfIndex: 1, UMEM: umem[2048 : 2048+8192], Port: 1, ChunkSize: 2048},
		"ring":      {IfIndex: 1, UMEM: umem, Port: 1, RxSize: 1000},
		"port":      {IfIndex: 1, UMEM: umem},
		"interface": {UMEM: umem, Port: 1},
		"fill":      {IfIndex: 1, UMEM: umem, Port: 1, FillSize: 2, Fill: []uint64{0, 4096, 8192}},
		"mode":      {IfIndex: 1, UMEM: umem, Port: 1, Mode: Mode(9)},
	}
	for name, cfg := range cases {
		if s, err := Open(cfg); err == nil {
			s.Close()
			t.Errorf("%s: Open accepted %+v", name, cfg)
		}
	}
}

// TestReopen: a socket opened on the queue another one just left binds
// (the kernel frees the queue asynchronously), while a queue held by an
// open socket is refused.
func TestReopen(t *testing.T) {
	r := newRig(t, 1500, Config{Port: 47013})
	umem2, err := MapUMEM(64 * 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer UnmapUMEM(umem2)
	// Busy: the rig's socket holds queue 0.
	start := time.Now()
	err = r.p.B.Do(func() error {
		s, err := Open(Config{IfIndex: r.p.B.Index, UMEM: umem2, program: r.s.steering(), Mode: ModeNativeCopy})
		if err == nil {
			s.Close()
		}
		return err
	})
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("second socket on a queue in use: %v, want EBUSY", err)
	}
	if el := time.Since(start); el < bindBusyWait || el > bindBusyWait+2*time.Second {
		t.Fatalf("refusal took %v", el)
	}
	for i := range 5 {
		if err := r.s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.p.B.Do(func() error {
			var err error
			r.s, err = Open(Config{IfIndex: r.p.B.Index, UMEM: r.umem, Port: 47013, FillSize: 512, RxSize: 256, TxSize: 256, CompletionSize: 256})
			return err
		}); err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
	}
}
