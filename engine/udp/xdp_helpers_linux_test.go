//go:build linux

package udp

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"udpstream.dev/internal/testutils"
	"udpstream.dev/xdp"
)

// xdpPair makes a veth pair between two fresh namespaces; the AF_XDP side
// is B. With wire, checksum offloads are off on both ends, so A's stack
// computes real UDP checksums and verifies those it receives; otherwise A
// leaves them to offload, as a veth does by default.
func xdpPair(t testing.TB, mtu int, wire bool) *testutils.Pair {
	t.Helper()
	testutils.RequireRoot(t)
	if wire {
		return testutils.NewWire(t, mtu)
	}
	return testutils.New(t, mtu)
}

// in runs fn inside a side's namespace and fails the test on error.
func in(t testing.TB, s *testutils.Side, fn func() error) {
	t.Helper()
	if err := s.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// xdpServerIn starts an AF_XDP server on side s (queue 0, mode auto) and
// closes it at the end of the test.
func xdpServerIn(t testing.TB, s *testutils.Side, port int, jumbo bool, opts ...Option) *Server {
	t.Helper()
	var srv *Server
	opts = append([]Option{WithTransport(TransportXDP), WithXDP(s.Link, 0, xdp.ModeAuto), WithPoolSize(2048)}, opts...)
	in(t, s, func() error {
		var err error
		srv, err = NewServer(port, jumbo, opts...)
		return err
	})
	t.Cleanup(func() { srv.Close() })
	return srv
}

// umemMapped reports whether the region still appears in the process's
// memory map.
func umemMapped(t testing.TB, region []byte) bool {
	t.Helper()
	start := uintptr(unsafe.Pointer(unsafe.SliceData(region)))
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var lo, hi uintptr
		line := sc.Text()
		if _, err := fmt.Sscanf(strings.Fields(line)[0], "%x-%x", &lo, &hi); err != nil {
			continue
		}
		if start >= lo && start < hi {
			return true
		}
	}
	return false
}
