//go:build linux

package mmsg

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"udpstream.dev/internal/testutils"
)

// gsoSender returns a sending Conn, skipping the test when the kernel does
// not know UDP_SEGMENT.
func gsoSender(t *testing.T, network, addr string) *Conn {
	t.Helper()
	s := wrap(t, listen(t, network, addr), 16)
	if !s.GSOEnabled() {
		t.Skipf("kernel lacks UDP GSO (UDP_SEGMENT): %v", s.gsoError())
	}
	return s
}

// gsoMessages builds one GSO message per entry of counts: counts[i] full
// segments of seg bytes plus a tail of tail bytes, each datagram with its own
// payload, numbered from 0. It returns the messages and the datagram lengths
// in send order.
func gsoMessages(dst netip.AddrPort, seg, tail int, counts ...int) ([]Message, []int) {
	var msgs []Message
	var lens []int
	id := uint32(0)
	for _, c := range counts {
		var buf []byte
		for range c {
			buf = append(buf, testutils.Pattern(id, seg)...)
			lens = append(lens, seg)
			id++
		}
		if tail > 0 {
			buf = append(buf, testutils.Pattern(id, tail)...)
			lens = append(lens, tail)
			id++
		}
		msgs = append(msgs, Message{Buffers: [][]byte{buf}, Addr: dst, SegmentSize: seg})
	}
	return msgs, lens
}

// checkDatagrams compares received datagrams with the lengths sent and the
// payload numbering of gsoMessages.
func checkDatagrams(t *testing.T, got []datagram, lens []int, from netip.AddrPort) {
	t.Helper()
	if len(got) != len(lens) {
		t.Fatalf("received %d datagrams, want %d", len(got), len(lens))
	}
	for i, d := range got {
		if len(d.data) != lens[i] || !testutils.MatchesPattern(d.data, uint32(i)) {
			t.Fatalf("datagram %d: %d bytes (want %d) or wrong content", i, len(d.data), lens[i])
		}
		if d.from != from {
			t.Fatalf("datagram %d from %v, want %v", i, d.from, from)
		}
	}
}

// TestGSOToGRO sends GSO buffers with a short tail to a GRO reader and checks
// that runs arrive coalesced and split back into the datagrams sent.
func TestGSOToGRO(t *testing.T) {
	for _, tc := range []struct{ name, net, addr string }{
		{"ipv4", "udp4", "127.0.0.1:0"},
		{"ipv6", "udp6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ruc := listen(t, tc.net, tc.addr)
			r := wrap(t, ruc, 8)
			if err := r.EnableGRO(); err != nil {
				t.Skipf("kernel refused UDP_GRO: %v", err)
			}
			if !r.GROEnabled() {
				t.Fatal("GROEnabled false after EnableGRO")
			}
			s := gsoSender(t, tc.net, tc.addr)
			msgs, lens := gsoMessages(localAddr(ruc), 1000, 300, 10, 20, 40)
			setDeadline(t, s.uc)
			if n, err := s.WriteBatch(msgs); n != len(msgs) || err != nil {
				t.Fatalf("WriteBatch = %d, %v", n, err)
			}
			for i, m := range msgs {
				if m.N != m.Len() {
					t.Fatalf("message %d: N %d, want %d", i, m.N, m.Len())
				}
			}
			got, runs, _ := collect(t, r, len(lens), GROBufferSize)
			checkDatagrams(t, got, lens, localAddr(s.uc))
			if runs == 0 {
				t.Error("no GRO run received: every datagram came alone")
			}
			if !s.GSOEnabled() {
				t.Errorf("GSO turned off: %v", s.gsoError())
			}
		})
	}
}

// TestGSOToPlainReader checks that a reader without GRO gets a GSO send as
// separate datagrams, including the short tail.
func TestGSOToPlainReader(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 64)
	if _, err := r.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := gsoSender(t, "udp4", "127.0.0.1:0")
	msgs, lens := gsoMessages(localAddr(ruc), 1472, 100, 43, 5)
	setDeadline(t, s.uc)
	if n, err := s.WriteBatch(msgs); n != len(msgs) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	got, runs, _ := collect(t, r, len(lens), 2048)
	checkDatagrams(t, got, lens, localAddr(s.uc))
	if runs != 0 {
		t.Errorf("%d GRO runs on a socket without GRO", runs)
	}
}

// TestGSOGathersBuffers sends one GSO message made of uneven buffers whose
// segments straddle buffer boundaries, through the kernel's GSO and through
// the software split.
func TestGSOGathersBuffers(t *testing.T) {
	for _, soft := range []bool{false, true} {
		ruc := listen(t, "udp4", "127.0.0.1:0")
		r := wrap(t, ruc, 16)
		s := gsoSender(t, "udp4", "127.0.0.1:0")
		if soft {
			s.DisableGSO()
		}
		var stream []byte
		lens := []int{1000, 1000, 1000, 1000, 700}
		for i, l := range lens {
			stream = append(stream, testutils.Pattern(uint32(i), l)...)
		}
		bufs := [][]byte{stream[:333], stream[333:1333], {}, stream[1333:1334], stream[1334:3999], stream[3999:]}
		m := Message{Buffers: bufs, Addr: localAddr(ruc), SegmentSize: 1000}
		setDeadline(t, s.uc)
		if err := s.WriteOne(&m); err != nil || m.N != len(stream) {
			t.Fatalf("software split %v: WriteOne N %d, %v", soft, m.N, err)
		}
		got, _, _ := collect(t, r, len(lens), 2048)
		checkDatagrams(t, got, lens, localAddr(s.uc))
	}
}

// TestGSOSoftwareSplit turns GSO off and checks that a batch mixing GSO and
// plain messages, larger than the batch size, arrives datagram by datagram.
func TestGSOSoftwareSplit(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 64)
	if _, err := r.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 16)
	s.DisableGSO()
	if s.GSOEnabled() || !errors.Is(s.gsoError(), errGSOUnsupported) {
		t.Fatalf("after DisableGSO: enabled %v, error %v", s.GSOEnabled(), s.gsoError())
	}
	dst := localAddr(ruc)
	gso, glens := gsoMessages(dst, 500, 20, 40) // 41 datagrams, more than a batch
	var msgs []Message
	var lens []int
	id := uint32(0)
	plain := func(n int) {
		msgs = append(msgs, Message{Buffers: [][]byte{testutils.Pattern(id, n)}, Addr: dst})
		lens = append(lens, n)
		id++
	}
	plain(10)
	plain(11)
	// Renumber the GSO payloads to follow the plain ones.
	gbuf := gso[0].Buffers[0]
	off := 0
	for _, l := range glens {
		testutils.FillPattern(gbuf[off:off+l], id)
		lens = append(lens, l)
		off += l
		id++
	}
	msgs = append(msgs, gso[0])
	// A GSO message holding a single segment needs no split.
	msgs = append(msgs, Message{Buffers: [][]byte{testutils.Pattern(id, 300)}, Addr: dst, SegmentSize: 500})
	lens = append(lens, 300)
	id++
	plain(12)
	setDeadline(t, s.uc)
	if n, err := s.WriteBatch(msgs); n != len(msgs) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if msgs[2].N != msgs[2].Len() {
		t.Errorf("split message N %d, want %d", msgs[2].N, msgs[2].Len())
	}
	got, _, _ := collect(t, r, len(lens), 2048)
	checkDatagrams(t, got, lens, localAddr(s.uc))
}

// TestGSOFallbackOnKernelRefusal asks the kernel to cut a buffer into more
// segments than any kernel allows: it refuses (EINVAL), and the Conn turns
// GSO off and delivers the datagrams one by one.
func TestGSOFallbackOnKernelRefusal(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 64)
	if _, err := r.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := gsoSender(t, "udp4", "127.0.0.1:0")
	msgs, lens := gsoMessages(localAddr(ruc), 100, 0, MaxGSOSegmentsLimit+72)
	setDeadline(t, s.uc)
	if n, err := s.WriteBatch(msgs); n != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if s.GSOEnabled() {
		t.Fatal("GSO still on after the kernel refused a buffer")
	}
	err := s.gsoError()
	if !errors.Is(err, errGSOUnsupported) || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("gsoError = %v, want errGSOUnsupported wrapping EINVAL", err)
	}
	got, _, _ := collect(t, r, len(lens), 2048)
	checkDatagrams(t, got, lens, localAddr(s.uc))
}

// TestGSOFallbackDisabled checks that without the fallback the refusal is
// returned as errGSOUnsupported and nothing is sent.
func TestGSOFallbackDisabled(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	s := gsoSender(t, "udp4", "127.0.0.1:0")
	s.setGSOFallback(false)
	msgs, _ := gsoMessages(localAddr(ruc), 100, 0, MaxGSOSegmentsLimit+1)
	setDeadline(t, s.uc)
	n, err := s.WriteBatch(msgs)
	if n != 0 || !errors.Is(err, errGSOUnsupported) || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("WriteBatch = %d, %v; want 0 and errGSOUnsupported (EINVAL)", n, err)
	}
	if s.GSOEnabled() {
		t.Error("GSO still on")
	}
}

// TestGROSteadyStateNoAlloc proves the GSO send and GRO receive paths
// allocate nothing once warm.
func TestGROSteadyStateNoAlloc(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 8)
	if err := r.EnableGRO(); err != nil {
		t.Skipf("kernel refused UDP_GRO: %v", err)
	}
	if _, err := r.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := gsoSender(t, "udp4", "127.0.0.1:0")
	out, _ := gsoMessages(localAddr(ruc), 1472, 0, 44)
	in := recvBuffers(8, GROBufferSize)
	setDeadline(t, ruc)
	setDeadline(t, s.uc)
	var segs [][]byte
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		if _, e := s.WriteBatch(out); e != nil {
			err = e
		}
		n, e := r.ReadBatch(in)
		if e != nil {
			err = e
		}
		for _, m := range in[:n] {
			segs = appendSegments(segs[:0], m.Buffers[0][:m.N], m.SegmentSize)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per GSO write + GRO read", allocs)
	}
}

// TestTryWriteBatch: with room, TryWriteBatch sends like WriteBatch; a
// message that must be cut in software is not started (EAGAIN, nothing of
// it sent), and WriteBatch then sends it whole.
func TestTryWriteBatch(t *testing.T) {
	ruc := listen(t, "udp4", "127.0.0.1:0")
	r := wrap(t, ruc, 64)
	suc := listen(t, "udp4", "127.0.0.1:0")
	s := wrap(t, suc, 16)
	dst := localAddr(ruc)
	setDeadline(t, ruc)
	plain := []Message{
		{Buffers: [][]byte{testutils.Pattern(0, 100)}, Addr: dst},
		{Buffers: [][]byte{testutils.Pattern(1, 200)}, Addr: dst},
	}
	if n, err := s.TryWriteBatch(plain); n != 2 || err != nil || plain[1].N != 200 {
		t.Fatalf("TryWriteBatch = %d, %v", n, err)
	}
	s.DisableGSO()
	gso, lens := gsoMessages(dst, 500, 20, 3)
	msgs := append([]Message{{Buffers: [][]byte{testutils.Pattern(2, 300)}, Addr: dst}}, gso...)
	n, err := s.TryWriteBatch(msgs)
	if n != 1 || !errors.Is(err, syscall.EAGAIN) || msgs[1].N != 0 {
		t.Fatalf("TryWriteBatch of a message to split = %d, %v (N %d); want 1, EAGAIN, 0", n, err, msgs[1].N)
	}
	setDeadline(t, suc)
	if n, err := s.WriteBatch(msgs[1:]); n != 1 || err != nil || msgs[1].N != msgs[1].Len() {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	want := append([]int{100, 200, 300}, lens...)
	in := []Message{{Buffers: [][]byte{make([]byte, 2000)}}}
	for i, l := range want {
		if n, err := r.ReadBatch(in); n != 1 || err != nil || in[0].N != l {
			t.Fatalf("datagram %d: %d bytes, %v; want %d", i, in[0].N, err, l)
		}
	}
}
