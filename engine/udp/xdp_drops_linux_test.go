//go:build linux

package udp

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// TestXDPDropsCountedOnce overloads an AF_XDP receiver (copy mode, as a
// veth allows) whose slave blocks until everything is sent: every datagram
// is then delivered or counted once by XDP.DroppedPackets, although the
// kernel also counts each fill-ring-empty drop in XDPFillEmpty.
func TestXDPDropsCountedOnce(t *testing.T) {
	testutils.Leak(t)
	p := xdpPair(t, 1500, false)
	srv := xdpServerIn(t, &p.B, 0, false)
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	col := newCollector(0, false)
	col.each = func(engine.Frame) { <-release }
	engine.Connect(srv, col)
	src := udpIn(t, &p.A, netip.AddrPortFrom(p.A.Addr4, 0))
	dst := netip.AddrPortFrom(p.B.Addr4, uint16(srv.Port()))
	const n = 4000
	buf := make([]byte, MaxPayloadStandard)
	for i := range n {
		if _, err := src.WriteToUDPAddrPort(buf, dst); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			time.Sleep(100 * time.Microsecond) // let the veth's NAPI keep up
		}
	}
	once.Do(func() { close(release) })
	var st Stats
	testutils.Eventually(t, 10*time.Second, "every datagram delivered or counted", func() bool {
		st = srv.Stats()
		return st.RxFrames+st.XDP.DroppedPackets() >= n && uint64(col.n.Load()) == st.RxFrames
	}, func() string { return fmt.Sprintf("stats %+v", srv.Stats()) })
	time.Sleep(50 * time.Millisecond) // nothing more may arrive
	st = srv.Stats()
	t.Logf("mode %s: sent %d, received %d, rx dropped %d, ring full %d, fill empty %d",
		st.XDP.Mode, n, st.RxFrames, st.XDP.RxDropped, st.XDP.RingFull, st.XDP.FillEmpty)
	if st.XDP.FillEmpty == 0 {
		t.Fatalf("the fill ring never ran empty: %+v", st)
	}
	if got := st.RxFrames + st.XDP.DroppedPackets(); got != n || st.XDP.RxMalformed != 0 {
		t.Fatalf("received %d + dropped %d = %d, want %d sent; %+v", st.RxFrames, st.XDP.DroppedPackets(), got, n, st)
	}
	if n := testing.AllocsPerRun(50, func() { srv.Stats() }); n != 0 {
		t.Errorf("Stats of an AF_XDP server makes %v allocations per call", n)
	}
}
