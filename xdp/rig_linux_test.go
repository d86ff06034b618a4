//go:build linux

package xdp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"udpstream.dev/internal/testutils"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rig is a veth pair with an AF_XDP socket on side B.
type rig struct {
	p     *testutils.Pair
	umem  []byte
	s     *Socket
	free  []uint64 // chunks the test holds (not on the fill ring)
	chunk int
}

// rigOption adjusts how newRig sets things up.
type rigOption func(*rigSetup)

type rigSetup struct {
	dynamicARP bool
	adjust     []func(*testutils.Pair, *Config)
}

// withARP leaves IPv4 neighbours to ARP, for tests about ARP. Otherwise
// they are static: while ARP resolves, the kernel queues only about 200 KB
// of datagrams per neighbour and silently drops older ones, which a burst
// of jumbo datagrams exceeds.
func withARP() rigOption { return func(s *rigSetup) { s.dynamicARP = true } }

// withConfig edits the socket configuration once the pair exists.
func withConfig(f func(*testutils.Pair, *Config)) rigOption {
	return func(s *rigSetup) { s.adjust = append(s.adjust, f) }
}

// newRig builds a pair and opens a socket in B matching port. Half the
// chunks go to the fill ring, the rest are kept for transmit.
func newRig(t *testing.T, mtu int, cfg Config, opts ...rigOption) *rig {
	t.Helper()
	testutils.RequireRoot(t)
	var setup rigSetup
	for _, o := range opts {
		o(&setup)
	}
	// A wire: checksums are computed by the sender's stack and verified
	// by the receiver's.
	p := testutils.NewWire(t, mtu)
	if !setup.dynamicARP {
		if err := p.StaticARP(); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 4096
	}
	const chunks = 512
	umem, err := MapUMEM(chunks * cfg.ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := UnmapUMEM(umem); err != nil {
			t.Error(err)
		}
	})
	r := &rig{p: p, umem: umem, chunk: cfg.ChunkSize}
	var fill []uint64
	for i := range chunks {
		a := uint64(i * cfg.ChunkSize)
		if i < chunks/2 {
			fill = append(fill, a)
		} else {
			r.free = append(r.free, a)
		}
	}
	for _, f := range setup.adjust {
		f(p, &cfg)
	}
	cfg.IfIndex = p.B.Index
	cfg.UMEM = umem
	cfg.Fill = fill
	if cfg.RxSize == 0 {
		cfg.RxSize = 256
		cfg.TxSize = 256
		cfg.FillSize = 512 // twice the chunks handed over: refills never come up short
		cfg.CompletionSize = 256
	}
	if err := p.B.Do(func() error {
		var err error
		r.s, err = Open(cfg)
		return err
	}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := r.s.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// udpIn opens a UDP socket inside a side's namespace.
func udpIn(t *testing.T, s *testutils.Side, laddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := s.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(laddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recvPackets waits for packets until n have arrived or the deadline
// passes, calling fn on each packet's descriptors, then gives the frames
// back to the fill ring unless fn returns true (keep).
func (r *rig) recvPackets(t *testing.T, n int, timeout time.Duration, fn func(pkt []Desc) (keep bool)) int {
	t.Helper()
	if err := r.s.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	descs := make([]Desc, 64)
	refill := make([]uint64, 0, 64)
	got := 0
	for got < n {
		k, err := r.s.ReceiveWait(descs)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			st, _ := r.s.Stats()
			t.Logf("got %d of %d by the deadline; socket %+v\nA: %s\nB: %s", got, n, st, r.p.A.Describe(), r.p.B.Describe())
			break
		}
		if err != nil {
			t.Fatalf("ReceiveWait: %v", err)
		}
		refill = refill[:0]
		for rest := descs[:k]; len(rest) > 0; {
			var pkt []Desc
			pkt, rest = NextPacket(rest)
			keep := fn(pkt)
			got++
			if keep {
				continue
			}
			for _, d := range pkt {
				refill = append(refill, d.Addr)
			}
		}
		if m, err := r.s.Fill(refill); err != nil || m != len(refill) {
			t.Fatalf("Fill placed %d of %d: %v", m, len(refill), err)
		}
	}
	return got
}

var errDeadline = os.ErrDeadlineExceeded
