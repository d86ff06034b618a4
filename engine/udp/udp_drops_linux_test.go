//go:build linux

package udp

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"errors"
	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/mmsg"
)

// overload sends datagrams at a server whose slave blocks on the first
// frame until every datagram is sent, so the small receive buffer
// overflows; then it lets the slave go and waits until the counters stop
// moving. send returns how many datagrams it sent.
func overload(t *testing.T, s *Server, send func() int) (sent int, st Stats) {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	col := newCollector(0, false)
	col.each = func(engine.Frame) { <-release }
	engine.Connect(s, col)
	sent = send()
	once.Do(func() { close(release) })
	var last Stats
	quiet := 0
	testutils.Eventually(t, 10*time.Second, "the counters to settle", func() bool {
		st = s.Stats()
		if st.RxFrames == last.RxFrames && st.KernelDroppedBuffers == last.KernelDroppedBuffers && uint64(col.n.Load()) == st.RxFrames {
			quiet++
		} else {
			quiet = 0
		}
		last = st
		return quiet >= 25 // 50 ms without change
	})
	return sent, st
}

// TestKernelDropUnits overloads a receiver on every socket transport and
// checks the invariant Stats documents: without GRO every datagram sent is
// received or counted as one kernel drop; with GRO (fed by GSO sends of
// equal runs) each dropped socket buffer held one run, which the GRO
// counters describe, and the bound KernelDroppedDatagrams holds.
func TestKernelDropUnits(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range shortTransports() {
		t.Run(tr.String(), func(t *testing.T) {
			s := mustServer(t, false, WithTransport(tr))
			s.SetRxBufferCount(8)
			var sent int
			var st Stats
			if tr == TransportGRO {
				sent, st = overload(t, s, func() int { return sendGSORuns(t, s.Port(), 400, 16, 1000) })
			} else {
				sent, st = overload(t, s, func() int { return sendPlain(t, s.Port(), 3000, 1000) })
			}
			other := st.RxOversize + st.RxRejected + st.RxPoolExhausted + st.RingDrops
			if st.KernelDroppedBuffers == 0 || other != 0 {
				t.Fatalf("want kernel drops and no other: %+v", st)
			}
			least, most := st.KernelDroppedDatagrams()
			lost := uint64(sent) - st.RxFrames
			t.Logf("sent %d, received %d, %d socket buffers dropped (%d..%d datagrams); GRO %d buffers, %d datagrams, max %d",
				sent, st.RxFrames, st.KernelDroppedBuffers, least, most, st.RxGROBuffers, st.RxGRODatagrams, st.RxGROMaxDatagrams)
			if lost < least || lost > most {
				t.Fatalf("%d datagrams lost, outside the documented bound %d..%d", lost, least, most)
			}
			if tr != TransportGRO {
				return
			}
			// Every GSO send was 16 datagrams, so every socket buffer,
			// received or dropped, held 16.
			if st.RxGROMaxDatagrams != 16 || st.RxGRODatagrams != 16*st.RxGROBuffers {
				t.Fatalf("GRO counters %d buffers, %d datagrams, max %d; want runs of 16",
					st.RxGROBuffers, st.RxGRODatagrams, st.RxGROMaxDatagrams)
			}
			if lost != st.KernelDroppedBuffers*st.RxGROMaxDatagrams {
				t.Fatalf("%d datagrams lost, want %d dropped buffers of %d", lost, st.KernelDroppedBuffers, st.RxGROMaxDatagrams)
			}
		})
	}
}

// sendPlain sends n datagrams of size bytes, one per system call.
func sendPlain(t *testing.T, port, n, size int) int {
	raw := rawUDP(t)
	b := make([]byte, size)
	for i := range n {
		if _, err := raw.WriteToUDP(b, loopback(port)); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	return n
}

// sendGSORuns sends runs GSO messages of seg datagrams of size bytes each.
func sendGSORuns(t *testing.T, port, runs, seg, size int) int {
	c, err := mmsg.NewConn(rawUDP(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !c.GSOEnabled() {
		t.Skip("the kernel has no UDP GSO")
	}
	buf := make([]byte, seg*size)
	msg := []mmsg.Message{{Buffers: [][]byte{buf}, Addr: loopback(port).AddrPort(), SegmentSize: size}}
	for i := range runs {
		if n, err := c.WriteBatch(msg); n != 1 || err != nil {
			t.Fatalf("GSO send %d: %d, %v", i, n, err)
		}
	}
	if !c.GSOEnabled() {
		t.Fatal(fmt.Errorf("GSO turned off while sending: %w", errors.New("refused")))
	}
	return runs * seg
}

// TestStatsDoesNotAllocate: monitoring polls Stats, so it must not make
// garbage, whatever the transport.
func TestStatsDoesNotAllocate(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		s := mustServer(t, false, WithTransport(tr))
		s.Stats()
		if n := testing.AllocsPerRun(100, func() { s.Stats() }); n != 0 {
			t.Errorf("%v: Stats makes %v allocations per call", tr, n)
		}
		s.Close()
		if n := testing.AllocsPerRun(100, func() { s.Stats() }); n != 0 {
			t.Errorf("%v: Stats after Close makes %v allocations per call", tr, n)
		}
	}
}

// TestDefaultRxBufferHoldsABurst: with default options the receive buffer
// holds a burst of rxBurstDatagrams datagrams of MaxPayload while the
// slave is not reading, and Stats reports what the kernel granted.
func TestDefaultRxBufferHoldsABurst(t *testing.T) {
	testutils.Leak(t)
	for _, jumbo := range []bool{false, true} {
		t.Run(fmt.Sprintf("jumbo=%v", jumbo), func(t *testing.T) {
			s := mustServer(t, jumbo)
			const burst = 1000
			sent, st := overload(t, s, func() int { return sendPlain(t, s.Port(), burst, s.MaxPayload()) })
			t.Logf("%d of %d received, %d dropped; receive buffer %d bytes", st.RxFrames, sent, st.KernelDroppedBuffers, st.RxBufferBytes)
			if st.RxFrames != uint64(sent) || st.KernelDroppedBuffers != 0 {
				t.Fatalf("lost %d of a %d-datagram burst: %+v", uint64(sent)-st.RxFrames, sent, st)
			}
			if st.RxBufferBytes < uint64(burst*s.MaxPayload()) {
				t.Fatalf("RxBufferBytes %d is below the burst's payload", st.RxBufferBytes)
			}
		})
	}
}

// TestRxBufferShortfallLoggedOnce: without CAP_NET_ADMIN the kernel caps
// the default receive buffer at net.core.rmem_max; the endpoint says so
// once through its logger (not once per socket) and Stats reports the
// smaller grant.
func TestRxBufferShortfallLoggedOnce(t *testing.T) {
	testutils.Leak(t)
	want := DefaultRxBurst * (MaxPayloadJumbo + udpIPOverhead + rxChargeSlack)
	if rmemMax := readSysctl(t, "/proc/sys/net/core/rmem_max"); rmemMax >= want {
		t.Skipf("net.core.rmem_max %d already allows the default buffer of %d bytes", rmemMax, want)
	}
	h := newRecordCounter()
	var s *Server
	withoutNetAdmin(t, func() {
		var err error
		s, err = NewServer(0, true, WithReusePort(2), WithLogger(slog.New(h)))
		if err != nil {
			t.Fatal(err)
		}
	})
	defer s.Close()
	msg := "udp: receive buffer smaller than a burst of DefaultRxBurst datagrams needs (raise net.core.rmem_max or run with CAP_NET_ADMIN)"
	if got := h.snapshot(); got[msg] != 1 || len(got) != 1 {
		t.Fatalf("records %v, want one shortfall warning", got)
	}
	if st := s.Stats(); st.RxBufferBytes == 0 || st.RxBufferBytes >= uint64(2*2*want) {
		t.Fatalf("RxBufferBytes %d with the buffer capped", st.RxBufferBytes)
	}
}

// withoutNetAdmin runs fn on a thread whose effective capabilities lack
// CAP_NET_ADMIN (capabilities are per thread), then restores them.
func withoutNetAdmin(t *testing.T, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		t.Fatal(err)
	}
	if caps[0].Effective&(1<<unix.CAP_NET_ADMIN) == 0 {
		fn()
		return
	}
	saved := caps
	caps[0].Effective &^= 1 << unix.CAP_NET_ADMIN
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Capset(&hdr, &saved[0]); err != nil {
			panic(err) // the locked thread must not go back with fewer capabilities
		}
	}()
	fn()
}

func readSysctl(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
