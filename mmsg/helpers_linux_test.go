//go:build linux

package mmsg

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// testTimeout bounds every blocking step of a socket test.
const testTimeout = 5 * time.Second

// listen opens a UDP socket on a loopback address and closes it at cleanup.
// network is "udp4", "udp6" or "udp" (dual-stack).
func listen(t testing.TB, network, addr string) *net.UDPConn {
	t.Helper()
	uc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		if network == "udp6" {
			t.Skipf("IPv6 loopback ::1 unavailable: %v", err)
		}
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { uc.Close() })
	return uc
}

// wrap builds a Conn over uc with the given batch size.
func wrap(t testing.TB, uc *net.UDPConn, batch int) *Conn {
	t.Helper()
	c, err := NewConn(uc, batch)
	if err != nil {
		t.Fatalf("NewConn: %v", err)
	}
	return c
}

// localAddr returns the bound address of uc.
func localAddr(uc *net.UDPConn) netip.AddrPort {
	return uc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// setDeadline bounds the blocking calls on uc.
func setDeadline(t testing.TB, uc *net.UDPConn) {
	t.Helper()
	if err := uc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
}

// recvBuffers returns n messages with one buffer of size bytes each.
func recvBuffers(n, size int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, size)}
	}
	return msgs
}

// datagram is one received datagram, copied out for comparison.
type datagram struct {
	from netip.AddrPort
	data []byte
}

// collect reads with c until want datagrams arrived (GRO runs count as
// their segments), and returns them with the number of messages that were
// GRO runs and the largest batch one ReadBatch returned.
func collect(t testing.TB, c *Conn, want, bufSize int) (got []datagram, groRuns, maxBatch int) {
	t.Helper()
	setDeadline(t, c.uc)
	msgs := recvBuffers(c.batchSize(), bufSize)
	for len(got) < want {
		n, err := c.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d datagrams: %v", len(got), want, err)
		}
		maxBatch = max(maxBatch, n)
		for _, m := range msgs[:n] {
			if m.Truncated {
				t.Fatalf("datagram from %v truncated at %d bytes", m.Addr, m.N)
			}
			if m.SegmentSize > 0 {
				groRuns++
			}
			for _, seg := range appendSegments(nil, m.Buffers[0][:m.N], m.SegmentSize) {
				got = append(got, datagram{from: m.Addr, data: append([]byte(nil), seg...)})
			}
		}
	}
	return got, groRuns, maxBatch
}
